// /metrics as weftd builds it: the process metrics and every part's series, each one populated.
import { AgentMetrics, createMetricsRegistry, firewallWriteHistogram } from "../../../agent/metrics.js";
import { MeshMetrics } from "../../../agent/services/mesh-metrics.js";
import { DnsMetrics } from "../../../agent/dns/dns-metrics.js";
import { GossipMetrics } from "../../../controlplane/gossip/gossip-metrics.js";
import { INVALID_VALUES_METRIC, RegistryValueReader } from "../../../controlplane/registry/registry-values.js";
import type { ServiceWithBackends } from "../../../agent/desired-state/mesh-part.js";
import type { Counter } from "prom-client";
import { registryKeys } from "../../../controlplane/registry/keys.js";

export async function agentExposition(): Promise<string> {
  const registry = createMetricsRegistry();
  const agent = new AgentMetrics(registry, "n1", "1.2.3");
  agent.setEndpoints(2, 7);
  agent.setLocalEndpointsByNetwork([{ network: "blue" }, { network: "blue" }, { network: "red" }]);
  agent.recordReconcile({ linksCreated: 1, linksDeleted: 0, fdbAdded: 7, fdbRemoved: 0, neighboursAdded: 7, neighboursRemoved: 0, errors: [], skipped: [], orphanVeths: [], durationMs: 3 }, "full");
  agent.recordReconcileFailure();
  agent.recordSkipped("build", 1);
  agent.setOrphanVeths(0);
  agent.setServices([{ record: { name: "web" }, backends: [{}, {}] }] as unknown as ServiceWithBackends[]);
  firewallWriteHistogram(registry).observe(0.01);
  new MeshMetrics(registry, async () => 4).recordRuleApply(5, "full");
  const dns = new DnsMetrics(registry);
  dns.query("answered");
  dns.forwarded(0.002, "answered");
  const gossip = new GossipMetrics(registry);
  gossip.rejected("stale-frame");
  gossip.sent(100);
  gossip.received();
  gossip.entries(9);
  gossip.peers(2, 1);
  new RegistryValueReader(registryKeys(), { metrics: registry });
  (registry.getSingleMetric(INVALID_VALUES_METRIC) as Counter<"kind">).inc({ kind: "node" });
  return registry.metrics();
}
