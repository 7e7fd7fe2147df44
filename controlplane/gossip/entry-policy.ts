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
  let address: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    address = ipaddr.parse(ip);
  } catch {
    return false;
  }
  for (const slice of slices) {
    try {
      const [network, prefix] = ipaddr.parseCIDR(slice);
      if (network.kind() === address.kind() && address.match([network, prefix] as never)) return true;
    } catch {
      // A slice the registry could not parse covers nothing.
    }
  }
  return false;
}
