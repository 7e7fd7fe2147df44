import type { Clock } from "../clock.js";
import type { FrameChannel } from "./frame-channel.js";
import type { GossipConfig } from "./gossip-config.js";
import type { GossipMetrics } from "./gossip-metrics.js";
import type { PeerRecord, PeerSet } from "./peer-set.js";
import type { DecodedEntry } from "./signed-entry.js";

/** A busy or unreachable peer's batch is retried after this pause. */
const PUSH_RETRY_MS = 500;

export interface PushQueueOptions {
  readonly config: GossipConfig;
  readonly clock: Clock;
  readonly metrics: GossipMetrics;
  readonly peers: PeerSet;
  readonly channel: FrameChannel;
  running(): boolean;
}

/**
 * Each peer's queue of deltas to push: newest version per key, bounded (the oldest are dropped and
 * anti-entropy repairs them), flushed in messages of up to maxEntriesPerMessage entries, one message
 * in flight per peer.
 */
export class PushQueues {
  constructor(readonly options: PushQueueOptions) {}

  enqueue(peer: PeerRecord, entry: DecodedEntry): void {
    if (!this.options.running()) return;
    const queue = (peer.queue ??= new Map());
    queue.delete(entry.key);
    this.#add(peer, entry);
    if (peer.flushScheduled || peer.sending) return;
    peer.flushScheduled = true;
    queueMicrotask(() => {
      peer.flushScheduled = false;
      void this.#flush(peer);
    });
  }

  async #flush(peer: PeerRecord): Promise<void> {
    const { config, peers, channel, clock } = this.options;
    if (peer.sending) return;
    peer.sending = true;
    try {
      for (let queue = peer.queue; this.options.running() && queue !== undefined && queue.size > 0 && peers.isCurrent(peer); queue = peer.queue) {
        const batch: DecodedEntry[] = [];
        let bytes = 0;
        for (const entry of queue.values()) {
          if (batch.length >= config.maxEntriesPerMessage || (batch.length > 0 && bytes + entry.wireBytes > config.maxMessageBytes)) break;
          batch.push(entry);
          bytes += entry.wireBytes;
        }
        if (batch.length === queue.size) queue.clear();
        else {
          let left = batch.length;
          for (const key of queue.keys()) {
            if (left-- === 0) break;
            queue.delete(key);
          }
        }
        const reply = await channel.exchange(peer, { case: "push", entries: batch.map((e) => e.wire) });
        if (reply === undefined) {
          // Keep the batch (behind anything newer queued meanwhile) and retry after a pause. The
          // queue stays bounded; what overflows, anti-entropy repairs.
          for (const entry of batch) if (!peer.queue?.has(entry.key)) this.#add(peer, entry);
          clock.setTimeout(() => {
            if (this.options.running() && peers.isCurrent(peer)) void this.#flush(peer);
          }, PUSH_RETRY_MS);
          return;
        }
      }
    } finally {
      peer.sending = false;
      if (peer.queue?.size === 0) peer.queue = undefined;
    }
  }

  #add(peer: PeerRecord, entry: DecodedEntry): void {
    const queue = (peer.queue ??= new Map());
    queue.set(entry.key, entry);
    if (queue.size > this.options.config.maxQueuePerPeer) {
      queue.delete(queue.keys().next().value!);
      this.options.metrics.queueDropped();
    }
  }
}
