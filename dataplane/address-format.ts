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

export function macToBytes(mac: string): Uint8Array {
  if (!isMacAddress(mac)) throw new TypeError(`mac: ${mac} is not a MAC address`);
  return Uint8Array.from(mac.split(":"), (part) => parseInt(part, 16));
}

export function bytesToMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(":");
}

export function ipv4ToBytes(ip: string): Uint8Array {
  if (!isIPv4Address(ip)) throw new TypeError(`ip: ${ip} is not an IPv4 address`);
  return Uint8Array.from(ip.split("."), Number);
}

export function bytesToIPv4(bytes: Uint8Array): string {
  return Array.from(bytes).join(".");
}
