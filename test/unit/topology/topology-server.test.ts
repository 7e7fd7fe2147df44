import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { startTopologyServer, type TopologyServer } from "../../../agent/topology/topology-server.js";
import { TRACE_NOT_AVAILABLE, unavailableObserver } from "./unavailable-observer.js";
import { PAGE_SCRIPT } from "../../../agent/topology/page/page-script.js";
import type { TopologySnapshot } from "../../../agent/topology/topology-snapshot.js";
import type { ClusterObserver, TraceReport, TraceRequest } from "../../../agent/trace/trace-report.js";
import { WeftError } from "../../../proto/values/index.js";
import { fakeAgent, link } from "./fixtures.js";

const servers: TopologyServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

const REPORT: TraceReport = {
  from: { kind: "endpoint", name: "c1", ip: "10.40.0.10", host: "h1" },
  to: { kind: "endpoint", name: "c2", ip: "10.40.1.2", host: "h2" },
  proto: "icmp",
  hops: [{ host: "h1", layer: "veth", object: "weft-e1h1", expected: "up", actual: "up", ok: true }],
  ok: true,
  summary: "c1 reaches c2",
};

function fakeObserver(): ClusterObserver & { traced: TraceRequest[]; bytes: number } {
  const observer = {
    traced: [] as TraceRequest[],
    bytes: 1000,
    trace: async (req: TraceRequest) => {
      observer.traced.push(req);
      if (req.to === "nowhere") throw new WeftError("not-found", "to: no endpoint named nowhere", { field: "to" });
      return REPORT;
    },
    traffic: async () => ({ links: [link("h1", "endpoint", "weft-e1h1", (observer.bytes += 1000), { endpointId: "e1h1" })], unreachable: [] }),
  };
  return observer;
}

async function start(observer: ClusterObserver = fakeObserver(), extra: { maxEventClients?: number } = {}): Promise<string> {
  const server = await startTopologyServer({ listen: { host: "127.0.0.1", port: 0 }, self: { name: "h1", underlayIp: "10.251.0.1" }, agent: fakeAgent(), observer, intervalMs: 50, ...extra });
  servers.push(server);
  return `http://${server.address}`;
}

/** Snapshot events of a stream until one satisfies `until` (then it hangs up); all of them. */
async function readEventsUntil(url: string, until: (snapshot: TopologySnapshot) => boolean, onFirst?: () => void): Promise<TopologySnapshot[]> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const events: TopologySnapshot[] = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return events;
      text += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = text.indexOf("\n\n")) >= 0) {
        const frame = text.slice(0, end);
        text = text.slice(end + 2);
        const data = /^event: snapshot\ndata: (.*)$/s.exec(frame);
        if (!data) continue;
        const snapshot = JSON.parse(data[1]!) as TopologySnapshot;
        events.push(snapshot);
        if (events.length === 1) onFirst?.();
        if (until(snapshot)) return events;
      }
    }
  } finally {
    await reader.cancel();
  }
}

describe("topology server", () => {
  it("serves one self-contained page whose inline script and style the CSP allows by hash, and nothing from elsewhere", async () => {
    const base = await start();
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).toContain("connect-src 'self'");
    const html = await res.text();
    expect(html).toContain("<title>weft topology</title>");
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/);
    // The one absolute URL is the SVG namespace, a name rather than an address.
    expect(html.replaceAll("http://www.w3.org/2000/svg", "")).not.toMatch(/https?:\/\//);
  });

  it("the page's script is valid JavaScript", () => {
    expect(() => new Function(PAGE_SCRIPT)).not.toThrow();
  });

  it("answers /api/topology with the snapshot, rates appearing from the second reading", async () => {
    const base = await start();
    const first = (await (await fetch(`${base}/api/topology`)).json()) as TopologySnapshot;
    expect(first.hosts.map((h) => h.name)).toEqual(["h1", "h2", "h3"]);
    expect(first.endpoints.map((e) => e.name)).toEqual(["c3", "c1", "c2"]);
    expect(first.services[0]!.backends.map((b) => b.host)).toEqual(["h1", "h2"]);
    expect(first.links[0]!.rxBytesPerSec).toBeUndefined();
  });

  it("streams snapshots to the page, with rates once there are two readings", async () => {
    const base = await start();
    const events = await readEventsUntil(`${base}/api/events`, (e) => (e.links[0]?.rxBytesPerSec ?? 0) > 0);
    expect(events[0]!.node).toBe("h1");
    expect(events[0]!.links[0]!.rxBytesPerSec).toBeUndefined();
  });

  it("pushes a change at once, without waiting for the next full snapshot", async () => {
    const agent = fakeAgent();
    const server = await startTopologyServer({ listen: { host: "127.0.0.1", port: 0 }, self: { name: "h1", underlayIp: "10.251.0.1" }, agent, observer: fakeObserver(), intervalMs: 3_600_000 });
    servers.push(server);
    const events = await readEventsUntil(`http://${server.address}/api/events`, (e) => e.endpoints.length === 2, () => (agent.endpoints = agent.endpoints.slice(1)));
    expect(events[0]!.endpoints).toHaveLength(3);
  });

  it("limits the number of live streams", async () => {
    const base = await start(fakeObserver(), { maxEventClients: 1 });
    const first = await fetch(`${base}/api/events`);
    expect(first.status).toBe(200);
    const second = await fetch(`${base}/api/events`);
    expect(second.status).toBe(503);
    expect(((await second.json()) as { error: string }).error).toMatch(/too many live pages/);
    await first.body!.cancel();
  });

  it("runs a trace through the observer, and names the bad parameter with 400", async () => {
    const observer = fakeObserver();
    const base = await start(observer);
    const ok = await fetch(`${base}/api/trace?from=e1h1&to=e2h2`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual(REPORT);
    expect(observer.traced).toEqual([{ from: "e1h1", to: "e2h2" }]);

    const bad = await fetch(`${base}/api/trace?from=e1h1&to=e2h2&port=99999`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ field: "port", code: "invalid-argument" });
    const missing = await fetch(`${base}/api/trace?to=e2h2`);
    expect(await missing.json()).toMatchObject({ field: "from" });

    const unknown = await fetch(`${base}/api/trace?from=e1h1&to=nowhere`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ field: "to", error: "to: no endpoint named nowhere" });
    expect(observer.traced).toHaveLength(2);
  });

  it("without an observer, says the trace and the counters are not available", async () => {
    const base = await start(unavailableObserver);
    const res = await fetch(`${base}/api/trace?from=e1h1&to=e2h2`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toBe(TRACE_NOT_AVAILABLE);
    const snapshot = (await (await fetch(`${base}/api/topology`)).json()) as TopologySnapshot;
    expect(snapshot.traffic.error).toMatch(/not available/);
    expect(snapshot.hosts).toHaveLength(3);
  });

  it("is read-only: anything but GET gets 405", async () => {
    const base = await start();
    for (const method of ["POST", "PUT", "DELETE"]) {
      const res = await fetch(`${base}/api/topology`, { method });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe("GET");
    }
  });

  it("refuses a Host header that is a DNS name (a rebinding site reading the page)", async () => {
    const base = await start();
    const { port } = new URL(base);
    const status = await new Promise<number>((resolve, reject) => {
      request({ host: "127.0.0.1", port, path: "/api/topology", headers: { host: `evil.example:${port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on("error", reject)
        .end();
    });
    expect(status).toBe(421);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});
