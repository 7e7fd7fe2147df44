import ipaddr from "ipaddr.js";
import type { EndpointRecord } from "./endpoint-record.js";

/** What the etcd registry knows, as the gossip needs it; provided by the agent. */
export interface EntryPolicy {
  isKnownNetwork(network: string): boolean;
  /** CIDRs of the owner's subnet slices in that network. */
  ownerSlices(owner: string, network: string): readonly string[];
}

export type PolicyRejection = "unknown-network" | "ip-outside-slice";

/** Why the registry forbids this entry, or undefined. Tombstones need only a known network. Pure. */
export function policyProblem(
  record: EndpointRecord,
  policy: EntryPolicy,
): { reason: PolicyRejection; detail: string } | undefined {
  if (!policy.isKnownNetwork(record.network))
    return { reason: "unknown-network", detail: `network ${record.network} is not known` };
  if (record.tombstone) return undefined;
  const slices = policy.ownerSlices(record.owner, record.network);
  if (!ipInAnySlice(record.ip, slices))
    return {
      reason: "ip-outside-slice",
      detail: `ip ${record.ip} of ${record.network}/${record.endpointId} is outside ${record.owner}'s slices [${slices.join(", ")}]`,
    };
  return undefined;
}

export function ipInAnySlice(ip: string, slices: readonly string[]): boolean {
  const v4 = dottedQuad(ip);
  if (v4 !== undefined) {
    let allV4 = true;
    for (const slice of slices) {
      const cidr = parseV4Slice(slice);
      if (cidr === undefined) allV4 = false;
      else if (cidr.prefix === 0 || v4 >>> (32 - cidr.prefix) === cidr.base >>> (32 - cidr.prefix)) return true;
    }
    if (allV4) return false;
  }
  const address = parseAddress(ip);
  if (address === undefined) return false;
  for (const slice of slices) {
    const cidr = parseSlice(slice);
    if (cidr !== undefined && cidr[0].kind() === address.kind() && address.match(cidr as never)) return true;
  }
  return false;
}

// Every entry of every peer passes through here: parse dotted quads directly (ipaddr.parse tries
// IPv6 first, which dominated the simulator's profile) and remember parsed slices.
function parseAddress(ip: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  try {
    return ipaddr.IPv4.isValidFourPartDecimal(ip) ? ipaddr.IPv4.parse(ip) : ipaddr.IPv6.parse(ip);
  } catch {
    return undefined;
  }
}

const parsedSlices = new Map<string, [ipaddr.IPv4 | ipaddr.IPv6, number] | undefined>();

function parseSlice(slice: string): [ipaddr.IPv4 | ipaddr.IPv6, number] | undefined {
  if (parsedSlices.has(slice)) return parsedSlices.get(slice);
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number] | undefined;
  try {
    parsed = ipaddr.parseCIDR(slice);
  } catch {
    // A slice the registry could not parse covers nothing.
    parsed = undefined;
  }
  if (parsedSlices.size >= 65_536) parsedSlices.clear();
  parsedSlices.set(slice, parsed);
  return parsed;
}

// The common case without ipaddr: a canonical dotted quad as an unsigned 32-bit number.
function dottedQuad(ip: string): number | undefined {
  let value = 0;
  let part = -1;
  let parts = 0;
  for (let i = 0; i <= ip.length; i++) {
    const c = i < ip.length ? ip.charCodeAt(i) : 46;
    if (c === 46) {
      if (part < 0 || parts === 4) return undefined;
      value = value * 256 + part;
      parts += 1;
      part = -1;
    } else if (c >= 48 && c <= 57) {
      if (part === 0) return undefined; // a leading zero: leave odd spellings to ipaddr
      part = part < 0 ? c - 48 : part * 10 + c - 48;
      if (part > 255) return undefined;
    } else return undefined;
  }
  return parts === 4 ? value : undefined;
}

const parsedV4Slices = new Map<string, { base: number; prefix: number } | undefined>();

function parseV4Slice(slice: string): { base: number; prefix: number } | undefined {
  if (parsedV4Slices.has(slice)) return parsedV4Slices.get(slice);
  const slash = slice.indexOf("/");
  const base = slash > 0 ? dottedQuad(slice.slice(0, slash)) : undefined;
  const prefixText = slash > 0 ? slice.slice(slash + 1) : "";
  const prefix = /^(?:[0-9]|[12][0-9]|3[0-2])$/.test(prefixText) ? Number(prefixText) : -1;
  const parsed = base !== undefined && prefix >= 0 ? { base, prefix } : undefined;
  if (parsedV4Slices.size >= 65_536) parsedV4Slices.clear();
  parsedV4Slices.set(slice, parsed);
  return parsed;
}
