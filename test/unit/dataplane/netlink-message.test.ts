import { describe, expect, it } from "vitest";
import {
  AF_BRIDGE,
  AF_INET,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLM_F_ACK,
  NLM_F_ACK_TLVS,
  NLM_F_APPEND,
  NLM_F_CAPPED,
  NLM_F_CREATE,
  NLM_F_REQUEST,
  parseNetlinkError,
  parseNetlinkHeaders,
} from "../../../dataplane/netlink-message.js";
import {
  NTF_SELF,
  NUD_PERMANENT,
  RTM_GETNEIGH,
  RTM_NEWNEIGH,
  NEIGHBOUR_MESSAGE_MAX,
  encodeNeighbourDumpRequest,
  parseNeighbour,
  writeNeighbour,
} from "../../../dataplane/neighbour-message.js";

interface NeighbourMessage {
  type: number;
  flags: number;
  seq: number;
  family: number;
  ifindex: number;
  state: number;
  ndmFlags: number;
  dst?: string;
  lladdr?: string;
}

/** Messages back to back in one buffer, as the kernel shell writes a batch. */
function encodeNeighbourMessages(messages: readonly NeighbourMessage[]): Buffer {
  const buffer = Buffer.alloc(messages.length * NEIGHBOUR_MESSAGE_MAX);
  let offset = 0;
  for (const m of messages) offset = writeNeighbour(buffer, offset, m.type, m.flags, m.seq, m.family, m.ifindex, m.state, m.ndmFlags, m.dst, m.lladdr);
  return buffer.subarray(0, offset);
}

const hex = (buffer: Buffer) => buffer.toString("hex");

describe("netlink neighbour messages", () => {
  it("encodes an FDB add exactly like bridge fdb append ... self permanent dst", () => {
    const buffer = encodeNeighbourMessages([
      {
        type: RTM_NEWNEIGH,
        flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND,
        seq: 7,
        family: AF_BRIDGE,
        ifindex: 5,
        state: NUD_PERMANENT,
        ndmFlags: NTF_SELF,
        dst: "192.168.0.2",
        lladdr: "02:42:0a:28:01:02",
      },
    ]);
    expect(hex(buffer)).toBe(
      [
        "30000000", "1c00", "050c", "07000000", "00000000", // nlmsghdr: len 48, RTM_NEWNEIGH, flags 0x0c05, seq 7, pid 0
        "07", "00", "0000", "05000000", "8000", "02", "00", // ndmsg: AF_BRIDGE, ifindex 5, NUD_PERMANENT, NTF_SELF
        "0800", "0100", "c0a80002", // NDA_DST
        "0a00", "0200", "02420a280102", "0000", // NDA_LLADDR, padded to 4
      ].join(""),
    );
  });

  it("encodes several messages back to back and a delete without lladdr", () => {
    const buffer = encodeNeighbourMessages([
      { type: 29, flags: NLM_F_REQUEST, seq: 1, family: AF_INET, ifindex: 3, state: 0, ndmFlags: 0, dst: "10.0.0.1" },
      { type: 29, flags: NLM_F_REQUEST | NLM_F_ACK, seq: 2, family: AF_INET, ifindex: 3, state: 0, ndmFlags: 0, dst: "10.0.0.2" },
    ]);
    expect(buffer.length).toBe(72);
    const headers = parseNetlinkHeaders(buffer);
    expect(headers.map((h) => [h.length, h.type, h.flags, h.seq])).toEqual([
      [36, 29, 1, 1],
      [36, 29, 5, 2],
    ]);
    expect(parseNeighbour(buffer, headers[1]!)).toEqual({ family: AF_INET, ifindex: 3, state: 0, ndmFlags: 0, dst: "10.0.0.2", lladdr: undefined });
  });

  it("encodes a dump request as a bare ndmsg", () => {
    expect(hex(encodeNeighbourDumpRequest(AF_BRIDGE, 9))).toBe("1c000000" + "1e00" + "0103" + "09000000" + "00000000" + "070000000000000000000000");
    expect(RTM_GETNEIGH).toBe(0x1e);
  });

  it("rejects malformed addresses", () => {
    const base = { type: RTM_NEWNEIGH, flags: 1, seq: 1, family: AF_INET, ifindex: 1, state: 0, ndmFlags: 0 };
    expect(() => encodeNeighbourMessages([{ ...base, dst: "10.0.0" }])).toThrow("ip: 10.0.0 is not an IPv4 address");
    expect(() => encodeNeighbourMessages([{ ...base, dst: "10.0.0.256" }])).toThrow(/not an IPv4/);
    expect(() => encodeNeighbourMessages([{ ...base, lladdr: "02-42-0a-28-01-02" }])).toThrow(/not a MAC/);
  });

  it("decodes a neighbour as the kernel sends it, skipping unknown attributes", () => {
    const reply = Buffer.from(
      [
        "3c000000", "1c00", "0200", "09000000", "11223344", // len 60, NEWNEIGH, NLM_F_MULTI
        "02", "00", "0000", "07000000", "8000", "00", "01", // AF_INET, ifindex 7, PERMANENT
        "0800", "0100", "0a280102", // NDA_DST 10.40.1.2
        "0a00", "0200", "02420a280102", "0000", // NDA_LLADDR
        "0800", "0400", "01000000", // NDA_PROBES (ignored)
        "0800", "0900", "03000000", // NDA_MASTER (ignored)
      ].join(""),
      "hex",
    );
    const [header] = parseNetlinkHeaders(reply);
    expect(header).toMatchObject({ length: 60, type: RTM_NEWNEIGH, seq: 9, pid: 0x44332211 });
    expect(parseNeighbour(reply, header!)).toEqual({ family: AF_INET, ifindex: 7, state: NUD_PERMANENT, ndmFlags: 0, dst: "10.40.1.2", lladdr: "02:42:0a:28:01:02" });
  });

  it("decodes an ACK, an error with extended-ACK text, and DONE", () => {
    const ack = Buffer.from("24000000" + "0200" + "0000" + "05000000" + "00000000" + "00000000" + "30000000" + "1c00" + "0500" + "05000000" + "00000000", "hex");
    const error = Buffer.from(
      "3c000000" + "0200" + hex(Buffer.from([(NLM_F_CAPPED | NLM_F_ACK_TLVS) & 0xff, (NLM_F_CAPPED | NLM_F_ACK_TLVS) >> 8])) + "06000000" + "00000000" +
        "eaffffff" + // -22
        "30000000" + "1c00" + "0500" + "06000000" + "00000000" + // capped echo
        "1000" + "0100" + Buffer.from("Invalid vni\0").toString("hex"), // NLMSGERR_ATTR_MSG
      "hex",
    );
    error.writeUInt32LE(error.length, 0);
    const done = Buffer.from("14000000" + "0300" + "0200" + "0a000000" + "00000000" + "00000000", "hex");
    const all = Buffer.concat([ack, error, done]);
    const headers = parseNetlinkHeaders(all);
    expect(headers.map((h) => h.type)).toEqual([NLMSG_ERROR, NLMSG_ERROR, NLMSG_DONE]);
    expect(parseNetlinkError(all, headers[0]!)).toEqual({ errno: 0, message: undefined });
    expect(parseNetlinkError(all, headers[1]!)).toEqual({ errno: 22, message: "Invalid vni" });
  });

  it("stops at a truncated message instead of reading past the end", () => {
    const buffer = encodeNeighbourDumpRequest(AF_INET, 1);
    expect(parseNetlinkHeaders(buffer, buffer.length - 1)).toEqual([]);
  });
});
