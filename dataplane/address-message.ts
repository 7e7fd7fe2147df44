// rtnetlink address messages (IPv4 only), encoded and decoded with the framing of netlink-message.ts.
// Layouts from linux/if_addr.h.
import { invalidArgument } from "../proto/values/index.js";
import { bytesToIPv4, ipv4Bytes } from "./address-format.js";
import { AF_INET, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, encodeMessage, forEachAttribute, type NetlinkHeader } from "./netlink-message.js";

export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const IFADDRMSG_LEN = 8;
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;

function ifaddrBytes(ifindex: number, prefixLen: number): Buffer {
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 32) throw invalidArgument("prefixLen", `${prefixLen} is not between 0 and 32`);
  const fixed = Buffer.alloc(IFADDRMSG_LEN);
  fixed[0] = AF_INET;
  fixed[1] = prefixLen;
  fixed.writeUInt32LE(ifindex >>> 0, 4);
  return fixed;
}

/** Like `ip addr add IP/PREFIX dev IFINDEX`. */
export function encodeAddAddress(ifindex: number, ip: string, prefixLen: number, seq: number): Buffer {
  const fixed = ifaddrBytes(ifindex, prefixLen);
  const address = ipv4Bytes(ip);
  return encodeMessage(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, fixed, [
    { type: IFA_LOCAL, bytes: address },
    { type: IFA_ADDRESS, bytes: address },
  ]);
}

/** Like `ip addr del IP/PREFIX dev IFINDEX`. */
export function encodeDeleteAddress(ifindex: number, ip: string, prefixLen: number, seq: number): Buffer {
  return encodeMessage(RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, seq, ifaddrBytes(ifindex, prefixLen), [{ type: IFA_LOCAL, bytes: ipv4Bytes(ip) }]);
}

/** A dump of every IPv4 address in the socket's namespace. */
export function encodeAddressDumpRequest(seq: number): Buffer {
  return encodeMessage(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq, ifaddrBytes(0, 0));
}

export interface DecodedAddress {
  ifindex: number;
  prefixLen: number;
  /** IFA_LOCAL (the interface's own address), else IFA_ADDRESS; undefined when neither is IPv4. */
  ip: string | undefined;
}

/** Decodes an RTM_NEWADDR payload (as a dump sends it). */
export function parseAddress(buffer: Buffer, header: NetlinkHeader): DecodedAddress {
  const at = header.payloadOffset;
  const decoded: DecodedAddress = { ifindex: buffer.readUInt32LE(at + 4), prefixLen: buffer[at + 1]!, ip: undefined };
  if (buffer[at] !== AF_INET) return decoded;
  let address: string | undefined;
  forEachAttribute(buffer, at + IFADDRMSG_LEN, at + header.payloadLength, (type, offset, length) => {
    if (type === IFA_LOCAL && length === 4) decoded.ip = bytesToIPv4(buffer, offset);
    else if (type === IFA_ADDRESS && length === 4) address = bytesToIPv4(buffer, offset);
  });
  decoded.ip ??= address;
  return decoded;
}
