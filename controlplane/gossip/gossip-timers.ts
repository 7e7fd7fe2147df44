import { create } from "@bufbuild/protobuf";
import { PingSchema } from "../../proto/gen/weft/v1/gossip_pb.js";
import type { Clock } from "../clock.js";
import type { AntiEntropy } from "./anti-entropy.js";
import type { EntryTable } from "./entry-table.js";
import type { FrameChannel } from "./frame-channel.js";
import type { GossipConfig } from "./gossip-config.js";
import type { OutgoingBody } from "./gossip-wire.js";
import type { PeerSet } from "./peer-set.js";

/**
 * Suspect peers are pinged this often (each such ping given SUSPECT_PING_TIMEOUT_MS), so a peer back
 * from a partition is heard from, and synced with, soon after its link heals, not a ping interval later.
 */
const SUSPECT_PING_MS = 200;
const SUSPECT_PING_TIMEOUT_MS = 600;

export interface GossipTimerOptions {
  readonly config: GossipConfig;
  readonly clock: Clock;
  readonly random: () => number;
  readonly peers: PeerSet;
  readonly table: EntryTable;
  readonly channel: FrameChannel;
  readonly antiEntropy: AntiEntropy;
  log(line: string): void;
  reportGauges(): void;
}

/**
 * The node's periodic work: an anti-entropy round with one random peer (and tombstone reaping) every
 * antiEntropyIntervalMs, and pings to peers not heard from lately, which also marks silent peers
 * suspect.
 */
export class GossipTimers {
  #running = false;
  #antiEntropyTimer: unknown;
  #pingTimer: unknown;

  constructor(readonly options: GossipTimerOptions) {}

  start(): void {
    this.#running = true;
    this.#scheduleAntiEntropy(0);
    if (this.options.config.pingIntervalMs > 0) this.#schedulePing();
  }

  stop(): void {
    this.#running = false;
    this.options.clock.clearTimeout(this.#antiEntropyTimer);
    this.options.clock.clearTimeout(this.#pingTimer);
  }

  #scheduleAntiEntropy(delayMs: number): void {
    const { clock, config, table, peers, antiEntropy, random } = this.options;
    this.#antiEntropyTimer = clock.setTimeout(() => {
      if (!this.#running) return;
      table.reapTombstones(clock.now() - config.tombstoneTtlMs);
      for (const peer of peers.list) peer.followUpSyncs = 0;
      const [peer] = peers.pick(1, new Set());
      if (peer !== undefined) void antiEntropy.syncWith(peer);
      this.options.reportGauges();
      this.#scheduleAntiEntropy(config.antiEntropyIntervalMs * (0.75 + 0.25 * random()));
    }, delayMs);
  }

  #schedulePing(): void {
    const { clock, config, peers, channel } = this.options;
    const tickMs = Math.min(config.pingIntervalMs, SUSPECT_PING_MS);
    let sinceRound = 0;
    const tick = () => {
      if (!this.#running) return;
      sinceRound += tickMs;
      const fullRound = sinceRound >= config.pingIntervalMs;
      if (fullRound) sinceRound = 0;
      const now = clock.now();
      for (const peer of peers.list) {
        const state = peers.stateOf(peer);
        if (state === "suspect" && peer.reportedState !== "suspect") {
          peer.reportedState = "suspect";
          this.options.log(`gossip: peer ${peer.peer.name} is suspect (not heard from for ${config.suspectAfterMs} ms); keeping its entries`);
        }
        if (fullRound && (peer.lastSeenMs ?? 0) <= now - config.pingIntervalMs) void channel.exchange(peer, this.#ping());
        // Between full rounds a suspect gets quick extra pings; each that fails makes the next one
        // dial afresh (see the gRPC transport), so the first after the link heals gets through.
        else if (state === "suspect") void channel.exchange(peer, this.#ping(), SUSPECT_PING_TIMEOUT_MS);
      }
      if (fullRound) this.options.reportGauges();
      this.#pingTimer = clock.setTimeout(tick, tickMs);
    };
    this.#pingTimer = clock.setTimeout(tick, tickMs);
  }

  #ping(): OutgoingBody {
    return { case: "ping", value: create(PingSchema, { nonce: BigInt(Math.floor(this.options.random() * 2 ** 32)) }) };
  }
}
