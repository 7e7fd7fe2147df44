// The peer directory: decides gossip membership from etcd records and gossip liveness (see
// membership.ts), feeds it to gossip.setPeers, answers EntryPolicy.ownerVtep, and lists peers for
// `weft peers` (nodes that left are shown as dead for a while).
import type { GossipPeer, PeerStatus } from "../../controlplane/gossip/index.js";
import type { NodeRecord } from "../../controlplane/registry/index.js";
import { printable } from "../../proto/values/index.js";
import { decideMembership, type GossipLiveness } from "./membership.js";

/** How long a node that left is still listed, as dead, by `weft peers`. */
const DEAD_PEER_RETENTION_MS = 10 * 60_000;
/** How often membership is re-decided without an etcd event (gossip liveness has no events). */
const RECHECK_MS = 1000;

export interface PeerDirectoryOptions {
  self: string;
  selfUnderlayIp: string;
  nodes: () => ReadonlyMap<string, NodeRecord>;
  gossipStatus: () => readonly PeerStatus[];
  setPeers: (peers: GossipPeer[]) => void;
  log: (level: "info" | "warn", line: string) => void;
  now?: () => number;
}

export type PeerView = PeerStatus & { underlayIp: string };

export class PeerDirectory {
  private members = new Map<string, NodeRecord>();
  private kept = new Set<string>();
  private readonly departed = new Map<string, { record: NodeRecord; goneAtMs: number }>();
  private timer: NodeJS.Timeout | undefined;
  private lastPeersKey = "";
  private readonly now: () => number;

  constructor(private readonly options: PeerDirectoryOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), RECHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Re-decides membership; call on every etcd node event. */
  refresh(): void {
    const status = new Map(this.options.gossipStatus().map((p) => [p.name, p.state]));
    const { members, keptWithoutRecord, departed } = decideMembership({
      self: this.options.self,
      records: this.options.nodes(),
      previous: this.members,
      liveness: (name): GossipLiveness => status.get(name),
    });
    for (const name of keptWithoutRecord) {
      if (!this.kept.has(name)) this.options.log("warn", `node ${printable(name)}: its etcd record is gone but it still answers gossip; keeping it until it stops answering`);
    }
    for (const record of departed) {
      this.departed.set(record.name, { record, goneAtMs: this.now() });
      this.options.log("warn", `node ${printable(record.name)} is gone (no etcd record, not answering gossip): removing its endpoints`);
    }
    for (const name of members.keys()) this.departed.delete(name);
    this.members = members;
    this.kept = new Set(keptWithoutRecord);
    const peers = [...members.values()].map((n) => ({ name: n.name, gossipAddr: n.gossipAddr, publicKey: new Uint8Array(Buffer.from(n.publicKey, "base64")) }));
    const key = peers.map((p) => `${p.name}|${p.gossipAddr}|${Buffer.from(p.publicKey).toString("hex")}`).sort().join(",");
    if (key === this.lastPeersKey) return;
    this.lastPeersKey = key;
    this.options.setPeers(peers);
  }

  /** The owner's registered underlay IP, from its record or the last one known while it is a member. */
  ownerVtep(owner: string): string | undefined {
    if (owner === this.options.self) return this.options.selfUnderlayIp;
    return this.members.get(owner)?.underlayIP;
  }

  /** Gossip's view of each member, plus nodes that left in the last DEAD_PEER_RETENTION_MS as dead. */
  view(): PeerView[] {
    const now = this.now();
    const live = this.options.gossipStatus().map((p) => ({ ...p, underlayIp: this.members.get(p.name)?.underlayIP ?? "" }));
    const dead = [...this.departed.values()]
      .filter((d) => now - d.goneAtMs < DEAD_PEER_RETENTION_MS && !this.members.has(d.record.name))
      .map((d) => ({ name: d.record.name, gossipAddr: d.record.gossipAddr, underlayIp: d.record.underlayIP, state: "dead" as const, endpoints: 0, lastSeenMs: d.goneAtMs }));
    return [...live, ...dead].sort((a, b) => a.name.localeCompare(b.name));
  }
}
