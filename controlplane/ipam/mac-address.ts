// Endpoint MAC addresses derived from the IP, as Docker does: locally administered 02:42 + the IPv4
// bytes. Deterministic, so every host computes the same MAC for an endpoint without asking.
import { parseIPv4 } from "./ipv4-cidr.js";

export function macForAddress(ip: string): string {
  const value = parseIPv4(ip, "ip");
  const bytes = [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255];
  return ["02", "42", ...bytes.map((b) => b.toString(16).padStart(2, "0"))].join(":");
}
