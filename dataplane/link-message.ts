// rtnetlink link messages, encoded and decoded with the framing of netlink-message.ts.
// Layouts from linux/rtnetlink.h, linux/if_link.h and linux/veth.h.
import { bytesToIPv4, bytesToMac, macBytes } from "./address-format.js";
import type { ObservedLink } from "./kernel.js";
import {
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  encodeAttributes,
  encodeMessage,
  forEachAttribute,
  type NetlinkHeader,
} from "./netlink-message.js";

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;

export const IFINFOMSG_LEN = 16;
export const IFF_UP = 0x1;

export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_MASTER = 10;
export const IFLA_LINKINFO = 18;
export const IFLA_NET_NS_FD = 28;
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const IFLA_INFO_SLAVE_KIND = 4;
export const IFLA_INFO_SLAVE_DATA = 5;
export const IFLA_BRPORT_ISOLATED = 33;
export const VETH_INFO_PEER = 1;
export const IFLA_VXLAN_ID = 1;
export const IFLA_VXLAN_LOCAL = 4;
export const IFLA_VXLAN_LEARNING = 7;
export const IFLA_VXLAN_PROXY = 11;
export const IFLA_VXLAN_PORT = 15;

export interface IfInfo {
  family?: number;
  ifindex?: number;
  flags?: number;
  change?: number;
}

function ifinfoBytes(info: IfInfo): Buffer {
  const bytes = Buffer.alloc(IFINFOMSG_LEN);
  bytes[0] = info.family ?? 0;
  bytes.writeInt32LE(info.ifindex ?? 0, 4);
  bytes.writeUInt32LE((info.flags ?? 0) >>> 0, 8);
  bytes.writeUInt32LE((info.change ?? 0) >>> 0, 12);
  return bytes;
}

/** A dump of every link in the socket's namespace. */
export function encodeLinkDumpRequest(seq: number): Buffer {
  return encodeMessage(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq, ifinfoBytes({}), []);
}

export interface VethRequest {
  hostIfName: string;
  mtu: number;
  /** ifindex of the bridge the host end joins. */
  masterIfindex: number;
  peerIfName: string;
  peerMac: string;
  /** An open file descriptor of the peer's network namespace. */
  peerNetnsFd: number;
  /** Whether the host end comes up at once (default); an egress leg comes up once it is isolated. */
  up?: boolean;
}

/**
 * Like `ip link add HOST mtu M master BR up type veth peer name PEER address MAC mtu M netns FD`, in one
 * message: the kernel makes all of it or none of it. The peer stays down (asking for it up here fails
 * with ENOTCONN on 6.x kernels); bring it up from inside its namespace.
 */
export function encodeCreateVeth(request: VethRequest, seq: number): Buffer {
  const peer = Buffer.concat([
    ifinfoBytes({}),
    encodeAttributes([
      { type: IFLA_IFNAME, string: request.peerIfName },
      { type: IFLA_ADDRESS, bytes: macBytes(request.peerMac) },
      { type: IFLA_MTU, u32: request.mtu },
      { type: IFLA_NET_NS_FD, u32: request.peerNetnsFd },
    ]),
  ]);
  const up = request.up ?? true;
  return encodeMessage(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, ifinfoBytes(up ? { flags: IFF_UP, change: IFF_UP } : {}), [
    { type: IFLA_IFNAME, string: request.hostIfName },
    { type: IFLA_MTU, u32: request.mtu },
    { type: IFLA_MASTER, u32: request.masterIfindex },
    {
      type: IFLA_LINKINFO,
      nested: [
        { type: IFLA_INFO_KIND, string: "veth" },
        { type: IFLA_INFO_DATA, nested: [{ type: VETH_INFO_PEER, bytes: peer }] },
      ],
    },
  ]);
}

/** Like `ip link del NAME`. */
export function encodeDeleteLink(name: string, seq: number): Buffer {
  return encodeMessage(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifinfoBytes({}), [{ type: IFLA_IFNAME, string: name }]);
}

/** Like `ip link set NAME up`. */
export function encodeSetLinkUp(name: string, seq: number): Buffer {
  return encodeMessage(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifinfoBytes({ flags: IFF_UP, change: IFF_UP }), [
    { type: IFLA_IFNAME, string: name },
  ]);
}

/** Like `ip link set NAME mtu MTU`. */
export function encodeSetLinkMtu(name: string, mtu: number, seq: number): Buffer {
  return encodeMessage(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifinfoBytes({}), [
    { type: IFLA_IFNAME, string: name },
    { type: IFLA_MTU, u32: mtu },
  ]);
}

/**
 * Like `ip link set NAME type bridge_slave isolated on|off [up]`: the kernel applies the port's flags
 * before the link's, so a port brought up here is isolated from its first frame.
 */
export function encodeSetBridgePort(name: string, port: { isolated: boolean; up?: boolean }, seq: number): Buffer {
  const flags = port.up === true ? { flags: IFF_UP, change: IFF_UP } : {};
  return encodeMessage(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifinfoBytes(flags), [
    { type: IFLA_IFNAME, string: name },
    {
      type: IFLA_LINKINFO,
      nested: [
        { type: IFLA_INFO_SLAVE_KIND, string: "bridge" },
        { type: IFLA_INFO_SLAVE_DATA, nested: [{ type: IFLA_BRPORT_ISOLATED, bytes: Buffer.of(port.isolated ? 1 : 0) }] },
      ],
    },
  ]);
}

export interface DecodedVxlan {
  id: number;
  local: string | undefined;
  /** Host byte order (the kernel sends it in network byte order). */
  port: number | undefined;
  learning: boolean | undefined;
  proxy: boolean | undefined;
}

