// A restarting agent never removes what its peers still hold: kill -9 of h2's agent and a restart,
// while containers on h1 and h2 ping each other every 10 ms, loses no ping, 5 runs in a row (counted
// with ping's own summary). The restarted agent's first full reconciles only add and repair until its
// gossip has synced, and it re-creates none of its own devices (their ifindex stays the same).
import { execFileSync } from "node:child_process";
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labAgent, type LabContainer } from "../../agent/lab/index.js";
import { ListPeersRequestSchema } from "../../proto/gen/weft/v1/api_pb.js";
import { pingSeries, pollUntil, vxlanFdbMacs, withLab, withLabApi, type TestLab } from "../helpers/lab.js";

const RUNS = 5;
// 25 s of pings at 10 ms: covers the kill, the restart (through tsx when dist/ is older) and the sync.
const PING_COUNT = 2500;
let lab: TestLab;

beforeAll(async () => {
  lab = await withLab({ hosts: 2, containers: 1 });
}, 180_000);

afterAll(async () => {
  await lab?.down();
}, 60_000);

function containerOn(host: string): LabContainer {
  return lab.state.containers.find((c) => c.host === host)!;
}

function netnsOf(host: string): string {
  return lab.state.hosts.find((h) => h.name === host)!.netns;
}

/** ifindex of every weft link in a host namespace: a re-created device gets a new one. */
function weftLinks(netns: string): Record<string, number> {
  const links = JSON.parse(execFileSync("ip", ["-n", netns, "-j", "link", "show"], { encoding: "utf8" })) as Array<{ ifname: string; ifindex: number }>;
  return Object.fromEntries(links.filter((l) => l.ifname.startsWith("weft")).map((l) => [l.ifname, l.ifindex]));
}

async function h2AliveFor(observer: string): Promise<boolean> {
  const { peers } = await withLabApi(lab, observer, (c) => c.listPeers(create(ListPeersRequestSchema, {}), { deadlineMs: 3000 }));
  const h2 = peers.find((p) => p.name === "h2");
  return h2?.state === "alive" && h2.lastSeenAgoMs >= 0n && h2.lastSeenAgoMs < 1000n;
}

describe("agent restart without flap", () => {
  it(`kill -9 and restart of an agent loses no 10 ms ping in either direction, ${RUNS} runs in a row`, async () => {
    const c1 = containerOn("h1");
    const c2 = containerOn("h2");
    for (let run = 1; run <= RUNS; run++) {
      const linksBefore = weftLinks(netnsOf("h2"));
      const there = pingSeries(c1.netns, c2.ip, { intervalMs: 10, count: PING_COUNT });
      const back = pingSeries(c2.netns, c1.ip, { intervalMs: 10, count: PING_COUNT });
      const startedAt = Date.now();
      try {
        await new Promise((r) => setTimeout(r, 1000));
        await labAgent("kill", "h2", { prefix: lab.prefix });
        const started = await labAgent("start", "h2", { prefix: lab.prefix });
        lab.state.hosts = lab.state.hosts.map((h) => (h.name === "h2" ? started : h));
        expect(await pollUntil(() => h2AliveFor("h1"), Boolean, 15_000)).toBe(true);
        const relearned = await pollUntil(async () => vxlanFdbMacs(netnsOf("h2")), (macs) => macs.has(c1.mac.toLowerCase()), 15_000);
        expect(relearned.has(c1.mac.toLowerCase())).toBe(true);
        // The pings must outlast the restart and the first sync, or they prove nothing.
        expect(Date.now() - startedAt, "the restart took longer than the ping series").toBeLessThan(PING_COUNT * 10 - 3000);
      } catch (err) {
        there.stop();
        back.stop();
        throw err;
      }
      const [toH2, toH1] = await Promise.all([there.done, back.done]);
      expect({ run, lost: toH2.transmitted - toH2.received, summary: toH2.summary }).toEqual({ run, lost: 0, summary: toH2.summary });
      expect({ run, lost: toH1.transmitted - toH1.received, summary: toH1.summary }).toEqual({ run, lost: 0, summary: toH1.summary });
      // The restarted agent's own side: no device re-created.
      expect(weftLinks(netnsOf("h2"))).toEqual(linksBefore);
    }
  }, RUNS * 60_000);
});
