// /metrics as weftd builds it (process metrics plus every part's series, each populated) must pass
// `promtool check metrics`, Prometheus' own linter (Debian's prometheus package ships promtool).
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { AgentMetrics, createMetricsRegistry } from "../../../agent/metrics.js";
import { agentExposition } from "./agent-exposition.js";

describe("/metrics exposition", () => {
  it("passes promtool check metrics with no finding", async () => {
    const text = await agentExposition();
    const run = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(run.error).toBeUndefined();
    expect({ status: run.status, out: `${run.stdout}${run.stderr}` }).toEqual({ status: 0, out: "" });
  });

  it("has weft_build_info, process metrics under weft_, and no gauge ending in _total", async () => {
    const text = await agentExposition();
    expect(text).toMatch(/^weft_build_info\{version="1\.2\.3",node="n1",nodejs="[^"]+"\} 1$/m);
    expect(text).toContain("# TYPE weft_process_cpu_seconds_total counter");
    expect(text).toContain("# TYPE weft_nodejs_active_handles gauge");
    for (const line of text.split("\n").filter((l) => l.startsWith("# TYPE "))) {
      const [, , name, type] = line.split(" ");
      expect(name).toMatch(/^weft_[a-z0-9_]+$/);
      expect({ name, total: name!.endsWith("_total") }).toEqual({ name, total: type === "counter" });
      // Base units only: seconds and bytes, never milliseconds or kilobytes.
      expect(name).not.toMatch(/_(ms|milliseconds|microseconds|kb|kilobytes|mb|megabytes)(_|$)/);
    }
  });

  it("counts this node's endpoints per network, dropping a network's series when its last endpoint goes", async () => {
    const registry = createMetricsRegistry();
    const agent = new AgentMetrics(registry, "n1", "1.2.3");
    agent.setLocalEndpointsByNetwork([{ network: "blue" }, { network: "blue" }, { network: "red" }]);
    let text = await registry.metrics();
    expect(text).toContain('weft_network_local_endpoints{network="blue"} 2');
    expect(text).toContain('weft_network_local_endpoints{network="red"} 1');
    agent.setLocalEndpointsByNetwork([{ network: "blue" }]);
    text = await registry.metrics();
    expect(text).toContain('weft_network_local_endpoints{network="blue"} 1');
    expect(text).not.toContain('network="red"');
  });

  it("reports the objects the last full reconcile could not program", async () => {
    const registry = createMetricsRegistry();
    const agent = new AgentMetrics(registry, "n1", "1.2.3");
    const base = { linksCreated: 0, linksDeleted: 0, fdbAdded: 0, fdbRemoved: 0, neighboursAdded: 0, neighboursRemoved: 0, orphanVeths: [], durationMs: 1 };
    agent.recordReconcile({ ...base, errors: [{ object: "fdb x", message: "EINVAL" }], skipped: [] }, "full");
    expect(await registry.metrics()).toContain("weft_kernel_unapplied_entries 1");
    agent.recordReconcile({ ...base, errors: [], skipped: [] }, "incremental");
    expect(await registry.metrics()).toContain("weft_kernel_unapplied_entries 1");
    agent.recordReconcile({ ...base, errors: [], skipped: [] }, "full");
    expect(await registry.metrics()).toContain("weft_kernel_unapplied_entries 0");
  });
});
