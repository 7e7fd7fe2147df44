// compose/prometheus: the alert rules pass `promtool check rules` and their unit tests (`promtool test
// rules`), the server configuration passes `promtool check config`, and every weft_ metric the rules
// use is one the agent exposes (a renamed metric would otherwise silence an alert for good).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { agentExposition } from "./agent-exposition.js";

const DIR = join(import.meta.dirname, "../../../compose/prometheus");

function promtool(...args: string[]): { status: number | null; out: string } {
  const run = spawnSync("promtool", args, { cwd: DIR, encoding: "utf8" });
  expect(run.error).toBeUndefined();
  return { status: run.status, out: `${run.stdout}${run.stderr}` };
}

/** Metric family names in an exposition, from its # TYPE lines. */
export function families(exposition: string): Set<string> {
  return new Set(exposition.split("\n").filter((l) => l.startsWith("# TYPE ")).map((l) => l.split(" ")[2]!));
}

describe("Prometheus rules and configuration", () => {
  it("passes promtool check rules", () => {
    const run = promtool("check", "rules", "weft-alerts.yml");
    expect(run, run.out).toMatchObject({ status: 0 });
    expect(run.out).toContain("SUCCESS: 7 rules found");
  });

  it("passes its unit tests (promtool test rules)", () => {
    const run = promtool("test", "rules", "weft-alerts.test.yml");
    expect(run, run.out).toMatchObject({ status: 0 });
    expect(run.out).toContain("SUCCESS");
  });

  it("passes promtool check config", () => {
    const run = promtool("check", "config", "prometheus.yml");
    expect(run, run.out).toMatchObject({ status: 0 });
  });

  it("uses only metrics the agent exposes", async () => {
    const exposed = families(await agentExposition());
    const used = new Set(readFileSync(join(DIR, "weft-alerts.yml"), "utf8").match(/weft_[a-z0-9_]+/g) ?? []);
    expect(used.size).toBeGreaterThan(5);
    const missing = [...used].filter((name) => !exposed.has(name.replace(/_(bucket|count|sum)$/, "")));
    expect(missing).toEqual([]);
  });
});
