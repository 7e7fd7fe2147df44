// The lab's prometheus.yml: every agent under job "weft" (what the alert rules and the dashboard
// expect), the alert rules loaded, and a file Prometheus itself accepts (promtool check config).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { describe, expect, it } from "vitest";
import { ALERT_RULES_FILE, labPrometheusConfig, labPrometheusUrl } from "../../../agent/lab/lab-prometheus.js";
import { LabError } from "../../../agent/lab/lab-error.js";

const AGENTS = ["10.251.0.1:9464", "10.251.0.2:9464", "10.251.0.3:9464"];

describe("the lab's Prometheus configuration", () => {
  it("scrapes every agent under job weft and loads compose/prometheus's alert rules", () => {
    const config = parseYaml(labPrometheusConfig(AGENTS, ALERT_RULES_FILE)) as {
      rule_files: string[];
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
    };
    expect(config.rule_files).toEqual([ALERT_RULES_FILE]);
    expect(ALERT_RULES_FILE.endsWith("compose/prometheus/weft-alerts.yml")).toBe(true);
    expect(config.scrape_configs.find((c) => c.job_name === "weft")?.static_configs).toEqual([{ targets: AGENTS }]);
    expect(labPrometheusUrl()).toBe("http://10.251.0.253:9090");
  });

  it("passes promtool check config, rules included", () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-lab-prom-"));
    try {
      writeFileSync(join(dir, "prometheus.yml"), labPrometheusConfig(AGENTS, ALERT_RULES_FILE));
      const run = spawnSync("promtool", ["check", "config", join(dir, "prometheus.yml")], { encoding: "utf8" });
      expect(run.error).toBeUndefined();
      expect(run.status, run.stdout + run.stderr).toBe(0);
      expect(run.stdout + run.stderr).toMatch(/SUCCESS: \d+ rules found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a lab without agents", () => {
    expect(() => labPrometheusConfig([], ALERT_RULES_FILE)).toThrow(LabError);
  });
});
