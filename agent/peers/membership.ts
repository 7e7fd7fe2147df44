// Who the gossip peers are. Two signals say a node is gone: its etcd record (bound to its lease) and
// its gossip liveness. Either alone can lie: a lease lapses when etcd stalls (every lease expires in
// a long stall and etcd revokes them all on resume) while the node is fine; gossip turns a peer
// suspect when the underlay drops a few pings. So a node leaves the membership only when BOTH say
// it is gone: no record in etcd AND suspect in gossip. Until then it is kept with its last record.
import type { NodeRecord } from "../../controlplane/registry/index.js";

export type GossipLiveness = "alive" | "suspect" | "dead" | undefined;

export interface MembershipInput {
  self: string;
  /** Node records in etcd now. */
  records: ReadonlyMap<string, NodeRecord>;
  /** Members as last decided, with the record they were admitted with. */
  previous: ReadonlyMap<string, NodeRecord>;
  liveness: (name: string) => GossipLiveness;
}

export interface Membership {
  members: Map<string, NodeRecord>;
  /** Members kept although etcd no longer has their record (gossip still hears them). */
  keptWithoutRecord: string[];
  /** Members that left: gone from etcd and not answering gossip. */
  departed: NodeRecord[];
}

/** Pure. */
export function decideMembership(input: MembershipInput): Membership {
  const members = new Map<string, NodeRecord>();
  const keptWithoutRecord: string[] = [];
  const departed: NodeRecord[] = [];
  for (const [name, record] of input.records) if (name !== input.self) members.set(name, record);
  for (const [name, record] of input.previous) {
    if (members.has(name) || name === input.self) continue;
    if (input.liveness(name) === "alive") {
      members.set(name, record);
      keptWithoutRecord.push(name);
    } else departed.push(record);
  }
  return { members, keptWithoutRecord, departed };
}
