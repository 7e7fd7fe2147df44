// Agent death as its peers see it: a weftd killed with SIGKILL is reported `suspect` within a few
// seconds while everything it owned stays programmed (a blip must not cut traffic). Removal after
// the etcd lease expires, and the return on restart, are covered by cluster.test.ts.
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UnaryClient } from "../../proto/grpc-binding.js";
import { ListEndpointsRequestSchema, ListPeersRequestSchema, WeftService, type Peer } from "../../proto/gen/weft/v1/api_pb.js";
import { labAgent, runPingChecks, type LabContainer, type LabHost } from "../../agent/lab/index.js";
import { pollUntil, vxlanFdbMacs, withLab, withLabApi, type TestLab } from "../helpers/lab.js";

// suspectAfterMs (3 s) plus a ping round (1 s) plus room for a busy machine.
const SUSPECT_DEADLINE_MS = 6000;
let lab: TestLab;

beforeAll(async () => {
  lab = await withLab({ hosts: 3, containers: 1 });
}, 180_000);

afterAll(async () => {
  await lab?.down();
}, 60_000);

function host(name: string): LabHost {
  return lab.state.hosts.find((h) => h.name === name)!;
}

function containerOn(hostName: string): LabContainer {
  return lab.state.containers.find((c) => c.host === hostName)!;
}

function withApi<T>(hostName: string, fn: (client: UnaryClient<typeof WeftService.method>) => Promise<T>): Promise<T> {
  return withLabApi(lab, hostName, fn);
}

async function peerOf(observer: string, peer: string): Promise<Peer | undefined> {
  const { peers } = await withApi(observer, (c) => c.listPeers(create(ListPeersRequestSchema, {}), { deadlineMs: 3000 }));
  return peers.find((p) => p.name === peer);
}

function fdbMacs(hostName: string): Set<string> {
  return vxlanFdbMacs(host(hostName).netns);
}

describe("agent failure", () => {
  it("a killed agent is suspect within a few seconds while its entries stay programmed and its container reachable", async () => {
    const victim = containerOn("h3");
    const mac = victim.mac.toLowerCase();
    for (const observer of ["h1", "h2"]) {
      expect((await peerOf(observer, "h3"))?.state).toBe("alive");
      expect(fdbMacs(observer).has(mac)).toBe(true);
    }

    await labAgent("kill", "h3", { prefix: lab.prefix });

    for (const observer of ["h1", "h2"]) {
      const seen = await pollUntil(() => peerOf(observer, "h3"), (p) => p?.state === "suspect", SUSPECT_DEADLINE_MS, 100);
      expect(seen?.state, `h3 as ${observer} sees it`).toBe("suspect");
      // Suspect, not gone: the peer still counts its endpoint and the kernel still has its entry.
      expect(seen?.endpoints).toBe(1);
      expect(fdbMacs(observer).has(mac)).toBe(true);
    }
    const { endpoints } = await withApi("h1", (c) => c.listEndpoints(create(ListEndpointsRequestSchema, {}), { deadlineMs: 3000 }));
    expect(endpoints.map((e) => e.id)).toContain(victim.endpointId);
    // The dead agent's kernel state and the survivors' entries still carry traffic both ways.
    const checks = await runPingChecks([containerOn("h1"), victim]);
    expect(checks).toHaveLength(2);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
  }, 60_000);

  it("an agent killed and restarted before its lease expires never loses its entries on its peers", async () => {
    const victim = containerOn("h2");
    const mac = victim.mac.toLowerCase();
    const h1Mac = containerOn("h1").mac.toLowerCase();
    expect(fdbMacs("h1").has(mac)).toBe(true);

    // Sample h1's FDB for h2's MAC every 100 ms from the kill until h2 is back and alive for h1.
    let sampling = true;
    const samples: boolean[] = [];
    const sampler = (async () => {
      while (sampling) {
        samples.push(fdbMacs("h1").has(mac));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    let killedAt = 0;
    try {
      killedAt = Date.now();
      await labAgent("kill", "h2", { prefix: lab.prefix });
      const started = await labAgent("start", "h2", { prefix: lab.prefix });
      lab.state.hosts = lab.state.hosts.map((h) => (h.name === "h2" ? started : h));
      const back = await pollUntil(() => peerOf("h1", "h2"), (p) => p?.state === "alive" && p.lastSeenAgoMs >= 0n && p.lastSeenAgoMs < 1000n, 15_000, 100);
      expect(back?.state).toBe("alive");
      // The restarted agent learns the others' entries again.
      const relearned = await pollUntil(async () => fdbMacs("h2"), (macs) => macs.has(h1Mac), 15_000, 100);
      expect(relearned.has(h1Mac)).toBe(true);
      // Watch h1 for at least 2 s from the kill, however quickly h2 came back.
      await new Promise((r) => setTimeout(r, Math.max(0, 2000 - (Date.now() - killedAt))));
    } finally {
      sampling = false;
      await sampler;
    }
    expect(samples.length).toBeGreaterThanOrEqual(10);
    expect(samples.filter((present) => !present)).toEqual([]);
    const checks = await runPingChecks([containerOn("h1"), victim]);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
  }, 90_000);
});
