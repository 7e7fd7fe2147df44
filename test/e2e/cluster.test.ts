// A 3-host cluster in one lab (3 hosts x 2 containers), exercised through the agents' API and
// observed in the kernel: reachability, detach, agent restart and agent death.
import { create } from "@bufbuild/protobuf";
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UnaryClient } from "../../proto/grpc-binding.js";
import { DetachEndpointRequestSchema, InspectNetworkRequestSchema, WeftService } from "../../proto/gen/weft/v1/api_pb.js";
import { labAgent, labCheck, runPingChecks, type LabContainer, type LabHost } from "../../agent/lab/index.js";
import { firstNetworkPings, LAB_VXLAN_DEVICE, pollUntil, vxlanFdbMacs, withLab, withLabApi, type TestLab } from "../helpers/lab.js";

let lab: TestLab;

beforeAll(async () => {
  lab = await withLab({ hosts: 3, containers: 2 });
}, 180_000);

afterAll(async () => {
  await lab?.down();
}, 60_000);

function host(name: string): LabHost {
  return lab.state.hosts.find((h) => h.name === name)!;
}

function containersOn(hostName: string): LabContainer[] {
  return lab.state.containers.filter((c) => c.host === hostName);
}

function withApi<T>(hostName: string, fn: (client: UnaryClient<typeof WeftService.method>) => Promise<T>): Promise<T> {
  return withLabApi(lab, hostName, fn);
}

function kernelJson(netns: string, command: string[]): unknown[] {
  try {
    const out = execFileSync("ip", ["netns", "exec", netns, ...command], { encoding: "utf8", timeout: 5000, stdio: ["ignore", "pipe", "pipe"] });
    return out.trim() === "" ? [] : (JSON.parse(out) as unknown[]);
  } catch {
    return []; // the device does not exist (yet, or any more): no entries
  }
}

async function fdbMacs(hostName: string): Promise<Set<string>> {
  return vxlanFdbMacs(host(hostName).netns);
}

/** "ip lladdr" of the neighbour entries on the VXLAN device in a host's namespace. */
async function neighbours(hostName: string): Promise<Set<string>> {
  const entries = kernelJson(host(hostName).netns, ["ip", "-j", "neigh", "show", "dev", LAB_VXLAN_DEVICE]) as { dst?: string; lladdr?: string }[];
  return new Set(entries.map((e) => `${e.dst} ${e.lladdr?.toLowerCase()}`));
}

async function slicesOf(): Promise<Map<string, string>> {
  const res = await withApi("h1", (c) => c.inspectNetwork(create(InspectNetworkRequestSchema, { name: "weft-lab" }), { deadlineMs: 5000 }));
  return new Map(res.slices.map((s) => [s.node, s.cidr]));
}

function failed(checks: Awaited<ReturnType<typeof runPingChecks>>): string[] {
  return checks.filter((c) => !c.ok).map((c) => `${c.from} -> ${c.to}: ${c.detail}`);
}

describe("cluster of 3 hosts x 2 containers", () => {
  it("every container reaches every container on the other hosts", async () => {
    expect(lab.state.containers).toHaveLength(6);
    expect(firstNetworkPings(lab.checks)).toHaveLength(24);
    expect(failed(lab.checks)).toEqual([]);
    // Each host knows the 4 remote endpoints in the kernel.
    for (const h of ["h1", "h2", "h3"]) {
      const macs = await fdbMacs(h);
      for (const c of lab.state.containers.filter((c) => c.host !== h)) expect(macs.has(c.mac.toLowerCase())).toBe(true);
    }
  });

  it("a restarted agent keeps its subnet slice and its containers stay reachable", async () => {
    const before = await slicesOf();
    expect(before.get("h2")).toBeDefined();

    const stopped = await labAgent("stop", "h2", { prefix: lab.prefix });
    expect(stopped.agentPid).toBe(0);
    const started = await labAgent("start", "h2", { prefix: lab.prefix });
    expect(started.agentPid).toBeGreaterThan(0);
    lab.state.hosts = lab.state.hosts.map((h) => (h.name === "h2" ? started : h));

    expect((await slicesOf()).get("h2")).toBe(before.get("h2"));
    const checks = await runPingChecks(lab.state.containers);
    const touchingH2 = checks.filter((c) => c.from.includes("-h2-") || c.to.includes("-h2-"));
    expect(touchingH2).toHaveLength(16);
    expect(failed(checks)).toEqual([]);
  }, 120_000);

  it("a killed agent's endpoints leave the other hosts within 15 s and return when it starts again", async () => {
    const h3Macs = containersOn("h3").map((c) => c.mac.toLowerCase());
    await labAgent("kill", "h3", { prefix: lab.prefix });

    // The node lease (TTL ~10 s) expires, then the other hosts drop what h3 owned.
    const gone = await pollUntil(
      async () => [...(await fdbMacs("h1")), ...(await fdbMacs("h2"))],
      (macs) => h3Macs.every((mac) => !macs.includes(mac)),
      15_000,
      250,
    );
    expect(gone.filter((mac) => h3Macs.includes(mac))).toEqual([]);

    const started = await labAgent("start", "h3", { prefix: lab.prefix });
    lab.state.hosts = lab.state.hosts.map((h) => (h.name === "h3" ? started : h));
    for (const h of ["h1", "h2"]) {
      const back = await pollUntil(() => fdbMacs(h), (macs) => h3Macs.every((mac) => macs.has(mac)), 15_000, 250);
      expect(h3Macs.filter((mac) => !back.has(mac))).toEqual([]);
    }
    expect(failed(await runPingChecks(lab.state.containers))).toEqual([]);
  }, 120_000);

  it("detaching a container removes its FDB and neighbour entries on the other hosts within 2 s", async () => {
    const victim = containersOn("h2")[1]!;
    const mac = victim.mac.toLowerCase();
    const neighbour = `${victim.ip} ${mac}`;
    for (const h of ["h1", "h3"]) {
      expect((await fdbMacs(h)).has(mac)).toBe(true);
      expect((await neighbours(h)).has(neighbour)).toBe(true);
    }

    await withApi("h2", (c) => c.detachEndpoint(create(DetachEndpointRequestSchema, { endpoint: victim.endpointId }), { deadlineMs: 5000 }));

    for (const h of ["h1", "h3"]) {
      const fdb = await pollUntil(() => fdbMacs(h), (macs) => !macs.has(mac), 2000, 50);
      expect(fdb.has(mac)).toBe(false);
      const neigh = await pollUntil(() => neighbours(h), (entries) => !entries.has(neighbour), 2000, 50);
      expect(neigh.has(neighbour)).toBe(false);
    }
    // The others are still reachable, and `lab check` leaves the detached container out.
    const checks = await labCheck({ prefix: lab.prefix });
    expect(checks.some((c) => c.from === victim.name || c.to === victim.name)).toBe(false);
    expect(firstNetworkPings(checks)).toHaveLength(16);
    expect(failed(checks)).toEqual([]);
  });
});
