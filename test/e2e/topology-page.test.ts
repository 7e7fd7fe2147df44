// The live topology page in headless Chromium (Debian's chromium, driven by puppeteer-core). First
// against a fake cluster, so every part the page draws is pinned down (rates, a trace's hops with the
// broken one highlighted); then against a real lab brought up by the CLI with `--topology`: the hosts
// and containers it shows are the ones `weft lab status --json` lists, a trace runs from two clicked
// endpoints, the page follows a peer going away, and a screenshot is saved for the README.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labAgent, labDown } from "../../agent/lab/index.js";
import { startTopologyServer, type TopologyServer } from "../../agent/topology/index.js";
import type { ClusterObserver, TraceReport } from "../../agent/trace/trace-report.js";
import { uniqueLabPrefix } from "../helpers/lab.js";
import { fakeAgent, link } from "../unit/topology/fixtures.js";

const run = promisify(execFile);
const CLI = new URL("../../agent/bin/weft.js", import.meta.url).pathname;
// The README's screenshot is agent/topology/topology.png: WEFT_TOPOLOGY_SCREENSHOT=$PWD/agent/topology/topology.png renews it.
const SCREENSHOT = process.env.WEFT_TOPOLOGY_SCREENSHOT ?? join(tmpdir(), `weft-topology-${process.pid}.png`);
const CHROMIUM = "/usr/bin/chromium";

// What the functions run in the page use of the DOM (this project compiles without the DOM library).
interface PageElement {
  getAttribute(name: string): string | null;
  textContent: string | null;
}
declare const document: { querySelectorAll(selector: string): Iterable<PageElement>; querySelector(selector: string): PageElement | null };

interface StatusJson {
  hosts: { name: string; underlayIp: string }[];
  containers: { name: string; host: string; ip: string; endpointId: string }[];
  topology?: { url: string; host: string; pid: number };
}

let browser: Browser | undefined;
let page: Page;

