import { describe, expect, it } from "vitest";
import { TopologyFeed } from "../../../agent/topology/topology-feed.js";
import type { ClusterObserver, LinkTraffic } from "../../../agent/trace/trace-report.js";
import { fakeAgent, link } from "./fixtures.js";

const SELF = { name: "h1", underlayIp: "10.251.0.1" };

/** An observer whose counters grow by 1000 bytes per reading; `fail` makes the next readings fail. */
function countingObserver(): ClusterObserver & { reads: number; fail: boolean } {
  const observer = {
    reads: 0,
    fail: false,
    trace: () => Promise.reject(new Error("not used")),
    traffic: async (): Promise<{ links: LinkTraffic[]; unreachable: string[] }> => {
      observer.reads += 1;
      if (observer.fail) throw new Error("h2 did not answer");
      return { links: [link("h1", "vxlan", "weft-vx42", observer.reads * 1000)], unreachable: [] };
    },
  };
  return observer;
}

describe("topology feed", () => {
  it("reads the counters at most once per interval however many ask, and computes rates between readings", async () => {
    let now = 10_000;
    const observer = countingObserver();
    const feed = new TopologyFeed({ self: SELF, agent: fakeAgent(), observer, now: () => now, minTrafficIntervalMs: 1000 });
    const [a, b] = await Promise.all([feed.snapshot(), feed.snapshot()]);
    now += 500;
    const c = await feed.snapshot();
    expect(observer.reads).toBe(1);
    expect([a, b, c].every((s) => s.links[0]!.rxBytes === 1000 && s.links[0]!.rxBytesPerSec === undefined)).toBe(true);
    now += 1500;
    const d = await feed.snapshot();
    expect(observer.reads).toBe(2);
    expect(d.links[0]!.rxBytesPerSec).toBe(500);
  });

  it("says why when the counters fail or do not come, and rates resume against the last good reading", async () => {
    let now = 0;
    const observer = countingObserver();
    const feed = new TopologyFeed({ self: SELF, agent: fakeAgent(), observer, now: () => now, minTrafficIntervalMs: 1000 });
    await feed.snapshot();
    observer.fail = true;
    now += 1000;
    const failed = await feed.snapshot();
    expect(failed.links).toEqual([]);
    expect(failed.traffic.error).toBe("h2 did not answer");
    expect(failed.hosts).toHaveLength(3);
    observer.fail = false;
    now += 1000;
    const back = await feed.snapshot();
    // 3000 bytes (third reading) against 1000 (the first), over 2 s.
    expect(back.links[0]!.rxBytesPerSec).toBe(1000);

    const silent = new TopologyFeed({ self: SELF, agent: fakeAgent(), observer: { trace: observer.trace, traffic: () => new Promise(() => {}) }, trafficTimeoutMs: 20 });
    expect((await silent.snapshot()).traffic.error).toBe("traffic counters did not arrive within 20 ms");
  });

  it("gives the structure, and the state with the last counters, without asking for new ones", async () => {
    const observer = countingObserver();
    const feed = new TopologyFeed({ self: SELF, agent: fakeAgent(), observer });
    const structure = feed.structure();
    expect(structure.endpoints).toHaveLength(3);
    expect(structure.links).toEqual([]);
    expect(feed.current().traffic.error).toBe("traffic counters not read yet");
    expect(observer.reads).toBe(0);
    await feed.snapshot();
    expect(feed.current().links).toHaveLength(1);
    expect(feed.structure().links).toEqual([]);
    expect(observer.reads).toBe(1);
  });
});
