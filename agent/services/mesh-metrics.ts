// The mesh's own metrics, fed by the nftables firewall weftd builds: its writes (full or incremental,
// with their durations) and the connections it rejected because a service had no backend.
import * as prom from "prom-client";

export type RuleApplyKind = "full" | "incremental";

export class MeshMetrics {
  private readonly applies: prom.Counter<"kind">;
  private readonly applySeconds: prom.Histogram<"kind">;

  /** rejectedConnections: NftablesFirewall.rejectedConnections (the nft counter mesh_no_backend), read at each scrape. */
  constructor(registry: prom.Registry, rejectedConnections?: () => Promise<number>) {
    this.applies = new prom.Counter({
      name: "weft_mesh_rule_applies_total",
      help: "Writes of weft's nftables table, by kind (full: the whole table; incremental: only the changed map elements and chains).",
      labelNames: ["kind"],
      registers: [registry],
    });
    this.applySeconds = new prom.Histogram({
      name: "weft_mesh_rule_apply_duration_seconds",
      help: "Time of one write of weft's nftables table, by kind (full or incremental).",
      labelNames: ["kind"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    if (rejectedConnections !== undefined) {
      new prom.Counter({
        name: "weft_mesh_rejected_connections_total",
        help: "Connections to a service (VIP or published port) rejected at once because it had no backend (nft counter mesh_no_backend).",
        registers: [registry],
        // The kernel holds the count: each scrape copies it (a failed read keeps the last value).
        async collect() {
          const count = await rejectedConnections().catch(() => undefined);
          if (count === undefined) return;
          this.reset();
          this.inc(count);
        },
      });
    }
  }

  /** NftablesFirewallOptions.onWrite. */
  recordRuleApply(durationMs: number, kind: RuleApplyKind = "full"): void {
    this.applies.inc({ kind });
    this.applySeconds.observe({ kind }, durationMs / 1000);
  }
}
