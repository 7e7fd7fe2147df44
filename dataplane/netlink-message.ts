// rtnetlink framing: the one encoder (header, fixed family header, attribute tree) and the decoders
// for headers, ACKs/errors and attributes, over byte buffers in host byte order (little-endian on the
// machines weft runs on). Layouts from linux/netlink.h. The message kinds live in link-message.ts
// and neighbour-message.ts.

export const NLMSG_HDRLEN = 16;

export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP = 0x300;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
/** In an NLMSG_ERROR: the echoed request was cut to its header. */
export const NLM_F_CAPPED = 0x100;
/** In an NLMSG_ERROR: extended-ACK attributes follow. */
export const NLM_F_ACK_TLVS = 0x200;
export const NLMSGERR_ATTR_MSG = 1;

export const AF_INET = 2;
export const AF_BRIDGE = 7;

/** The kernel sets this bit on nested attribute types; it is not part of the type. */
const NLA_TYPE_MASK = 0x3fff;

export const align4 = (n: number): number => (n + 3) & ~3;

/** Writes a netlink header at `offset`. */
export function writeNetlinkHeader(buffer: Buffer, offset: number, length: number, type: number, flags: number, seq: number): void {
  buffer.writeUInt32LE(length, offset);
  buffer.writeUInt16LE(type, offset + 4);
  buffer.writeUInt16LE(flags, offset + 6);
  buffer.writeUInt32LE(seq >>> 0, offset + 8);
  buffer.writeUInt32LE(0, offset + 12);
}

/** Writes an attribute's header (length without padding, type) at `offset`; its data follows at offset + 4. */
export function writeAttributeHeader(buffer: Buffer, offset: number, dataLength: number, type: number): void {
  buffer.writeUInt16LE(4 + dataLength, offset);
  buffer.writeUInt16LE(type, offset + 2);
}

/** A netlink attribute tree; the encoder lays it out, nested attributes get their length from children. */
export type Attribute =
  | { type: number; u32: number }
  | { type: number; string: string }
  | { type: number; bytes: Buffer }
  | { type: number; nested: readonly Attribute[] };

function attributeDataLength(attribute: Attribute): number {
  if ("u32" in attribute) return 4;
  if ("string" in attribute) return Buffer.byteLength(attribute.string) + 1;
  if ("bytes" in attribute) return attribute.bytes.length;
  return attributesLength(attribute.nested);
}

function attributesLength(attributes: readonly Attribute[]): number {
  let length = 0;
  for (const attribute of attributes) length += align4(4 + attributeDataLength(attribute));
  return length;
}

function writeAttributes(buffer: Buffer, offset: number, attributes: readonly Attribute[]): number {
  for (const attribute of attributes) {
    const dataLength = attributeDataLength(attribute);
    writeAttributeHeader(buffer, offset, dataLength, attribute.type);
    const data = offset + 4;
    if ("u32" in attribute) buffer.writeUInt32LE(attribute.u32 >>> 0, data);
    else if ("string" in attribute) buffer.write(attribute.string, data, "utf8"); // NUL from the zero fill
    else if ("bytes" in attribute) attribute.bytes.copy(buffer, data);
    else writeAttributes(buffer, data, attribute.nested);
    offset += align4(4 + dataLength);
  }
  return offset;
}

/** Attributes laid out on their own, e.g. inside another message's fixed part. */
export function encodeAttributes(attributes: readonly Attribute[]): Buffer {
  const buffer = Buffer.alloc(attributesLength(attributes));
  writeAttributes(buffer, 0, attributes);
  return buffer;
}

/** One netlink message: header, a fixed family header (ifinfomsg, ifaddrmsg, ndmsg, ...) and attributes. */
export function encodeMessage(type: number, flags: number, seq: number, fixed: Buffer, attributes: readonly Attribute[] = []): Buffer {
  const length = NLMSG_HDRLEN + fixed.length + attributesLength(attributes);
  const buffer = Buffer.alloc(length);
  writeNetlinkHeader(buffer, 0, length, type, flags, seq);
  fixed.copy(buffer, NLMSG_HDRLEN);
  writeAttributes(buffer, NLMSG_HDRLEN + fixed.length, attributes);
  return buffer;
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
    forEachAttribute(buffer, at + 4 + align4(echoedLength), at + header.payloadLength, (type, offset, length) => {
      if (type === NLMSGERR_ATTR_MSG) message = buffer.toString("utf8", offset, offset + length).replace(/\0+$/, "");
    });
  }
  return { errno, message };
}

/** Calls `visit(type, dataOffset, dataLength)` for each attribute in [start, end); stops at a malformed one. */
export function forEachAttribute(buffer: Buffer, start: number, end: number, visit: (type: number, offset: number, length: number) => void): void {
  let offset = start;
  while (offset + 4 <= end) {
    const length = buffer.readUInt16LE(offset);
    if (length < 4 || offset + length > end) return;
    visit(buffer.readUInt16LE(offset + 2) & NLA_TYPE_MASK, offset + 4, length - 4);
    offset += align4(length);
  }
}
