// MAC addresses: the one parser, and the MAC an endpoint's IP implies.
import { parseIPv4 } from "./ipv4.js";
import { WeftError } from "./weft-error.js";

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** True for a MAC in canonical form: six lower-case hex pairs joined by colons. */
export function isMac(text: unknown): text is string {
  return typeof text === "string" && MAC.test(text);
}

/** Parses a MAC written with colons in either case; returns its canonical (lower-case) form. */
export function parseMac(text: unknown, field = "mac"): string {
  const lower = typeof text === "string" ? text.toLowerCase() : "";
  if (!MAC.test(lower)) throw new WeftError("invalid-argument", `${field}: ${JSON.stringify(text)} is not a MAC address (aa:bb:cc:dd:ee:ff)`, { field });
  return lower;
}

/** True when the group bit is set: such an address cannot belong to one endpoint. */
export function isMulticastMac(mac: string): boolean {
  return (parseInt(mac.slice(0, 2), 16) & 1) === 1;
}

/**
 * The MAC of the endpoint holding `ip`, as Docker derives it: locally administered 02:42 followed by
 * the four address bytes. Every host computes the same MAC for an endpoint without asking, and a
 * receiver can check that an announced MAC is the one its IP implies.
 */
export function macForAddress(ip: string, field = "ip"): string {
  const value = parseIPv4(ip, field);
  const bytes = [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255];
  return ["02", "42", ...bytes.map((b) => b.toString(16).padStart(2, "0"))].join(":");
}
