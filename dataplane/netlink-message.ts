// rtnetlink neighbour/FDB messages: a pure encoder and decoder over byte buffers (host byte order,
// little-endian on the machines weft runs on). Layouts from linux/netlink.h and linux/neighbour.h.
import { bytesToIPv4, bytesToMac } from "./address-format.js";

export const NLMSG_HDRLEN = 16;
export const NDMSG_LEN = 12;

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
export const RTM_GETNEIGH = 30;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP = 0x300;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
/** In an NLMSG_ERROR: the echoed request was cut to its header. */
export const NLM_F_CAPPED = 0x100;
/** In an NLMSG_ERROR: extended-ACK attributes follow. */
export const NLM_F_ACK_TLVS = 0x200;
export const NLMSGERR_ATTR_MSG = 1;

export const AF_INET = 2;
export const AF_BRIDGE = 7;
export const NDA_DST = 1;
export const NDA_LLADDR = 2;
export const NUD_PERMANENT = 0x80;
export const NUD_NOARP = 0x40;
export const NTF_SELF = 0x02;
export const NTF_MASTER = 0x04;

/** One neighbour-table message: an ndmsg plus optional NDA_DST (IPv4) and NDA_LLADDR (MAC). */
export interface NeighbourMessage {
  type: number;
  flags: number;
  seq: number;
  family: number;
  ifindex: number;
  state: number;
  ndmFlags: number;
  /** IPv4 dotted quad. */
  dst?: string;
  /** MAC, colon-separated hex. */
  lladdr?: string;
}

const align4 = (n: number): number => (n + 3) & ~3;

export function neighbourMessageSize(message: Pick<NeighbourMessage, "dst" | "lladdr">): number {
  return NLMSG_HDRLEN + NDMSG_LEN + (message.dst === undefined ? 0 : 8) + (message.lladdr === undefined ? 0 : align4(4 + 6));
}

/** Writes `message` at `offset` (the buffer must be zero-filled there) and returns the offset after it. */
export function writeNeighbourMessage(buffer: Buffer, offset: number, message: NeighbourMessage): number {
  return writeNeighbour(
    buffer, offset, message.type, message.flags, message.seq, message.family,
    message.ifindex, message.state, message.ndmFlags, message.dst, message.lladdr,
  );
}

/** The same as writeNeighbourMessage without an object per message: the hot path of large batches. */
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
  buffer.writeUInt32LE(length, offset);
  buffer.writeUInt16LE(type, offset + 4);
  buffer.writeUInt16LE(flags, offset + 6);
  buffer.writeUInt32LE(seq >>> 0, offset + 8);
  buffer.writeUInt32LE(0, offset + 12);
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
    buffer.writeUInt16LE(8, at);
    buffer.writeUInt16LE(NDA_DST, at + 2);
    writeIPv4(buffer, at + 4, dst);
    at += 8;
  }
  if (lladdr !== undefined) {
    buffer.writeUInt16LE(10, at);
    buffer.writeUInt16LE(NDA_LLADDR, at + 2);
    writeMac(buffer, at + 4, lladdr);
    buffer[at + 10] = 0;
    buffer[at + 11] = 0;
    at += 12;
  }
  return at;
}

/** Encodes messages back to back into one buffer, ready for a single send. */
export function encodeNeighbourMessages(messages: readonly NeighbourMessage[]): Buffer {
  let size = 0;
  for (const message of messages) size += neighbourMessageSize(message);
  const buffer = Buffer.alloc(size);
  let offset = 0;
  for (const message of messages) offset = writeNeighbourMessage(buffer, offset, message);
  return buffer;
}

/** A dump request for the neighbour table of one family (AF_INET neighbours, AF_BRIDGE for FDB). */
export function encodeNeighbourDumpRequest(family: number, seq: number): Buffer {
  return encodeNeighbourMessages([
    { type: RTM_GETNEIGH, flags: NLM_F_REQUEST | NLM_F_DUMP, seq, family, ifindex: 0, state: 0, ndmFlags: 0 },
  ]);
}

export interface NetlinkHeader {
  length: number;
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** Offset of the payload in the buffer the header was read from. */
  payloadOffset: number;
  payloadLength: number;
}

