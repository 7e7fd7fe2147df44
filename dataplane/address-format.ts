// Textual forms of the addresses the kernel speaks, and their byte encodings.

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isMacAddress(value: unknown): value is string {
  return typeof value === "string" && MAC.test(value);
}

export function isIPv4Address(value: unknown): value is string {
  return typeof value === "string" && IPV4.test(value);
}

export function normalizeMac(mac: string): string {
  return mac.toLowerCase();
}

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
