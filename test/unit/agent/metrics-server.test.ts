import type { AddressInfo } from "node:net";
import * as prom from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { AgentMetrics } from "../../../agent/metrics.js";
import { startMetricsServer } from "../../../agent/metrics-server.js";

const servers: Array<{ close(): void }> = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

describe("metrics server", () => {
  it("serves weft_ metrics in Prometheus text, /healthz always, /readyz once ready", async () => {
    const registry = new prom.Registry();
    const metrics = new AgentMetrics(registry, "h1", "0.1.0");
    metrics.setEndpoints(2, 5);
    metrics.recordReconcile({ linksCreated: 3, linksDeleted: 0, fdbAdded: 5, fdbRemoved: 0, neighboursAdded: 5, neighboursRemoved: 0, errors: [], skipped: [], orphanVeths: [], durationMs: 4 }, "full");
    let ready = false;
    const server = await startMetricsServer({ host: "127.0.0.1", port: 0 }, registry, () => ready);
    servers.push(server);
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    expect(text).toContain('weft_build_info{version="0.1.0",node="h1"');
    expect(text).toContain('weft_endpoints{kind="remote"} 5');
    expect(text).toContain('weft_reconciles_total{result="ok"} 1');
    expect(text).toContain('weft_kernel_changes_total{object="fdb",op="add"} 5');
    expect(text).toContain(`weft_reconcile_duration_seconds_bucket{le="0.005",kind="full"} 1`);
    // Every metric follows the naming rules: weft_ prefix, counters end in _total.
    for (const line of text.split("\n").filter((l) => l.startsWith("# TYPE "))) {
      const [, , name, type] = line.split(" ");
      expect(name).toMatch(/^weft_/);
      if (type === "counter") expect(name).toMatch(/_total$/);
    }

    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    ready = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/nothing`)).status).toBe(404);
  });
});
