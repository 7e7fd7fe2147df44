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
