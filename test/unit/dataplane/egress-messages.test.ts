// The rtnetlink messages the egress part and the gateway address need, checked against bytes laid out
// independently of the encoder (attribute: u16 length with header, u16 type, data, padding to 4).
import { describe, expect, it } from "vitest";
import { encodeAddressDumpRequest, encodeDeleteAddress, parseAddress } from "../../../dataplane/address-message.js";
import { encodeCreateVeth, encodeSetBridgePort, encodeSetLinkMtu, observedLinks, parseLink } from "../../../dataplane/link-message.js";
import { parseNetlinkHeaders } from "../../../dataplane/netlink-message.js";
import { encodeDefaultRoute } from "../../../dataplane/route-message.js";

function nla(type: number, data: Buffer): Buffer {
  const out = Buffer.alloc((4 + data.length + 3) & ~3);
  out.writeUInt16LE(4 + data.length, 0);
  out.writeUInt16LE(type, 2);
  data.copy(out, 4);
  return out;
}
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n, 0);
  return b;
};
const str = (s: string) => Buffer.from(`${s}\0`);
function ifinfomsg(ifindex: number, flags: number, change: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeInt32LE(ifindex, 4);
  b.writeUInt32LE(flags, 8);
  b.writeUInt32LE(change, 12);
  return b;
}
function message(type: number, flags: number, seq: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(16);
  header.writeUInt32LE(16 + body.length, 0);
  header.writeUInt16LE(type, 4);
  header.writeUInt16LE(flags, 6);
  header.writeUInt32LE(seq, 8);
  return Buffer.concat([header, body]);
}
const ifaddrmsg = (prefixLen: number, ifindex: number) => Buffer.concat([Buffer.from([2, prefixLen, 0, 0]), u32(ifindex)]);

const REQUEST_ACK = 0x1 | 0x4;

describe("egress rtnetlink messages", () => {
  it("isolates a bridge port and brings it up in one RTM_NEWLINK (bridge_slave isolated on)", () => {
    const expected = message(
      16,
      REQUEST_ACK,
      7,
      ifinfomsg(0, 1, 1),
      nla(3, str("weftg0123456789")),
      nla(18, Buffer.concat([nla(4, str("bridge")), nla(5, nla(33, Buffer.of(1)))])),
    );
    expect(encodeSetBridgePort("weftg0123456789", { isolated: true, up: true }, 7).toString("hex")).toBe(expected.toString("hex"));
    const off = encodeSetBridgePort("weftg0123456789", { isolated: false }, 8);
    expect(off.subarray(16, 32).toString("hex")).toBe(ifinfomsg(0, 0, 0).toString("hex"));
    expect(off.at(-4)).toBe(0);
  });

  it("creates a veth whose host end stays down until it is isolated", () => {
    const bytes = encodeCreateVeth({ hostIfName: "weftg0123456789", mtu: 1450, masterIfindex: 4, peerIfName: "eth1", peerMac: "02:42:ac:12:00:02", peerNetnsFd: 21, up: false }, 1);
    expect(bytes.subarray(16, 32).toString("hex")).toBe(ifinfomsg(0, 0, 0).toString("hex"));
  });

  it("sets a link's MTU by name", () => {
    expect(encodeSetLinkMtu("eth0", 1400, 3).toString("hex")).toBe(message(16, REQUEST_ACK, 3, ifinfomsg(0, 0, 0), nla(3, str("eth0")), nla(4, u32(1400))).toString("hex"));
  });

  it("replaces the default route via a gateway on one interface (ip route replace default via GW dev IF)", () => {
    const rtmsg = Buffer.from([2, 0, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0]);
    const expected = message(24, REQUEST_ACK | 0x400 | 0x100, 3, rtmsg, nla(5, Buffer.from([172, 18, 0, 1])), nla(4, u32(9)));
    expect(encodeDefaultRoute("172.18.0.1", 9, 3).toString("hex")).toBe(expected.toString("hex"));
    expect(() => encodeDefaultRoute("172.18.0", 9, 3)).toThrow(/^ip: 172\.18\.0 is not an IPv4 address$/);
  });

  it("deletes an address and dumps the IPv4 addresses", () => {
    expect(encodeDeleteAddress(5, "10.42.0.1", 16, 2).toString("hex")).toBe(message(21, REQUEST_ACK, 2, ifaddrmsg(16, 5), nla(2, Buffer.from([10, 42, 0, 1]))).toString("hex"));
    expect(encodeAddressDumpRequest(4).toString("hex")).toBe(message(22, 0x1 | 0x300, 4, ifaddrmsg(0, 0)).toString("hex"));
  });

  it("reads an address: IFA_LOCAL before IFA_ADDRESS, IPv6 ignored", () => {
    const decode = (bytes: Buffer) => parseAddress(bytes, parseNetlinkHeaders(bytes)[0]!);
    const both = message(20, 0x2, 1, ifaddrmsg(16, 7), nla(1, Buffer.from([10, 40, 0, 9])), nla(2, Buffer.from([10, 40, 0, 1])), nla(3, str("weft-br42")));
    expect(decode(both)).toEqual({ ifindex: 7, prefixLen: 16, ip: "10.40.0.1" });
    const onlyAddress = message(20, 0x2, 1, ifaddrmsg(24, 3), nla(1, Buffer.from([192, 168, 0, 5])));
    expect(decode(onlyAddress)).toEqual({ ifindex: 3, prefixLen: 24, ip: "192.168.0.5" });
    const v6 = Buffer.from(message(20, 0x2, 1, ifaddrmsg(64, 3), nla(1, Buffer.alloc(16))));
    v6[16] = 10; // AF_INET6
    expect(decode(v6).ip).toBeUndefined();
  });

  it("reads a bridge port's isolation from the link dump", () => {
    const port = (isolated: number) =>
      message(
        16,
        0x2,
        1,
        ifinfomsg(9, 1, 0),
        nla(3, str("weftg0123456789")),
        nla(10, u32(4)),
        nla(18, Buffer.concat([nla(1, str("veth")), nla(4, str("bridge")), nla(5, Buffer.concat([nla(1, Buffer.of(3)), nla(33, Buffer.of(isolated))]))])),
      );
    const bridge = message(16, 0x2, 1, ifinfomsg(4, 1, 0), nla(3, str("weft_gwbridge")), nla(18, nla(1, str("bridge"))));
    const decode = (bytes: Buffer) => parseLink(bytes, parseNetlinkHeaders(bytes)[0]!);
    expect(decode(port(1))).toMatchObject({ kind: "veth", masterIfindex: 4, isolated: true });
    expect(decode(port(0)).isolated).toBe(false);
    expect(decode(bridge).isolated).toBeUndefined();
    expect(observedLinks([decode(bridge), decode(port(1))])[1]).toMatchObject({ name: "weftg0123456789", master: "weft_gwbridge", isolated: true });
  });
});
