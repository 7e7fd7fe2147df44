// IPv4 addresses and CIDR blocks: the one parser for both (every layer uses it), and the 32-bit
// arithmetic IPAM and the data plane do on them.
import ipaddr from "ipaddr.js";
import { WeftError } from "./weft-error.js";

export interface IPv4Cidr {
  /** Network address as an unsigned 32-bit integer. */
  readonly base: number;
  readonly prefix: number;
}

/** True for a dotted-quad IPv4 address (exactly four decimal parts, each 0-255). */
export function isIPv4(text: unknown): text is string {
  return typeof text === "string" && ipaddr.IPv4.isValidFourPartDecimal(text);
}

/** Parses a dotted-quad IPv4 address (exactly four decimal parts) into an unsigned integer. */
export function parseIPv4(text: string, field = "ip"): number {
  if (!isIPv4(text)) {
    throw new WeftError("invalid-argument", `${field}: ${JSON.stringify(text)} is not an IPv4 address`, { field });
  }
  const bytes = ipaddr.IPv4.parse(text).toByteArray();
  return ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
}

export function formatIPv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".");
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * Parses "a.b.c.d/n". With `canonical` (the default) host bits must be zero; the error then names the
 * canonical form so the user can copy it.
 */
export function parseIPv4Cidr(text: string, field = "cidr", options: { canonical?: boolean } = {}): IPv4Cidr {
  const invalid = (): WeftError =>
    new WeftError("invalid-argument", `${field}: ${JSON.stringify(text)} is not an IPv4 CIDR`, { field });
  if (typeof text !== "string") throw invalid();
  const match = /^([0-9.]+)\/([0-9]{1,2})$/.exec(text);
  if (!match || !ipaddr.IPv4.isValidFourPartDecimal(match[1]!)) throw invalid();
  const prefix = Number(match[2]);
  if (prefix > 32 || String(prefix) !== match[2]) throw invalid();
  const address = parseIPv4(match[1]!, field);
  const base = (address & maskOf(prefix)) >>> 0;
  if ((options.canonical ?? true) && base !== address) {
    const canonical = `${formatIPv4(base)}/${prefix}`;
    throw new WeftError(
      "invalid-argument",
      `${field}: ${JSON.stringify(text)} has host bits set; did you mean ${JSON.stringify(canonical)}?`,
      { field },
    );
  }
  return { base, prefix };
}

export function formatIPv4Cidr(cidr: IPv4Cidr): string {
  return `${formatIPv4(cidr.base)}/${cidr.prefix}`;
}

/** Number of addresses in the block. */
export function cidrSize(cidr: IPv4Cidr): number {
  return 2 ** (32 - cidr.prefix);
}

export function cidrsOverlap(a: IPv4Cidr, b: IPv4Cidr): boolean {
  const prefix = Math.min(a.prefix, b.prefix);
  const mask = maskOf(prefix);
  return (a.base & mask) >>> 0 === (b.base & mask) >>> 0;
}

/** True when `inner` lies entirely inside `outer`. */
export function cidrContainsCidr(outer: IPv4Cidr, inner: IPv4Cidr): boolean {
  return inner.prefix >= outer.prefix && (inner.base & maskOf(outer.prefix)) >>> 0 === outer.base;
}

/** The prefix length of a CIDR string ("10.0.0.0/16" -> 16). */
export function prefixLength(cidr: string): number {
  return parseIPv4Cidr(cidr, "cidr", { canonical: false }).prefix;
}

/** True when `ip` (an address, optionally with a "/n" suffix that is ignored) lies inside the slice. */
export function sliceContains(sliceCidr: string, ip: string): boolean {
  const slice = parseIPv4Cidr(sliceCidr, "slice", { canonical: false });
  const address = parseIPv4(ip.includes("/") ? ip.slice(0, ip.indexOf("/")) : ip, "ip");
  return (address & maskOf(slice.prefix)) >>> 0 === (slice.base & maskOf(slice.prefix)) >>> 0;
}
