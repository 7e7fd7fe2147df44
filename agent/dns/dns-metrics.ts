import { Counter, Histogram, type Registry } from "prom-client";
import type { DnsResult } from "./answer-query.js";

/** The embedded DNS's Prometheus series. */
export class DnsMetrics {
  readonly #queries: Counter<"result">;
  readonly #forwardSeconds: Histogram<"outcome">;

  constructor(registry: Registry) {
    const registers = [registry];
    // A server re-created in the same process (tests, a restart of the part) reuses the series.
    this.#queries =
      (registry.getSingleMetric("weft_dns_queries_total") as Counter<"result"> | undefined) ??
      new Counter({ name: "weft_dns_queries_total", help: "DNS queries by what became of them.", labelNames: ["result"], registers });
    this.#forwardSeconds =
      (registry.getSingleMetric("weft_dns_forward_duration_seconds") as Histogram<"outcome"> | undefined) ??
      new Histogram({
        name: "weft_dns_forward_duration_seconds",
        help: "Time from receiving a query to having the upstream's answer (or giving up), by outcome.",
        labelNames: ["outcome"],
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers,
      });
  }

  query(result: DnsResult): void {
    this.#queries.inc({ result });
  }

  forwarded(seconds: number, outcome: "answered" | "failed"): void {
    this.#forwardSeconds.observe({ outcome }, seconds);
  }
}
