// compose/grafana: the dashboard and its provisioning files agree with each other, every panel's
// PromQL parses (promtool check rules, as recording rules), names only metrics the agent exposes,
// and returns data from a real Prometheus (Debian's) scraping an agent's exposition.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo, type Server } from "node:net";
import { createServer as createHttpServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { agentExposition } from "./agent-exposition.js";

const DIR = join(import.meta.dirname, "../../../compose/grafana");

interface Target {
  expr: string;
  refId: string;
  datasource: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
}

const dashboard = JSON.parse(readFileSync(join(DIR, "dashboards/weft-cluster.json"), "utf8")) as { uid: string; title: string; panels: Panel[] };
const panels = dashboard.panels.filter((p) => p.type !== "row");
const queries = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

const cleanup: Array<() => void> = [];
afterAll(() => {
  for (const c of cleanup.reverse()) c();
});

async function freePort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("Grafana dashboard", () => {
  it("is provisioned: the datasource's uid is the one every panel uses, the provider loads the dashboards' folder", () => {
    const datasources = parseYaml(readFileSync(join(DIR, "provisioning/datasources/weft-prometheus.yaml"), "utf8")) as { apiVersion: number; datasources: Array<Record<string, unknown>> };
    expect(datasources.apiVersion).toBe(1);
    expect(datasources.datasources).toEqual([expect.objectContaining({ uid: "weft-prometheus", type: "prometheus", access: "proxy", url: "http://prometheus:9090", isDefault: true })]);
    const providers = parseYaml(readFileSync(join(DIR, "provisioning/dashboards/weft.yaml"), "utf8")) as { apiVersion: number; providers: Array<Record<string, unknown>> };
    expect(providers.apiVersion).toBe(1);
    expect(providers.providers).toEqual([expect.objectContaining({ type: "file", orgId: 1, options: expect.objectContaining({ path: "/var/lib/grafana/dashboards/weft" }) })]);
    expect(dashboard.uid).toBe("weft-cluster");
    for (const panel of panels) {
      expect(panel.datasource, panel.title).toEqual({ type: "prometheus", uid: "weft-prometheus" });
      for (const t of panel.targets ?? []) expect(t.datasource, panel.title).toEqual(panel.datasource);
      expect(panel.description, panel.title).toBeTruthy();
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
    }
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
  });

  it("shows what the issue asks for at a glance", () => {
    const titles = panels.map((p) => p.title);
    for (const want of ["Nodes", "Peers by state, per agent", "Endpoints per node and network", "Reconcile latency (p50, p99)", "Kernel programming rate", "Gossip traffic", "Gossip rejections", "DNS queries", "Mesh: rejected connections and rule writes"]) {
      expect(titles).toContain(want);
    }
  });

  it("has PromQL that parses and names only metrics the agent exposes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-dash-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const rules = { groups: [{ name: "dashboard", rules: queries.map((q, i) => ({ record: `weft:dashboard_query_${i}`, expr: q.expr })) }] };
    writeFileSync(join(dir, "rules.yml"), JSON.stringify(rules));
    const run = spawnSync("promtool", ["check", "rules", join(dir, "rules.yml")], { encoding: "utf8" });
    expect(run.error).toBeUndefined();
    expect(run.status, run.stdout + run.stderr).toBe(0);

    const exposed = new Set((await agentExposition()).split("\n").filter((l) => l.startsWith("# TYPE ")).map((l) => l.split(" ")[2]!));
    const used = new Set(queries.flatMap((q) => q.expr.match(/weft_[a-z0-9_]+/g) ?? []));
    expect([...used].filter((name) => !exposed.has(name.replace(/_(bucket|count|sum)$/, "")))).toEqual([]);
  });

  it("returns data for every query from a real Prometheus scraping an agent", async () => {
    const exposition = await agentExposition();
    const http = createHttpServer((_req, res) => res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(exposition));
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    cleanup.push(() => http.close());
    const agentPort = (http.address() as AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), "weft-prom-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      join(dir, "prometheus.yml"),
      `global: { scrape_interval: 1s, evaluation_interval: 1s }\nrule_files: ["${join(import.meta.dirname, "../../../compose/prometheus/weft-alerts.yml")}"]\nscrape_configs:\n  - job_name: weft\n    static_configs: [{ targets: ["127.0.0.1:${agentPort}"] }]\n`,
    );
    const port = await freePort();
    const prometheus: ChildProcess = spawn("prometheus", [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: "ignore" });
    cleanup.push(() => prometheus.kill("SIGKILL"));
    const query = async (expr: string): Promise<unknown[]> => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await res.json()) as { status: string; data: { result: unknown[] } };
      return body.status === "success" ? body.data.result : [];
    };
    // Rates need two samples: wait until a rate over the scraped counters has one.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const ready = await query("rate(weft_process_cpu_seconds_total[5m])").catch(() => []);
      if (ready.length > 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const empty: string[] = [];
    for (const q of queries) if ((await query(q.expr)).length === 0) empty.push(`${q.panel}: ${q.expr}`);
    expect(empty).toEqual([]);
  }, 90_000);
});
