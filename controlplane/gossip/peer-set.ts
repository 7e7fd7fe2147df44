import { invalidArgument, isName } from "../../proto/values/index.js";
import type { Clock } from "../clock.js";
import type { EndpointKey } from "./endpoint-record.js";
import type { GossipConfig } from "./gossip-config.js";
import { windowTargets } from "./push-targets.js";
import { ReplayWindow } from "./replay-window.js";
import type { DecodedEntry } from "./signed-entry.js";
import { TokenBucket } from "./token-bucket.js";

export interface GossipPeer {
  name: string;
  gossipAddr: string;
  publicKey: Uint8Array;
}

export type PeerState = "alive" | "suspect" | "dead";

export interface PeerStatus {
  name: string;
  gossipAddr: string;
  state: PeerState;
  lastSeenMs?: number;
  /** Live entries this node holds that the peer owns. */
  endpoints: number;
}

/** What this node keeps per peer: liveness, its push queue, and the limits on what it sends us. */
export interface PeerRecord {
  peer: GossipPeer;
  addedAtMs: number;
  lastSeenMs: number | undefined;
  reportedState: PeerState;
  /**
   * Deltas waiting to be pushed, newest version per key, in arrival order. Created on first use: at
   * 1,000 nodes most of a node's peers never get a push from it.
   */
  queue: Map<EndpointKey, DecodedEntry> | undefined;
  flushScheduled: boolean;
  sending: boolean;
  followUpSyncs: number;
  readonly frames: TokenBucket;
  readonly entries: TokenBucket;
  readonly replays: ReplayWindow;
}

/**
 * Deltas go to the same targets for this long (aligned to the clock, so nodes share windows): a burst
 * is then batched into a few large messages per node instead of many small ones.
 */
const GOSSIP_TARGET_WINDOW_MS = 200;

/** The peers (membership as the agent gives it) and their liveness as this node observes it. */
export class PeerSet {
  readonly #records = new Map<string, PeerRecord>();
  #list: PeerRecord[] = [];
  /** Peer names and our own, sorted: the list push-target permutations are drawn over. */
  #members: string[] = [];
  #targets: PeerRecord[] = [];
  #targetsUntil = 0;

  constructor(
    readonly self: string,
    readonly config: GossipConfig,
    readonly clock: Clock,
    readonly random: () => number,
    /** Length a public key must have, when the signature scheme fixes one. */
    readonly publicKeyBytes: number | undefined,
  ) {}

  get(name: string): PeerRecord | undefined {
    return this.#records.get(name);
  }

  get list(): readonly PeerRecord[] {
    return this.#list;
  }

  /** Whether `record` is still the current record of its peer (it may have left, or come back anew). */
  isCurrent(record: PeerRecord): boolean {
    return this.#records.get(record.peer.name) === record;
  }