export interface DecodedLink {
  ifindex: number;
  flags: number;
  name: string | undefined;
  mac: string | undefined;
  mtu: number | undefined;
  masterIfindex: number | undefined;
  kind: string | undefined;
  vxlan: DecodedVxlan | undefined;
  /** For a bridge port: IFLA_BRPORT_ISOLATED. */
  isolated: boolean | undefined;
}

/** Decodes an RTM_NEWLINK payload (as a dump sends it). */
export function parseLink(buffer: Buffer, header: NetlinkHeader): DecodedLink {
  const at = header.payloadOffset;
  const link: DecodedLink = {
    ifindex: buffer.readInt32LE(at + 4),
    flags: buffer.readUInt32LE(at + 8),
    name: undefined,
    mac: undefined,
    mtu: undefined,
    masterIfindex: undefined,
    kind: undefined,
    vxlan: undefined,
    isolated: undefined,
  };
  let infoData: { offset: number; end: number } | undefined;
  let slaveKind: string | undefined;
  let slaveData: { offset: number; end: number } | undefined;
  forEachAttribute(buffer, at + IFINFOMSG_LEN, at + header.payloadLength, (type, offset, length) => {
    if (type === IFLA_IFNAME) link.name = readString(buffer, offset, length);
    else if (type === IFLA_ADDRESS && length > 0) link.mac = readHardwareAddress(buffer, offset, length);
    else if (type === IFLA_MTU && length >= 4) link.mtu = buffer.readUInt32LE(offset);
    else if (type === IFLA_MASTER && length >= 4) link.masterIfindex = buffer.readUInt32LE(offset);
    else if (type === IFLA_LINKINFO) {
      forEachAttribute(buffer, offset, offset + length, (infoType, infoOffset, infoLength) => {
        if (infoType === IFLA_INFO_KIND) link.kind = readString(buffer, infoOffset, infoLength);
        else if (infoType === IFLA_INFO_DATA) infoData = { offset: infoOffset, end: infoOffset + infoLength };
        else if (infoType === IFLA_INFO_SLAVE_KIND) slaveKind = readString(buffer, infoOffset, infoLength);
        else if (infoType === IFLA_INFO_SLAVE_DATA) slaveData = { offset: infoOffset, end: infoOffset + infoLength };
      });
    }
  });
  if (link.kind === "vxlan" && infoData !== undefined) link.vxlan = parseVxlanData(buffer, infoData.offset, infoData.end);
  if (slaveKind === "bridge" && slaveData !== undefined) {
    forEachAttribute(buffer, slaveData.offset, slaveData.end, (type, offset, length) => {
      if (type === IFLA_BRPORT_ISOLATED && length >= 1) link.isolated = buffer[offset] !== 0;
    });
  }
  return link;
}

function parseVxlanData(buffer: Buffer, start: number, end: number): DecodedVxlan {
  const vxlan: DecodedVxlan = { id: 0, local: undefined, port: undefined, learning: undefined, proxy: undefined };
  forEachAttribute(buffer, start, end, (type, offset, length) => {
    if (type === IFLA_VXLAN_ID && length >= 4) vxlan.id = buffer.readUInt32LE(offset);
    else if (type === IFLA_VXLAN_LOCAL && length === 4) vxlan.local = bytesToIPv4(buffer, offset);
    else if (type === IFLA_VXLAN_PORT && length >= 2) vxlan.port = buffer.readUInt16BE(offset);
    else if (type === IFLA_VXLAN_LEARNING && length >= 1) vxlan.learning = buffer[offset] !== 0;
    else if (type === IFLA_VXLAN_PROXY && length >= 1) vxlan.proxy = buffer[offset] !== 0;
  });
  return vxlan;
}

/** The same shape `ip -d -j link show` gave: master by name, vxlan defaults where the kernel sent nothing. */
export function observedLinks(decoded: readonly DecodedLink[]): ObservedLink[] {
  const names = new Map<number, string>();
  for (const link of decoded) if (link.name !== undefined) names.set(link.ifindex, link.name);
  return decoded.map((link) => {
    const observed: ObservedLink = {
      name: link.name ?? "",
      ifindex: link.ifindex,
      kind: link.kind ?? "",
      mac: link.mac ?? "",
      mtu: link.mtu ?? 0,
      up: (link.flags & IFF_UP) !== 0,
    };
    const master = link.masterIfindex === undefined ? undefined : names.get(link.masterIfindex);
    if (master !== undefined) observed.master = master;
    if (link.isolated !== undefined) observed.isolated = link.isolated;
    if (observed.kind === "vxlan" && link.vxlan !== undefined) {
      observed.vxlan = {
        id: link.vxlan.id,
        local: link.vxlan.local,
        dstport: link.vxlan.port ?? 0,
        learning: link.vxlan.learning ?? true,
        proxy: link.vxlan.proxy ?? false,
      };
    }
    return observed;
  });
}

function readString(buffer: Buffer, offset: number, length: number): string {
  const nul = buffer.indexOf(0, offset);
  return buffer.toString("utf8", offset, nul >= 0 && nul < offset + length ? nul : offset + length);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** A link-layer address of any length (6 bytes for Ethernet, 0 or 4 for other kinds of link). */
function readHardwareAddress(buffer: Buffer, offset: number, length: number): string {
  if (length === 6) return bytesToMac(buffer, offset);
  const parts: string[] = [];
  for (let i = 0; i < length; i++) parts.push(HEX[buffer[offset + i]!]!);
  return parts.join(":");
}
