// `weft lab up --monitoring`, the way a user runs it: Prometheus (Debian's) comes up in the lab,
// scrapes every agent, `lab status --json` names it, every panel query of compose/grafana's dashboard
// returns data from it, and `lab down` stops it and removes its data. Series that only exist once
// something went wrong (gossip rejections, invalid etcd values) are made to exist by doing it.
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { labDir, labDown } from "../../agent/lab/index.js";
import { isAlive } from "../../agent/lab/detached-process.js";
import { runShots } from "../helpers/gossip-peer.js";
import { pollUntil, uniqueLabPrefix } from "../helpers/lab.js";

const run = promisify(execFile);
const CLI = new URL("../../agent/bin/weft.js", import.meta.url).pathname;
const DASHBOARD = join(import.meta.dirname, "../../compose/grafana/dashboards/weft-cluster.json");
const prefix = uniqueLabPrefix();

interface Panel {
  type: string;
  title: string;
  targets?: Array<{ expr: string }>;
}
const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as { panels: Panel[] };
const queries = dashboard.panels.filter((p) => p.type !== "row").flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

afterAll(async () => {
  await labDown({ prefix });
}, 60_000);

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

/** An instant query, sent from the world namespace (where Prometheus listens); [] on any failure. */
async function query(netns: string, url: string, expr: string): Promise<Sample[]> {
  return (await queryStatus(netns, url, expr)).result;
}

async function queryStatus(netns: string, url: string, expr: string): Promise<{ ok: boolean; result: Sample[] }> {
  try {
    const { stdout } = await run("ip", ["netns", "exec", netns, "curl", "-sf", "--max-time", "5", "--data-urlencode", `query=${expr}`, `${url}/api/v1/query`], { timeout: 10_000 });
    const body = JSON.parse(stdout) as { status: string; data: { result: Sample[] } };
    return body.status === "success" ? { ok: true, result: body.data.result } : { ok: false, result: [] };
  } catch {
    return { ok: false, result: [] };
  }
}

describe("weft lab up --monitoring", () => {
  it("scrapes every agent and answers every panel query of the dashboard", async () => {
    expect(queries.length).toBeGreaterThan(20);
    const up = await run("node", [CLI, "--json", "lab", "up", "--hosts", "3", "--containers", "1", "--monitoring", "--prefix", prefix], { timeout: 180_000 });
    expect(up.stderr).toContain("Prometheus at http://10.251.0.253:9090");
    const started = JSON.parse(up.stdout) as { prometheus?: { url: string; netns: string; pid: number }; hosts: Array<{ name: string; underlayIp: string }> };
    expect(started.prometheus).toEqual({ url: "http://10.251.0.253:9090", netns: `${prefix}-world`, pid: expect.any(Number) });

    const status = JSON.parse((await run("node", [CLI, "--json", "lab", "status", "--prefix", prefix])).stdout) as { prometheus?: { url: string; netns: string; pid: number } };
    expect(status.prometheus).toEqual(started.prometheus);
    const { url, netns, pid } = status.prometheus!;

    // Every agent scraped: up == 1 for each of the lab's metrics addresses.
    const wanted = started.hosts.map((h) => `${h.underlayIp}:9464`).sort();
    const scraped = await pollUntil(
      async () => (await query(netns, url, 'up{job="weft"} == 1')).map((s) => s.metric.instance!).sort(),
      (instances) => instances.join() === wanted.join(),
      60_000,
      500,
    );
    expect(scraped).toEqual(wanted);

    // Traffic after the first scrape (pings, egress, names through weft's DNS, the mesh), so that the
    // rates over counters that only move with traffic have two different samples.
    await run("node", [CLI, "lab", "check", "--prefix", prefix], { timeout: 120_000 });
    // What the rejection panels count: a garbage gossip frame to h1, an invalid node record in etcd.
    const underlay = `${prefix}-ul`;
    await runShots(underlay, [{ label: "garbage-frame", target: `${started.hosts[0]!.underlayIp}:7946`, garbageFrame: true }]);
    await run("ip", ["netns", "exec", underlay, "etcdctl", "--endpoints=http://10.251.0.254:2379", "put", "/weft/v1/nodes/weftbogus", "not a node record"]);

    const emptyQueries = async (): Promise<string[]> => {
      const empty: string[] = [];
      for (const q of queries) {
        const { ok, result } = await queryStatus(netns, url, q.expr);
        if (!ok || result.length === 0) empty.push(`${q.panel}: ${q.expr}`);
      }
      return empty;
    };
    expect(await pollUntil(emptyQueries, (empty) => empty.length === 0, 90_000, 1000)).toEqual([]);

    await run("node", [CLI, "lab", "down", "--prefix", prefix], { timeout: 60_000 });
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(labDir(prefix))).toBe(false);
    expect(execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).split("\n").filter((l) => l.startsWith(`${prefix}-`))).toEqual([]);
  }, 420_000);
});
