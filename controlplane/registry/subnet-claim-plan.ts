// Deciding which slice a node gets (pure; both registries run it, then try to commit the decision
// with a compare-and-swap and run it again on conflict). The network's last slice is never given: it
// holds the service VIPs (vip-allocation.ts).
import { WeftError } from "../../proto/values/index.js";
import { chooseSubnetSlice, isSliceOf } from "../ipam/subnet-slice.js";
import { serviceSlice } from "../services/vip-allocation.js";
import type { NetworkRecord, SubnetLease } from "./records.js";

export type SubnetClaimPlan =
  /** The node already holds this lease: nothing to write. */
  | { kind: "existing"; lease: SubnetLease }
  /** Create the lease for a free slice (key must not exist). */
  | { kind: "claim"; cidr: string }
  /** Take over the slice of a node gone longer than the reclaim period (key must still hold `previous`). */
  | { kind: "reclaim"; cidr: string; previous: SubnetLease };

export interface SubnetClaimInput {
  network: NetworkRecord;
  node: string;
  /** Every current lease in the network. */
  leases: readonly SubnetLease[];
  preferred?: string;
  /** Node names currently registered. */
  liveNodes: ReadonlySet<string>;
  /** When each absent node was first seen absent by this registry (ms since epoch). */
  absentSince: (node: string) => number;
  now: number;
  reclaimAfterMs: number;
  random?: () => number;
}

export function planSubnetClaim(input: SubnetClaimInput): SubnetClaimPlan {
  const { network, node, leases } = input;
  const own = leases.find((l) => l.node === node && isSliceOf(network.subnet, network.hostPrefixLen, l.cidr));
  if (own) return { kind: "existing", lease: own };

  // A node that held the service slice before it was reserved keeps it (createService refuses a VIP
  // meanwhile), but no node gets it anew.
  const reserved = serviceSlice(network);
  const taken = new Set([...leases.map((l) => l.cidr), reserved]);
  const preferred = input.preferred;
  if (preferred !== undefined && isSliceOf(network.subnet, network.hostPrefixLen, preferred) && !taken.has(preferred)) {
    return { kind: "claim", cidr: preferred };
  }
  const free = chooseSubnetSlice(network.subnet, network.hostPrefixLen, taken, input.random);
  if (free !== undefined) return { kind: "claim", cidr: free };

  // Full: a slice whose node has been gone (and whose lease is older) than the reclaim period.
  const reclaimable = leases
    .filter((l) => l.cidr !== reserved && !input.liveNodes.has(l.node))
    .filter((l) => {
      const goneSince = Math.max(input.absentSince(l.node), Date.parse(l.since) || 0);
      return input.now - goneSince >= input.reclaimAfterMs;
    })
    .sort((a, b) => (preferred !== undefined && a.cidr === preferred ? -1 : b.cidr === preferred ? 1 : a.since.localeCompare(b.since)));
  const victim = reclaimable[0];
  if (victim) return { kind: "reclaim", cidr: victim.cidr, previous: victim };

  throw new WeftError(
    "resource-exhausted",
    `subnet: network ${JSON.stringify(network.name)} (${network.subnet}) has no free /${network.hostPrefixLen} slice`,
    { field: "subnet" },
  );
}
