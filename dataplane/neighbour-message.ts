// rtnetlink neighbour-table messages: IPv4 neighbours (AF_INET) and VXLAN FDB entries (AF_BRIDGE).
// Layouts from linux/neighbour.h. Writing entries is the hot path of large batches, so a message is
// written straight into the batch buffer, with the framing of netlink-message.ts.
import { bytesToIPv4, bytesToMac, writeIPv4, writeMac } from "./address-format.js";
import {
  NLMSG_HDRLEN,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  align4,
  encodeMessage,
  forEachAttribute,
  writeAttributeHeader,
  writeNetlinkHeader,
  type NetlinkHeader,
} from "./netlink-message.js";

export const NDMSG_LEN = 12;
export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
export const RTM_GETNEIGH = 30;
export const NDA_DST = 1;
export const NDA_LLADDR = 2;
export const NUD_PERMANENT = 0x80;
export const NTF_SELF = 0x02;

/** The largest message writeNeighbour writes: header, ndmsg, an IPv4 NDA_DST and a MAC NDA_LLADDR. */
export const NEIGHBOUR_MESSAGE_MAX = NLMSG_HDRLEN + NDMSG_LEN + 8 + align4(4 + 6);

/**
 * Writes one neighbour-table message (an ndmsg plus optional NDA_DST, IPv4, and NDA_LLADDR, a MAC) at
 * `offset` and returns the offset after it; the buffer needs NEIGHBOUR_MESSAGE_MAX bytes there.
 * Positional rather than an object: it is called once per entry of batches of thousands, and passing
 * a message object measured slower.
 */
export function writeNeighbour(
  buffer: Buffer,
  offset: number,
  type: number,
  flags: number,
  seq: number,
  family: number,
  ifindex: number,
  state: number,
  ndmFlags: number,
  dst: string | undefined,
  lladdr: string | undefined,
): number {
  const length = NLMSG_HDRLEN + NDMSG_LEN + (dst === undefined ? 0 : 8) + (lladdr === undefined ? 0 : 12);
  writeNetlinkHeader(buffer, offset, length, type, flags, seq);
  let at = offset + NLMSG_HDRLEN;
  buffer[at] = family;
  buffer[at + 1] = 0;
  buffer.writeUInt16LE(0, at + 2);
  buffer.writeInt32LE(ifindex, at + 4);
  buffer.writeUInt16LE(state, at + 8);
  buffer[at + 10] = ndmFlags;
  buffer[at + 11] = 0;
  at += NDMSG_LEN;
  if (dst !== undefined) {
    writeAttributeHeader(buffer, at, 4, NDA_DST);
    writeIPv4(buffer, at + 4, dst);
    at += 8;
  }
  if (lladdr !== undefined) {
    writeAttributeHeader(buffer, at, 6, NDA_LLADDR);
    writeMac(buffer, at + 4, lladdr);
    buffer[at + 10] = 0;
    buffer[at + 11] = 0;
    at += 12;
  }
  return at;
}

/** A dump request for the neighbour table of one family (AF_INET neighbours, AF_BRIDGE for FDB). */
export function encodeNeighbourDumpRequest(family: number, seq: number): Buffer {
  const ndmsg = Buffer.alloc(NDMSG_LEN);
  writeNdmsg(ndmsg, 0, family, 0, 0, 0);
  return encodeMessage(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP, seq, ndmsg);
}

function writeNdmsg(buffer: Buffer, at: number, family: number, ifindex: number, state: number, ndmFlags: number): void {
  buffer[at] = family;
  buffer[at + 1] = 0;
  buffer.writeUInt16LE(0, at + 2);
  buffer.writeInt32LE(ifindex, at + 4);
  buffer.writeUInt16LE(state, at + 8);
  buffer[at + 10] = ndmFlags;
  buffer[at + 11] = 0;
}

export interface DecodedNeighbour {
  family: number;
  ifindex: number;
  state: number;
  ndmFlags: number;
  dst: string | undefined;
  lladdr: string | undefined;
}

/** Decodes an RTM_NEWNEIGH payload; dst is read only when it is 4 bytes long (IPv4). */
export function parseNeighbour(buffer: Buffer, header: NetlinkHeader): DecodedNeighbour {
  const at = header.payloadOffset;
  const decoded: DecodedNeighbour = {
    family: buffer.readUInt8(at),
    ifindex: buffer.readInt32LE(at + 4),
    state: buffer.readUInt16LE(at + 8),
    ndmFlags: buffer.readUInt8(at + 10),
    dst: undefined,
    lladdr: undefined,
  };
  forEachAttribute(buffer, at + NDMSG_LEN, at + header.payloadLength, (type, offset, length) => {
    if (type === NDA_DST && length === 4) decoded.dst = bytesToIPv4(buffer, offset);
    else if (type === NDA_LLADDR && length === 6) decoded.lladdr = bytesToMac(buffer, offset);
  });
  return decoded;
}