  /**
   * Replaces the membership. Throws a WeftError naming the first bad peer, changing nothing. Returns
   * the new records and the addresses whose connections should be dropped (peers that left, changed
   * address, or joined).
   */
  update(peers: readonly GossipPeer[]): { added: PeerRecord[]; forget: string[] } {
    const next = new Map<string, GossipPeer>();
    peers.forEach((peer, i) => {
      if (!isName(peer.name)) throw invalidArgument(`peers[${i}].name`, `${JSON.stringify(peer.name)} is not a valid node name`);
      if (typeof peer.gossipAddr !== "string" || peer.gossipAddr.length === 0)
        throw invalidArgument(`peers[${i}].gossipAddr`, "must be a non-empty address");
      if (!(peer.publicKey instanceof Uint8Array) || (this.publicKeyBytes !== undefined && peer.publicKey.length !== this.publicKeyBytes))
        throw invalidArgument(`peers[${i}].publicKey`, `must be a ${this.publicKeyBytes ?? "non-empty"}-byte public key`);
      if (peer.name !== this.self) next.set(peer.name, { ...peer });
    });
    const added: PeerRecord[] = [];
    const forget: string[] = [];
    for (const [name, record] of [...this.#records]) {
      if (next.has(name)) continue;
      this.#records.delete(name);
      forget.push(record.peer.gossipAddr);
    }
    const now = this.clock.now();
    for (const [name, peer] of next) {
      const existing = this.#records.get(name);
      if (existing !== undefined) {
        if (existing.peer.gossipAddr !== peer.gossipAddr) forget.push(existing.peer.gossipAddr);
        existing.peer = peer;
        continue;
      }
      forget.push(peer.gossipAddr);
      const record: PeerRecord = {
        peer,
        addedAtMs: now,
        lastSeenMs: undefined,
        reportedState: "alive",
        queue: undefined,
        flushScheduled: false,
        sending: false,
        followUpSyncs: 0,
        frames: new TokenBucket(this.config.peerFramesPerSecond, this.config.peerFrameBurst, now),
        entries: new TokenBucket(this.config.peerEntriesPerSecond, this.config.peerEntryBurst, now),
        replays: new ReplayWindow(this.config.maxClockSkewMs),
      };
      this.#records.set(name, record);
      added.push(record);
    }
    this.#list = [...this.#records.values()];
    this.#members = [...this.#records.keys(), this.self].sort();
    this.#targetsUntil = 0;
    return { added, forget };
  }

  stateOf(peer: PeerRecord): PeerState {
    const heard = peer.lastSeenMs ?? peer.addedAtMs;
    return this.clock.now() - heard >= this.config.suspectAfterMs ? "suspect" : "alive";
  }

  /** Notes an authenticated, fresh frame from the peer; returns it when it was suspect until now. */
  heardFrom(name: string): PeerRecord | undefined {
    const peer = this.#records.get(name);
    if (peer === undefined) return undefined;
    peer.lastSeenMs = this.clock.now();
    if (peer.reportedState !== "suspect") return undefined;
    peer.reportedState = "alive";
    return peer;
  }

  /**
   * The `fanout` peers deltas go to in the current target window. The draw is windowTargets' shared
   * permutations, so every node has `fanout` pushers; a drawn peer that is not alive is replaced by a
   * random alive one.
   */
  targets(): readonly PeerRecord[] {
    const now = this.clock.now();
    const stale = this.#targets.some((p) => !this.isCurrent(p) || this.stateOf(p) !== "alive");
    if (now >= this.#targetsUntil || stale) {
      const window = Math.floor(now / GOSSIP_TARGET_WINDOW_MS);
      const chosen: PeerRecord[] = [];
      for (const name of windowTargets(this.#members, this.self, window, this.config.fanout)) {
        const peer = this.#records.get(name);
        if (peer !== undefined && this.stateOf(peer) === "alive") chosen.push(peer);
      }
      if (chosen.length < this.config.fanout)
        chosen.push(...this.pick(this.config.fanout - chosen.length, new Set(chosen.map((p) => p.peer.name))));
      this.#targets = chosen;
      this.#targetsUntil = (window + 1) * GOSSIP_TARGET_WINDOW_MS;
    }
    return this.#targets;
  }

  /** Up to `count` random alive peers not in `exclude`; suspects only when no peer is alive. */
  pick(count: number, exclude: ReadonlySet<string>): PeerRecord[] {
    const list = this.#list;
    const chosen: PeerRecord[] = [];
    if (list.length === 0 || count <= 0) return chosen;
    const usable = (p: PeerRecord) => !exclude.has(p.peer.name) && !chosen.includes(p);
    // Random probes first: cheap when most peers are usable, which is the common case.
    for (let attempt = 0; attempt < count * 4 && chosen.length < count; attempt++) {
      const p = list[Math.floor(this.random() * list.length)]!;
      if (usable(p) && this.stateOf(p) === "alive") chosen.push(p);
    }
    if (chosen.length < count) {
      const rest = list.filter((p) => usable(p) && this.stateOf(p) === "alive");
      shuffle(rest, this.random);
      chosen.push(...rest.slice(0, count - chosen.length));
    }
    if (chosen.length === 0) {
      const rest = list.filter((p) => usable(p));
      shuffle(rest, this.random);
      chosen.push(...rest.slice(0, count));
    }
    return chosen;
  }
}

export function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}
