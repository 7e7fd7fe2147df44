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
    // A node restarted in the same process reuses the series registered by its predecessor.
    const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
      (registry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter<L>({ name, help, labelNames, registers });
    const gauge = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
      (registry.getSingleMetric(name) as Gauge<L> | undefined) ?? new Gauge<L>({ name, help, labelNames, registers });
    this.#rejected = counter("weft_gossip_rejected_total", "Frames and entries refused, by reason.", ["reason"]);
    this.#sent = counter("weft_gossip_messages_sent_total", "Gossip messages sent (requests and replies).");
    this.#received = counter("weft_gossip_messages_received_total", "Gossip messages received and authenticated.");
    this.#bytesSent = counter("weft_gossip_bytes_sent_total", "Bytes of gossip frames sent.");
    this.#queueDropped = counter("weft_gossip_queue_dropped_total", "Queued deltas dropped because a peer's queue was full.");
    this.#entries = gauge("weft_gossip_entries", "Live endpoint entries held, all owners.");
    this.#peers = gauge("weft_gossip_peers", "Known peers by state.", ["state"]);
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
