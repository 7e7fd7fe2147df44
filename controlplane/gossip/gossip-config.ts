import { GossipInputError } from "./endpoint-record.js";

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
   * Tombstones are kept this long after the owner's deletion time, then reaped. A partition that
   * lasts longer may bring a deleted entry back from the far side until its owner (who re-announces
   * anything it does not hold) tombstones it again.
   */
  tombstoneTtlMs: number;
  maxEntriesPerMessage: number;
  /** Bound on the entry bytes of one message; frames larger than this plus 64 KiB are refused. */
  maxMessageBytes: number;
  /** Entries waiting for one peer; the oldest are dropped beyond this (anti-entropy repairs). */
  maxQueuePerPeer: number;
  callTimeoutMs: number;
}

export const defaultGossipConfig: GossipConfig = Object.freeze({
  fanout: 3,
  antiEntropyIntervalMs: 1000,
  pingIntervalMs: 1000,
  suspectAfterMs: 3000,
  tombstoneTtlMs: 10 * 60 * 1000,
  maxEntriesPerMessage: 500,
  maxMessageBytes: 1024 * 1024,
  maxQueuePerPeer: 10_000,
  callTimeoutMs: 2000,
});

/** Fills in defaults and checks every field; throws GossipInputError naming the first bad one. */
export function resolveGossipConfig(partial: Partial<GossipConfig> = {}): GossipConfig {
  const config: GossipConfig = { ...defaultGossipConfig, ...stripUndefined(partial) };
  const positive: (keyof GossipConfig)[] = [
    "fanout",
    "antiEntropyIntervalMs",
    "suspectAfterMs",
    "tombstoneTtlMs",
    "maxEntriesPerMessage",
    "maxMessageBytes",
    "maxQueuePerPeer",
    "callTimeoutMs",
  ];
  for (const field of positive) {
    const value = config[field];
    if (!Number.isFinite(value) || value <= 0) throw new GossipInputError(`config.${field}`, `must be a positive number, got ${value}`);
  }
  if (!Number.isFinite(config.pingIntervalMs) || config.pingIntervalMs < 0)
    throw new GossipInputError("config.pingIntervalMs", `must be 0 (off) or positive, got ${config.pingIntervalMs}`);
  if (!Number.isInteger(config.fanout)) throw new GossipInputError("config.fanout", "must be an integer");
  return config;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
