import { invalidArgument } from "../../proto/values/index.js";

export interface GossipConfig {
  /** Peers each delta is pushed to at once, and forwarded to by each node that accepts it. */
  fanout: number;
  /** Push-pull anti-entropy with one random peer this often (each wait is 75-100% of it). */
  antiEntropyIntervalMs: number;
  /** Peers not heard from for this long are pinged; 0 disables pings (the simulator's choice). */
  pingIntervalMs: number;
  /** A peer not heard from for this long is suspect: it keeps its entries but gets no pushes. */
  suspectAfterMs: number;
  /**
   * Tombstones are kept this long after this node received them, then reaped. A partition that
   * lasts longer may bring a deleted entry back from the far side until its owner (who re-announces
   * anything it does not hold) tombstones it again.
   */
  tombstoneTtlMs: number;
  /**
   * Clocks may differ by this much: frames sent further from this node's clock are refused, and so
   * are tombstones whose deletion time lies further in the future. Also the replay window's span.
   */
  maxClockSkewMs: number;
  /** Entries this node puts in one message. */
  maxEntriesPerMessage: number;
  /** Entries accepted in one received push or sync reply; a frame with more is refused unread. */
  maxEntriesPerFrame: number;
  /** Bound on the entry bytes of one message; frames larger than this plus 64 KiB are refused. */
  maxMessageBytes: number;
  /** Entries waiting for one peer; the oldest are dropped beyond this (anti-entropy repairs). */
  maxQueuePerPeer: number;
  /** Tombstones held per owner (its live entries are bounded by its slices' addresses). */
  maxTombstonesPerOwner: number;
  /** Per-peer token bucket on received entries: refill per second and capacity (a burst). */
  peerEntriesPerSecond: number;
  peerEntryBurst: number;
  /** Per-peer token bucket on received frames. */
  peerFramesPerSecond: number;
  peerFrameBurst: number;
  callTimeoutMs: number;
}

export const defaultGossipConfig: GossipConfig = Object.freeze({
  fanout: 3,
  antiEntropyIntervalMs: 1000,
  pingIntervalMs: 1000,
  suspectAfterMs: 3000,
  tombstoneTtlMs: 10 * 60 * 1000,
  maxClockSkewMs: 60_000,
  maxEntriesPerMessage: 500,
  maxEntriesPerFrame: 4000,
  maxMessageBytes: 1024 * 1024,
  maxQueuePerPeer: 10_000,
  maxTombstonesPerOwner: 10_000,
  // A 50,000-endpoint burst from one owner fits in the bucket; a flood is held to the refill rate.
  peerEntriesPerSecond: 25_000,
  peerEntryBurst: 100_000,
  peerFramesPerSecond: 200,
  peerFrameBurst: 1000,
  callTimeoutMs: 2000,
});

/** Fills in defaults and checks every field; throws a WeftError naming the first bad one. */
export function resolveGossipConfig(partial: Partial<GossipConfig> = {}): GossipConfig {
  const config: GossipConfig = { ...defaultGossipConfig, ...stripUndefined(partial) };
  for (const field of Object.keys(defaultGossipConfig) as (keyof GossipConfig)[]) {
    if (field === "pingIntervalMs") continue;
    const value = config[field];
    if (!Number.isFinite(value) || value <= 0) throw invalidArgument(`config.${field}`, `must be a positive number, got ${value}`);
  }
  if (!Number.isFinite(config.pingIntervalMs) || config.pingIntervalMs < 0)
    throw invalidArgument("config.pingIntervalMs", `must be 0 (off) or positive, got ${config.pingIntervalMs}`);
  if (!Number.isInteger(config.fanout)) throw invalidArgument("config.fanout", "must be an integer");
  return config;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