/** Splits a received datagram into netlink messages. Stops at a truncated or malformed header. */
export function parseNetlinkHeaders(buffer: Buffer, length = buffer.length): NetlinkHeader[] {
  const headers: NetlinkHeader[] = [];
  let offset = 0;
  while (offset + NLMSG_HDRLEN <= length) {
    const messageLength = buffer.readUInt32LE(offset);
    if (messageLength < NLMSG_HDRLEN || offset + messageLength > length) break;
    headers.push({
      length: messageLength,
      type: buffer.readUInt16LE(offset + 4),
      flags: buffer.readUInt16LE(offset + 6),
      seq: buffer.readUInt32LE(offset + 8),
      pid: buffer.readUInt32LE(offset + 12),
      payloadOffset: offset + NLMSG_HDRLEN,
      payloadLength: messageLength - NLMSG_HDRLEN,
    });
    offset += align4(messageLength);
  }
  return headers;
}

export interface NetlinkAck {
  /** 0 for success, otherwise a positive errno. */
  errno: number;
  /** The kernel's extended-ACK text, when it sent one. */
  message: string | undefined;
}

/** Decodes the payload of an NLMSG_ERROR (which is also the ACK, with error 0). */
export function parseNetlinkError(buffer: Buffer, header: NetlinkHeader): NetlinkAck {
  const at = header.payloadOffset;
  const raw = buffer.readInt32LE(at);
  const errno = raw === 0 ? 0 : -raw;
  let message: string | undefined;
  if ((header.flags & NLM_F_ACK_TLVS) !== 0 && header.payloadLength >= 4 + NLMSG_HDRLEN) {
    const echoedLength = (header.flags & NLM_F_CAPPED) !== 0 ? NLMSG_HDRLEN : buffer.readUInt32LE(at + 4);
    let offset = at + 4 + align4(echoedLength);
    const end = at + header.payloadLength;
    while (offset + 4 <= end) {
      const attrLength = buffer.readUInt16LE(offset);
      const attrType = buffer.readUInt16LE(offset + 2);
      if (attrLength < 4 || offset + attrLength > end) break;
      if (attrType === NLMSGERR_ATTR_MSG) {
        message = buffer.toString("utf8", offset + 4, offset + attrLength).replace(/\0+$/, "");
      }
      offset += align4(attrLength);
    }
  }
  return { errno, message };
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
  const end = at + header.payloadLength;
  const decoded: DecodedNeighbour = {
    family: buffer.readUInt8(at),
    ifindex: buffer.readInt32LE(at + 4),
    state: buffer.readUInt16LE(at + 8),
    ndmFlags: buffer.readUInt8(at + 10),
    dst: undefined,
    lladdr: undefined,
  };
  let offset = at + NDMSG_LEN;
  while (offset + 4 <= end) {
    const attrLength = buffer.readUInt16LE(offset);
    const attrType = buffer.readUInt16LE(offset + 2);
    if (attrLength < 4 || offset + attrLength > end) break;
    const dataLength = attrLength - 4;
    if (attrType === NDA_DST && dataLength === 4) decoded.dst = bytesToIPv4(buffer, offset + 4);
    else if (attrType === NDA_LLADDR && dataLength === 6) decoded.lladdr = bytesToMac(buffer, offset + 4);
    offset += align4(attrLength);
  }
  return decoded;
}

function writeIPv4(buffer: Buffer, offset: number, ip: string): void {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= ip.length; i++) {
    const code = i < ip.length ? ip.charCodeAt(i) : 46;
    if (code === 46) {
      if (part > 3 || value > 255 || digits === 0) throw new TypeError(`ip: ${ip} is not an IPv4 address`);
      buffer[offset + part++] = value;
      value = 0;
      digits = 0;
    } else if (code >= 48 && code <= 57) {
      value = value * 10 + code - 48;
      digits++;
    } else {
      throw new TypeError(`ip: ${ip} is not an IPv4 address`);
    }
  }
  if (part !== 4) throw new TypeError(`ip: ${ip} is not an IPv4 address`);
}

function writeMac(buffer: Buffer, offset: number, mac: string): void {
  if (mac.length !== 17) throw new TypeError(`mac: ${mac} is not a MAC address`);
  for (let i = 0; i < 6; i++) {
    const high = hexValue(mac.charCodeAt(i * 3));
    const low = hexValue(mac.charCodeAt(i * 3 + 1));
    if (high < 0 || low < 0 || (i < 5 && mac.charCodeAt(i * 3 + 2) !== 58)) throw new TypeError(`mac: ${mac} is not a MAC address`);
    buffer[offset + i] = (high << 4) | low;
  }
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}
