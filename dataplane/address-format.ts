// The byte encodings of the addresses the kernel speaks, both ways, on the hot path of netlink
// messages (validating the textual forms is proto/values' job: isIPv4, isMac).
import { invalidArgument, isIPv4, maskOf, parseIPv4 } from "../proto/values/index.js";

// Addresses are rendered into a scratch buffer and read back as one flat string: a template literal
// of many parts makes a tree of string pieces per address (about 200 bytes for a MAC until flattened),
// and a dump of 100,000 entries keeps them all alive for the length of a reconcile.
const scratch = Buffer.alloc(17);
const HEX_DIGITS = "0123456789abcdef";

/** The MAC address in the 6 bytes at `offset`, lower-case with colons. */
export function bytesToMac(bytes: Uint8Array, offset = 0): string {
  for (let i = 0; i < 6; i++) {
    const byte = bytes[offset + i]!;
    scratch[i * 3] = HEX_DIGITS.charCodeAt(byte >> 4);
    scratch[i * 3 + 1] = HEX_DIGITS.charCodeAt(byte & 15);
    if (i < 5) scratch[i * 3 + 2] = 58; // ':'
  }
  return scratch.toString("latin1", 0, 17);
}

/** The IPv4 address in the 4 bytes at `offset`, dotted decimal. */
export function bytesToIPv4(bytes: Uint8Array, offset = 0): string {
  let length = 0;
  for (let i = 0; i < 4; i++) {
    if (i > 0) scratch[length++] = 46; // '.'
    const octet = bytes[offset + i]!;
    if (octet >= 100) scratch[length++] = 48 + Math.floor(octet / 100);
    if (octet >= 10) scratch[length++] = 48 + (Math.floor(octet / 10) % 10);
    scratch[length++] = 48 + (octet % 10);
  }
  return scratch.toString("latin1", 0, length);
}

/** Writes the 4 bytes of a dotted-quad IPv4 address at `offset`. */
export function writeIPv4(buffer: Uint8Array, offset: number, ip: string): void {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= ip.length; i++) {
    const code = i < ip.length ? ip.charCodeAt(i) : 46;
    if (code === 46) {
      if (part > 3 || value > 255 || digits === 0 || digits > 3) throw invalidArgument("ip", `${ip} is not an IPv4 address`);
      buffer[offset + part++] = value;
      value = 0;
      digits = 0;
    } else if (code >= 48 && code <= 57) {
      value = value * 10 + code - 48;
      digits++;
    } else {
      throw invalidArgument("ip", `${ip} is not an IPv4 address`);
    }
  }
  if (part !== 4) throw invalidArgument("ip", `${ip} is not an IPv4 address`);
}

/** Writes the 6 bytes of a colon-separated MAC (either case) at `offset`. */
export function writeMac(buffer: Uint8Array, offset: number, mac: string): void {
  if (mac.length !== 17) throw invalidArgument("mac", `${mac} is not a MAC address`);
  for (let i = 0; i < 6; i++) {
    const high = hexValue(mac.charCodeAt(i * 3));
    const low = hexValue(mac.charCodeAt(i * 3 + 1));
    if (high < 0 || low < 0 || (i < 5 && mac.charCodeAt(i * 3 + 2) !== 58)) throw invalidArgument("mac", `${mac} is not a MAC address`);
    buffer[offset + i] = (high << 4) | low;
  }
}

export function ipv4Bytes(ip: string): Buffer {
  const bytes = Buffer.alloc(4);
  writeIPv4(bytes, 0, ip);
  return bytes;
}

export function macBytes(mac: string): Buffer {
  const bytes = Buffer.alloc(6);
  writeMac(bytes, 0, mac);
  return bytes;
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

/** An address with its prefix length, "10.40.3.1/16", split; undefined unless it is one (see isHostAddress). */
export function splitHostAddress(text: unknown): { ip: string; prefixLen: number } | undefined {
  if (typeof text !== "string") return undefined;
  const slash = text.indexOf("/");
  const ip = text.slice(0, slash);
  const digits = text.slice(slash + 1);
  if (slash < 0 || !isIPv4(ip) || !/^[1-9]\d?$/.test(digits) || Number(digits) > 32) return undefined;
  const prefixLen = Number(digits);
  if (prefixLen <= 30) {
    // Not the network's own address nor its broadcast address.
    const host = (parseIPv4(ip) & ~maskOf(prefixLen)) >>> 0;
    if (host === 0 || host === ~maskOf(prefixLen) >>> 0) return undefined;
  }
  return { ip, prefixLen };
}

/** An IPv4 address an interface can carry, with its network's prefix length (1..32). */
export function isHostAddress(text: unknown): text is string {
  return splitHostAddress(text) !== undefined;
}

/** Whether two addresses lie in the same network of `prefixLen` bits. */
export function sameNetwork(a: string, b: string, prefixLen: number): boolean {
  const mask = maskOf(prefixLen);
  return (parseIPv4(a) & mask) >>> 0 === (parseIPv4(b) & mask) >>> 0;
}
