import * as prom from "prom-client";
import { describe, expect, it } from "vitest";
import { MeshMetrics } from "../../../agent/services/mesh-metrics.js";

describe("MeshMetrics", () => {
  it("counts rule applies by kind with their durations, and copies the kernel's rejected count at each scrape", async () => {
    const registry = new prom.Registry();
    let rejected = 3;
    const metrics = new MeshMetrics(registry, async () => rejected);
    metrics.recordRuleApply(12, "full");
    metrics.recordRuleApply(2, "incremental");
    metrics.recordRuleApply(3, "incremental");
    const text = await registry.metrics();
    expect(text).toContain('weft_mesh_rule_applies_total{kind="full"} 1');
    expect(text).toContain('weft_mesh_rule_applies_total{kind="incremental"} 2');
    expect(text).toContain('weft_mesh_rule_apply_duration_seconds_count{kind="incremental"} 2');
    expect(text).toContain("weft_mesh_rejected_connections_total 3");
    rejected = 10;
    expect(await registry.metrics()).toContain("weft_mesh_rejected_connections_total 10");
  });

  it("keeps the last count when the kernel cannot be read", async () => {
    const registry = new prom.Registry();
    let fail = false;
    new MeshMetrics(registry, async () => {
      if (fail) throw new Error("nft: no such counter");
      return 5;
    });
    expect(await registry.metrics()).toContain("weft_mesh_rejected_connections_total 5");
    fail = true;
    expect(await registry.metrics()).toContain("weft_mesh_rejected_connections_total 5");
  });
});
