// The agent's own Prometheus metrics (gossip and registry register theirs on the same registry).
// Names: prefix weft_, base units, _total for counters.
import * as prom from "prom-client";
import type { ReconcileReport } from "../dataplane/index.js";
import type { ServiceWithBackends } from "./desired-state/mesh-part.js";

/**
 * The registry weftd serves: prom-client's process and Node.js metrics under weft_, minus the gauges
 * it names with _total (nodejs_active_handles_total and the like), which break Prometheus' rule that
 * only counters end in _total and fail `promtool check metrics`; their per-type gauges
 * (weft_nodejs_active_handles{type}) carry the same numbers, sum() gives the total.
 */
export function createMetricsRegistry(): prom.Registry {
  const registry = new prom.Registry();
  prom.collectDefaultMetrics({ register: registry, prefix: "weft_" });
  for (const metric of registry.getMetricsAsArray()) {
    const { name, type } = metric as unknown as { name: string; type: string };
    if (type !== "counter" && name.endsWith("_total")) registry.removeSingleMetric(name);
  }
  return registry;
}

export function firewallWriteHistogram(registry: prom.Registry): prom.Histogram {
  return new prom.Histogram({
    name: "weft_firewall_apply_duration_seconds",
    help: "Time to write weft's nftables table (isolation, egress masquerade) in one nft transaction; its count is the number of writes.",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
}

export class AgentMetrics {
  private readonly endpoints: prom.Gauge<"kind">;
  private readonly reconciles: prom.Counter<"result">;
  private readonly reconcileSeconds: prom.Histogram<"kind">;
  private readonly kernelChanges: prom.Counter<"object" | "op">;
  private readonly etcdConnected: prom.Gauge;
  private readonly skippedEntries: prom.Counter<"stage">;
  private readonly orphanVeths: prom.Gauge;
  private readonly services: prom.Gauge;
  private readonly serviceBackends: prom.Gauge<"service">;
  private readonly unappliedEntries: prom.Gauge;
  private readonly networkEndpoints: prom.Gauge<"network">;

  constructor(registry: prom.Registry, node: string, version: string) {
    const buildInfo = new prom.Gauge({
      name: "weft_build_info",
      help: "Always 1; labels say which weft build and node this is.",
      labelNames: ["version", "node", "nodejs"],
      registers: [registry],
    });
    buildInfo.set({ version, node, nodejs: process.versions.node }, 1);
    this.endpoints = new prom.Gauge({
      name: "weft_endpoints",
      help: "Endpoints this node programs, by kind (local: its own containers; remote: FDB/neighbour pairs for other nodes' endpoints).",
      labelNames: ["kind"],
      registers: [registry],
    });
    this.reconciles = new prom.Counter({
      name: "weft_reconciles_total",
      help: "Kernel reconcile runs, by result (ok, partial: some objects failed, failed).",
      labelNames: ["result"],
      registers: [registry],
    });
    this.reconcileSeconds = new prom.Histogram({
      name: "weft_reconcile_duration_seconds",
      help: "Time of one kernel reconcile, by kind (full: observe, diff and apply everything; incremental: apply the entries gossip changed).",
      labelNames: ["kind"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    this.kernelChanges = new prom.Counter({
      name: "weft_kernel_changes_total",
      help: "Kernel objects changed by reconciles, by object (link, fdb, neighbour) and op (add, remove).",
      labelNames: ["object", "op"],
      registers: [registry],
    });
    this.etcdConnected = new prom.Gauge({
      name: "weft_etcd_connected",
      help: "1 while the agent can reach etcd.",
      registers: [registry],
    });
    this.etcdConnected.set(1);
    this.skippedEntries = new prom.Counter({
      name: "weft_desired_state_skipped_entries_total",
      help: "Entries left out of the desired kernel state as invalid, one by one, by stage (build: the agent's builder; reconcile: the dataplane).",
      labelNames: ["stage"],
      registers: [registry],
    });
    // Present at 0 from the start, so a dashboard shows "none skipped" rather than "no data".
    for (const stage of ["build", "reconcile"]) this.skippedEntries.inc({ stage }, 0);
    this.orphanVeths = new prom.Gauge({
      name: "weft_orphan_veths",
      help: "weft veths in the kernel that this agent did not make (no endpoint in its state, none attached in this run): reported and left in place.",
      registers: [registry],
    });
    this.services = new prom.Gauge({
      name: "weft_services",
      help: "Services in the cluster (etcd's services/ keys, as this agent's cache holds them).",
      registers: [registry],
    });
    this.serviceBackends = new prom.Gauge({
      name: "weft_service_backends",
      help: "Live backends of each service: endpoints of its network whose labels match its selector, on any node.",
      labelNames: ["service"],
      registers: [registry],
    });
    this.networkEndpoints = new prom.Gauge({
      name: "weft_network_local_endpoints",
      help: "This node's own endpoints, by network.",
      labelNames: ["network"],
      registers: [registry],
    });
    this.unappliedEntries = new prom.Gauge({
      name: "weft_kernel_unapplied_entries",
      help: "Objects of the desired kernel state the last full reconcile could not program (failed or skipped as invalid): above 0, the kernel diverges from the endpoint table.",
      registers: [registry],
    });
  }

  /** Replaces the per-service series, so a removed service's series goes with it. */
  setServices(services: readonly ServiceWithBackends[]): void {
    this.services.set(services.length);
    this.serviceBackends.reset();
    for (const { record, backends } of services) this.serviceBackends.set({ service: record.name }, backends.length);
  }

  recordSkipped(stage: "build" | "reconcile", count: number): void {
    if (count > 0) this.skippedEntries.inc({ stage }, count);
  }

  setOrphanVeths(count: number): void {
    this.orphanVeths.set(count);
  }

  recordReconcile(report: ReconcileReport, kind: "full" | "incremental"): void {
    this.reconciles.inc({ result: report.errors.length === 0 ? "ok" : "partial" });
    this.reconcileSeconds.observe({ kind }, report.durationMs / 1000);
    // A full run compares against everything; an incremental one only sees the entries gossip changed.
    if (kind === "full") this.unappliedEntries.set(report.errors.length + report.skipped.length);
    this.kernelChanges.inc({ object: "link", op: "add" }, report.linksCreated);
    this.kernelChanges.inc({ object: "link", op: "remove" }, report.linksDeleted);
    this.kernelChanges.inc({ object: "fdb", op: "add" }, report.fdbAdded);
    this.kernelChanges.inc({ object: "fdb", op: "remove" }, report.fdbRemoved);
    this.kernelChanges.inc({ object: "neighbour", op: "add" }, report.neighboursAdded);
    this.kernelChanges.inc({ object: "neighbour", op: "remove" }, report.neighboursRemoved);
  }

  recordReconcileFailure(): void {
    this.reconciles.inc({ result: "failed" });
  }

  setEndpoints(local: number, remote: number): void {
    this.endpoints.set({ kind: "local" }, local);
    this.endpoints.set({ kind: "remote" }, remote);
  }

  /** Replaces the per-network series, so a network this node left loses its series. */
  setLocalEndpointsByNetwork(endpoints: readonly { network: string }[]): void {
    const counts = new Map<string, number>();
    for (const { network } of endpoints) counts.set(network, (counts.get(network) ?? 0) + 1);
    this.networkEndpoints.reset();
    for (const [network, count] of counts) this.networkEndpoints.set({ network }, count);
  }

  setEtcdConnected(connected: boolean): void {
    this.etcdConnected.set(connected ? 1 : 0);
  }
}
