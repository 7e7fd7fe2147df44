import { cidrSize, isIPv4, maskOf, parseIPv4, parseIPv4Cidr, type IPv4Cidr } from "../../proto/values/index.js";
import type { EndpointRecord } from "./endpoint-record.js";

/** What the etcd registry knows, as the gossip needs it; provided by the agent. */
export interface EntryPolicy {
  isKnownNetwork(network: string): boolean;
  /** CIDRs of the owner's subnet slices in that network. */
  ownerSlices(owner: string, network: string): readonly string[];
  /**
   * The owner's registered underlay IP (its VTEP), from its node record or the last one known while
   * it still counts as a member; undefined when unknown (then none of its live entries is accepted).
   */
  ownerVtep(owner: string): string | undefined;
}

export type PolicyRejection = "unknown-network" | "ip-outside-slice" | "vtep-mismatch";

/**
 * Why the registry forbids this entry, or undefined: its network must be known, its IP in the owner's
 * slice of that network and its VTEP the owner's registered underlay IP. Tombstones need only a known
 * network. Pure.
 */
export function policyProblem(
  record: EndpointRecord,
  policy: EntryPolicy,
  /** The record's IP as a number, when the caller has it parsed already. */
  address?: number,
): { reason: PolicyRejection; detail: string } | undefined {
  if (!policy.isKnownNetwork(record.network))
    return { reason: "unknown-network", detail: `network ${record.network} is not known` };
  if (record.tombstone) return undefined;
  const slices = policy.ownerSlices(record.owner, record.network);
  if (!ipInAnySlice(address ?? record.ip, slices))
    return {
      reason: "ip-outside-slice",
      detail: `ip ${record.ip} of ${record.network}/${record.endpointId} is outside ${record.owner}'s slices [${slices.join(", ")}]`,
    };
  const vtep = policy.ownerVtep(record.owner);
  if (record.vtep !== vtep)
    return {
      reason: "vtep-mismatch",
      detail: `vtep ${record.vtep} of ${record.network}/${record.endpointId} is not ${record.owner}'s registered underlay IP (${vtep ?? "unknown"})`,
    };
  return undefined;
}

/** Whether the IP (dotted quad, or already parsed) lies in one of the slices. */
export function ipInAnySlice(ip: string | number, slices: readonly string[]): boolean {
  if (typeof ip === "string" && !isIPv4(ip)) return false;
  const address = typeof ip === "number" ? ip : parseIPv4(ip);
  for (const slice of slices) {
    const cidr = parsedSlice(slice);
    if (cidr !== undefined && (address & maskOf(cidr.prefix)) >>> 0 === cidr.base) return true;
  }
  return false;
}

/** Addresses in the slices: the most live entries an owner can hold in that network. */
export function sliceCapacity(slices: readonly string[]): number {
  let total = 0;
  for (const slice of slices) {
    const cidr = parsedSlice(slice);
    if (cidr !== undefined) total += cidrSize(cidr);
  }
  return total;
}

// Every entry of every peer is checked against its owner's slices: remember parsed ones (bounded).
const parsedSlices = new Map<string, IPv4Cidr | undefined>();

function parsedSlice(slice: string): IPv4Cidr | undefined {
  if (parsedSlices.has(slice)) return parsedSlices.get(slice);
  let parsed: IPv4Cidr | undefined;
  try {
    parsed = parseIPv4Cidr(slice, "slice", { canonical: false });
  } catch {
    // A slice the registry could not parse covers nothing.
    parsed = undefined;
  }
  if (parsedSlices.size >= 65_536) parsedSlices.clear();
  parsedSlices.set(slice, parsed);
  return parsed;
}