beforeAll(async () => {
  browser = await puppeteer.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage"] });
  page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

/** Every host box and endpoint button the page shows. */
async function shown(): Promise<{ hosts: { name: string; ip: string; state: string }[]; endpoints: { id: string; host: string; ip: string }[] }> {
  return page.evaluate(() => ({
    hosts: [...document.querySelectorAll("[data-host][data-state]")].map((el) => ({ name: el.getAttribute("data-host")!, ip: el.getAttribute("data-underlay-ip")!, state: el.getAttribute("data-state")! })),
    endpoints: [...document.querySelectorAll("button[data-endpoint-id]")].map((el) => ({ id: el.getAttribute("data-endpoint-id")!, host: el.getAttribute("data-host")!, ip: el.getAttribute("data-ip")! })),
  }));
}

describe("the page, against a fake cluster", () => {
  const broken: TraceReport = {
    from: { kind: "endpoint", name: "c1", ip: "10.40.0.10", host: "h1" },
    to: { kind: "endpoint", name: "c2", ip: "10.40.1.2", host: "h2" },
    proto: "icmp",
    hops: [
      { host: "h1", layer: "veth", object: "weft-e1h1", expected: "up", actual: "up", ok: true, counters: { packets: 12, bytes: 1000 } },
      { host: "h1", layer: "fdb", object: "fdb 02:42:0a:28:01:02 dst 10.251.0.2 dev weft-vx42", expected: "present", actual: "missing", ok: false, problem: "h1 has no FDB entry for c2", cause: "removed by hand" },
      { host: "h2", layer: "veth", object: "weft-e2h2", expected: "up", actual: "up", ok: true },
    ],
    ok: false,
    brokenAt: 1,
    summary: "c1 -> c2 stops at h1: no FDB entry for c2",
  };
  let bytes = 0;
  const observer: ClusterObserver = {
    trace: async () => broken,
    traffic: async () => ({ links: [link("h1", "endpoint", "weft-e1h1", (bytes += 2000), { endpointId: "e1h1" }), link("h1", "peer", "weft-vx42", bytes, { peer: "h2" })], unreachable: [] }),
  };
  let server: TopologyServer;
  beforeAll(async () => {
    server = await startTopologyServer({ listen: { host: "127.0.0.1", port: 0 }, self: { name: "h1", underlayIp: "10.251.0.1" }, agent: fakeAgent(), observer, intervalMs: 200 });
  });
  afterAll(() => server.close());

  it("draws every host and endpoint, and each link's rate once there are two readings", async () => {
    await page.goto(`http://${server.address}/`, { waitUntil: "domcontentloaded" });
    await page.waitForSelector('button[data-endpoint-id="e2h2"]');
    expect((await shown()).hosts.map((h) => [h.name, h.state])).toEqual([["h1", "self"], ["h2", "alive"], ["h3", "suspect"]]);
    await page.waitForFunction(() => /^rx [0-9.]+ kB\/s/.test(document.querySelector('button[data-endpoint-id="e1h1"] [data-link-key]')?.textContent ?? ""), { timeout: 30_000 });
    expect(await page.$eval('line[data-from="h1"][data-to="h3"]', (el) => el.getAttribute("data-state"))).toBe("suspect");
    expect(await page.$$eval('[data-service="web"] li[data-backend-endpoint-id]', (items) => items.map((i) => i.getAttribute("data-host")))).toEqual(["h1", "h2"]);
  });

  it("shows a trace's hops with the broken one highlighted and named", async () => {
    await page.click('button[data-endpoint-id="e1h1"]');
    await page.click('button[data-endpoint-id="e2h2"]');
    await page.waitForSelector('#trace[data-trace-state="done"]');
    const rows = await page.$$eval("tr.hop", (trs) => trs.map((r) => ({ layer: r.getAttribute("data-layer"), broken: r.getAttribute("data-broken"), text: r.textContent })));
    expect(rows.map((r) => [r.layer, r.broken])).toEqual([["veth", null], ["fdb", "true"], ["veth", null]]);
    expect(rows[1]!.text).toContain("h1 has no FDB entry for c2 (likely cause: removed by hand)");
    expect(await page.$eval("#trace .summary", (el) => el.textContent)).toBe(broken.summary);
  });
});

describe("the live topology page of a lab", () => {
  const prefix = uniqueLabPrefix();
  let status: StatusJson;
  beforeAll(async () => {
    await run(process.execPath, [CLI, "lab", "up", "--prefix", prefix, "--hosts", "2", "--containers", "2", "--topology"], { timeout: 240_000, maxBuffer: 1 << 24 });
    status = JSON.parse((await run(process.execPath, [CLI, "--json", "lab", "status", "--prefix", prefix])).stdout) as StatusJson;
  }, 300_000);
  afterAll(() => labDown({ prefix }), 120_000);

  it("is h1's, reachable from this machine's loopback, and lab status prints its URL", async () => {
    expect(status.topology?.url).toMatch(/^http:\/\/127\.0\.0\.1:[0-9]+\/$/);
    expect(status.topology?.host).toBe("h1");
    const text = (await run(process.execPath, [CLI, "lab", "status", "--prefix", prefix])).stdout;
    expect(text).toContain(`topology page: ${status.topology!.url}`);
  });

  it("shows the hosts and containers weft lab status lists", async () => {
    await page.goto(status.topology!.url, { waitUntil: "domcontentloaded" });
    const want = status.containers.map((c) => c.endpointId).sort();
    await page.waitForFunction(
      (ids: string[]) => ids.every((id) => document.querySelector(`button[data-endpoint-id="${id}"]`) !== null),
      { timeout: 30_000 },
      want,
    );
    const page_ = await shown();
    expect(page_.hosts.map((h) => [h.name, h.ip]).sort()).toEqual(status.hosts.map((h) => [h.name, h.underlayIp]).sort());
    expect(page_.hosts.find((h) => h.name === "h1")!.state).toBe("self");
    for (const c of status.containers) {
      expect(page_.endpoints.find((e) => e.id === c.endpointId)).toEqual({ id: c.endpointId, host: c.host, ip: c.ip });
    }
    expect(await page.$eval("#status", (el) => el.getAttribute("data-stream-state"))).toBe("live");
  });

  it("shows each link's traffic", async () => {
    const note = await page.$eval("#traffic-note", (el) => el.textContent ?? "");
    expect(note).toBe("");
    // Rates come from the second reading of the counters on.
    await page.waitForFunction(() => [...document.querySelectorAll("button[data-endpoint-id] [data-link-key]")].some((el) => /^rx [0-9]/.test(el.textContent ?? "")), { timeout: 30_000 });
  });

  it("traces between two clicked endpoints on different hosts and shows the hops", async () => {
    const from = status.containers.find((c) => c.host === "h1")!;
    const to = status.containers.find((c) => c.host === "h2")!;
    await page.click(`button[data-endpoint-id="${from.endpointId}"]`);
    await page.click(`button[data-endpoint-id="${to.endpointId}"]`);
    expect(await page.$eval(`button[data-endpoint-id="${from.endpointId}"]`, (el) => el.getAttribute("data-picked"))).toBe("from");
    await page.waitForSelector('#trace[data-trace-state="done"], #trace[data-trace-state="error"]', { timeout: 60_000 });
    const traceState = await page.$eval("#trace", (el) => el.getAttribute("data-trace-state"));
    expect(traceState, await page.$eval("#trace", (el) => el.textContent ?? "")).toBe("done");
    const hops = await page.$$eval("tr.hop", (rows) => rows.map((r) => ({ host: r.children[1]!.textContent, layer: r.getAttribute("data-layer"), ok: r.getAttribute("data-ok"), broken: r.getAttribute("data-broken") })));
    expect(hops.length).toBeGreaterThan(2);
    expect(new Set(hops.map((h) => h.host))).toEqual(new Set(["h1", "h2"]));
    // A healthy lab: every hop as expected, none highlighted.
    expect(await page.$eval("#trace", (el) => el.getAttribute("data-trace-ok"))).toBe("true");
    expect(hops.filter((h) => h.broken === "true")).toEqual([]);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it("follows the cluster live: a stopped agent's host leaves the alive state", async () => {
    await labAgent("stop", "h2", { prefix });
    await page.waitForFunction(() => {
      const state = document.querySelector('[data-host="h2"][data-state]')?.getAttribute("data-state");
      return state !== undefined && state !== "alive";
    }, { timeout: 60_000 });
    expect(["suspect", "dead"]).toContain((await shown()).hosts.find((h) => h.name === "h2")?.state);
  });
});
