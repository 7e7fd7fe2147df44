import { Counter, Gauge, type Registry } from "prom-client";
import type { RejectionReason } from "./rejection-reason.js";

/** The gossip's Prometheus series; every method is a no-op without a registry. */
export class GossipMetrics {
  readonly #rejected?: Counter<"reason">;
  readonly #sent?: Counter;
  readonly #received?: Counter;
  readonly #bytesSent?: Counter;
  readonly #queueDropped?: Counter;
  readonly #entries?: Gauge;
  readonly #peers?: Gauge<"state">;

  constructor(registry?: Registry) {
    if (registry === undefined) return;
    const registers = [registry];
    this.#rejected = new Counter({ name: "weft_gossip_rejected_total", help: "Frames and entries refused, by reason.", labelNames: ["reason"], registers });
    this.#sent = new Counter({ name: "weft_gossip_messages_sent_total", help: "Gossip messages sent (requests and replies).", registers });
    this.#received = new Counter({ name: "weft_gossip_messages_received_total", help: "Gossip messages received and authenticated.", registers });
    this.#bytesSent = new Counter({ name: "weft_gossip_bytes_sent_total", help: "Bytes of gossip frames sent.", registers });
    this.#queueDropped = new Counter({ name: "weft_gossip_queue_dropped_total", help: "Queued deltas dropped because a peer's queue was full.", registers });
    this.#entries = new Gauge({ name: "weft_gossip_entries", help: "Live endpoint entries held, all owners.", registers });
    this.#peers = new Gauge({ name: "weft_gossip_peers", help: "Known peers by state.", labelNames: ["state"], registers });
  }

  rejected(reason: RejectionReason): void {
    this.#rejected?.inc({ reason });
  }

  sent(bytes: number): void {
    this.#sent?.inc();
    this.#bytesSent?.inc(bytes);
  }

  received(): void {
    this.#received?.inc();
  }

  queueDropped(): void {
    this.#queueDropped?.inc();
  }

  entries(live: number): void {
    this.#entries?.set(live);
  }

  peers(alive: number, suspect: number): void {
    this.#peers?.set({ state: "alive" }, alive);
    this.#peers?.set({ state: "suspect" }, suspect);
    this.#peers?.set({ state: "dead" }, 0);
  }
}
