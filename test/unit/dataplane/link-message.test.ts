import { describe, expect, it } from "vitest";
import { encodeAddAddress } from "../../../dataplane/address-message.js";
import {
  encodeCreateVeth,
  encodeDeleteLink,
  encodeLinkDumpRequest,
  encodeSetLinkUp,
  observedLinks,
  parseLink,
  type DecodedLink,
} from "../../../dataplane/link-message.js";
import { parseNetlinkHeaders } from "../../../dataplane/netlink-message.js";

// Independent of the encoder: an attribute is u16 length (header included), u16 type, data, padding to 4.
function nla(type: number, data: Buffer): Buffer {
  const length = 4 + data.length;
  const out = Buffer.alloc((length + 3) & ~3);
  out.writeUInt16LE(length, 0);
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
const hex = (h: string) => Buffer.from(h.replace(/[\s:]/g, ""), "hex");
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

const RTM_NEWLINK = 16;
const REQUEST_ACK = 0x1 | 0x4;
const CREATE_EXCL = 0x400 | 0x200;

describe("rtnetlink link messages", () => {
  it("creates a veth in one RTM_NEWLINK: host end mtu, master, up; peer name, MAC, mtu and namespace fd", () => {
    const peer = Buffer.concat([ifinfomsg(0, 0, 0), nla(3, str("eth0")), nla(1, hex("02:42:0a:2a:00:02")), nla(4, u32(1450)), nla(28, u32(23))]);
    const expected = message(
      RTM_NEWLINK,
      REQUEST_ACK | CREATE_EXCL,
      9,
      ifinfomsg(0, 1, 1),
      nla(3, str("weftd4d4d4d4d4d")),
      nla(4, u32(1450)),
      nla(10, u32(7)),
      nla(18, Buffer.concat([nla(1, str("veth")), nla(2, nla(1, peer))])),
    );
    const encoded = encodeCreateVeth(
      { hostIfName: "weftd4d4d4d4d4d", mtu: 1450, masterIfindex: 7, peerIfName: "eth0", peerMac: "02:42:0a:2a:00:02", peerNetnsFd: 23 },
      9,
    );
    expect(encoded.toString("hex")).toBe(expected.toString("hex"));
  });

  it("encodes delete, set up, address add and the link dump request", () => {
    expect(encodeDeleteLink("weft0123", 3).toString("hex")).toBe(message(17, REQUEST_ACK, 3, ifinfomsg(0, 0, 0), nla(3, str("weft0123"))).toString("hex"));
    expect(encodeSetLinkUp("lo", 4).toString("hex")).toBe(message(16, REQUEST_ACK, 4, ifinfomsg(0, 1, 1), nla(3, str("lo"))).toString("hex"));
    const ifaddrmsg = Buffer.from([2, 24, 0, 0, 5, 0, 0, 0]);
    expect(encodeAddAddress(5, "10.42.0.2", 24, 5).toString("hex")).toBe(
      message(20, REQUEST_ACK | CREATE_EXCL, 5, ifaddrmsg, nla(2, Buffer.from([10, 42, 0, 2])), nla(1, Buffer.from([10, 42, 0, 2]))).toString("hex"),
    );
    expect(encodeLinkDumpRequest(6).toString("hex")).toBe(message(18, 0x1 | 0x300, 6, ifinfomsg(0, 0, 0)).toString("hex"));
  });

  it("refuses bad input naming the field", () => {
    const veth = { hostIfName: "weft0", mtu: 1450, masterIfindex: 1, peerIfName: "eth0", peerMac: "02:42:0a:2a:00", peerNetnsFd: 3 };
    expect(() => encodeCreateVeth(veth, 1)).toThrow(/^mac: 02:42:0a:2a:00 is not a MAC address$/);
    expect(() => encodeAddAddress(1, "10.0.0.256", 24, 1)).toThrow(/^ip: 10\.0\.0\.256 is not an IPv4 address$/);
    expect(() => encodeAddAddress(1, "10.0.0.1", 33, 1)).toThrow(/^prefixLen: 33 is not between 0 and 32$/);
  });
});

describe("parseLink", () => {
  const NESTED = 0x8000;
  // What a dump sends for a VXLAN device (nested attributes carry NLA_F_NESTED; the port is big-endian).
  const vxlan = message(
    RTM_NEWLINK,
    0x2,
    1,
    ifinfomsg(12, 0x1 | 0x2 | 0x1000, 0),
    nla(3, str("weft-vx301")),
    nla(4, u32(1400)),
    nla(10, u32(11)),
    nla(1, hex("02:aa:bb:cc:dd:ee")),
    nla(2, hex("ff:ff:ff:ff:ff:ff")), // IFLA_BROADCAST: ignored
    nla(
      18 | NESTED,
      Buffer.concat([
        nla(1, str("vxlan")),
        nla(
          2 | NESTED,
          Buffer.concat([
            nla(1, u32(301)),
            nla(4, Buffer.from([192, 168, 60, 1])),
            nla(7, Buffer.from([0])),
            nla(11, Buffer.from([1])),
            nla(15, Buffer.from([0x12, 0xb5])),
          ]),
        ),
      ]),
    ),
  );
  const bridge = message(RTM_NEWLINK, 0x2, 1, ifinfomsg(11, 0, 0), nla(3, str("weft-br301")), nla(4, u32(1400)), nla(1, hex("02:00:00:00:00:01")), nla(18, nla(1, str("bridge"))));
  const loopback = message(RTM_NEWLINK, 0x2, 1, ifinfomsg(1, 0x1 | 0x8, 0), nla(3, str("lo")), nla(4, u32(65536)), nla(1, hex("00:00:00:00:00:00")));

  const decode = (bytes: Buffer): DecodedLink => parseLink(bytes, parseNetlinkHeaders(bytes)[0]!);

  it("reads name, index, flags, MAC, MTU, master, kind and VXLAN data", () => {
    expect(decode(vxlan)).toEqual({
      ifindex: 12,
      flags: 0x1003,
      name: "weft-vx301",
      mac: "02:aa:bb:cc:dd:ee",
      mtu: 1400,
      masterIfindex: 11,
      kind: "vxlan",
      vxlan: { id: 301, local: "192.168.60.1", port: 4789, learning: false, proxy: true },
    });
    expect(decode(loopback)).toMatchObject({ ifindex: 1, name: "lo", kind: undefined, masterIfindex: undefined, vxlan: undefined });
  });

  it("stops at a truncated attribute instead of reading past the message", () => {
    const cut = Buffer.from(vxlan);
    cut.writeUInt16LE(200, 16 + 16 + 16); // IFLA_MTU (after the 16-byte IFLA_IFNAME) claims more bytes than the message holds
    const decoded = decode(cut);
    expect(decoded.name).toBe("weft-vx301");
    expect(decoded.mtu).toBeUndefined();
  });

  it("gives the ObservedLink that ip -d -j link show gave: master by name, up from IFF_UP, VXLAN defaults", () => {
    const links = observedLinks([decode(loopback), decode(bridge), decode(vxlan)]);
    expect(links).toEqual([
      { name: "lo", ifindex: 1, kind: "", mac: "00:00:00:00:00:00", mtu: 65536, up: true },
      { name: "weft-br301", ifindex: 11, kind: "bridge", mac: "02:00:00:00:00:01", mtu: 1400, up: false },
      {
        name: "weft-vx301",
        ifindex: 12,
        kind: "vxlan",
        mac: "02:aa:bb:cc:dd:ee",
        mtu: 1400,
        up: true,
        master: "weft-br301",
        vxlan: { id: 301, local: "192.168.60.1", dstport: 4789, learning: false, proxy: true },
      },
    ]);
    const bare: DecodedLink = { ifindex: 5, flags: 0, name: "weft-vx9", mac: undefined, mtu: 1500, masterIfindex: 99, kind: "vxlan", vxlan: { id: 9, local: undefined, port: undefined, learning: undefined, proxy: undefined }, isolated: undefined };
    expect(observedLinks([bare])[0]).toEqual({ name: "weft-vx9", ifindex: 5, kind: "vxlan", mac: "", mtu: 1500, up: false, vxlan: { id: 9, local: undefined, dstport: 0, learning: true, proxy: false } });
  });
});
