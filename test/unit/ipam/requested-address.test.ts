// An endpoint's requested address (Docker's IPAM driver asks for one before the attach): the pure
// check, and the agent on fakes taking it only inside its own slice and only when free, leaving
// nothing behind otherwise.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as prom from "prom-client";
import nacl from "tweetnacl";
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../../agent/agent.js";
import { StateStore } from "../../../agent/state-store.js";
import { allocateAddress, sliceHolding, takeRequestedAddress } from "../../../controlplane/ipam/index.js";
import { MemoryNetwork } from "../../../controlplane/gossip/memory-network.js";
import { MemoryRegistry, MemoryRegistryStore } from "../../../controlplane/registry/memory-registry.js";
import { FakeKernel } from "../../../dataplane/fake-kernel.js";
import { WeftError } from "../../../proto/values/index.js";

function refusal(work: () => unknown): WeftError {
  try {
    work();
  } catch (err) {
    expect(err).toBeInstanceOf(WeftError);
    return err as WeftError;
  }
  throw new Error("expected a WeftError");
}

describe("takeRequestedAddress", () => {
  const none = new Map<string, string>();

  it("takes a free address of the slice", () => {
    expect(takeRequestedAddress("10.40.1.0/24", "10.40.1.7", none)).toBe("10.40.1.7");
    expect(takeRequestedAddress("10.40.1.0/24", "10.40.1.254", none)).toBe("10.40.1.254");
  });

  it("refuses, naming the field and the reason, what is not this slice's to give", () => {
    const cases: Array<[string, string, string]> = [
      ["10.40.2.7", "failed-precondition", "not in this node's slice 10.40.1.0/24"],
      ["10.40.1.0", "invalid-argument", "network address"],
      ["10.40.1.1", "invalid-argument", "gateway"],
      ["10.40.1.255", "invalid-argument", "broadcast"],
      ["10.40.1.9", "already-exists", "in use by endpoint web"],
      ["10.40.1", "invalid-argument", "not an IPv4 address"],
    ];
    for (const [ip, code, reason] of cases) {
      const err = refusal(() => takeRequestedAddress("10.40.1.0/24", ip, new Map([["10.40.1.9", "endpoint web"]])));
      expect(err.code, ip).toBe(code);
      expect(err.field, ip).toBe("ip");
      expect(err.message, ip).toContain(reason);
    }
    expect(refusal(() => takeRequestedAddress("10.40.1.0/24", "x", none, "Address")).field).toBe("Address");
  });
});

describe("sliceHolding and allocateAddress from the top", () => {
  it("finds the slice of an address, and nothing outside the network", () => {
    expect(sliceHolding("10.40.0.0/16", 24, "10.40.7.9")).toBe("10.40.7.0/24");
    expect(sliceHolding("10.40.0.0/16", 26, "10.40.7.200")).toBe("10.40.7.192/26");
    expect(sliceHolding("10.40.0.0/16", 24, "10.41.7.9")).toBeUndefined();
  });

  it("counts down from the last usable address, skipping used ones", () => {
    expect(allocateAddress("10.40.1.0/24", new Set(), { from: "top" })).toBe("10.40.1.254");
    expect(allocateAddress("10.40.1.0/24", new Set(["10.40.1.254"]), { from: "top" })).toBe("10.40.1.253");
    expect(allocateAddress("10.40.1.0/30", new Set(), { from: "top" })).toBe("10.40.1.2");
    expect(refusal(() => allocateAddress("10.40.1.0/30", new Set(["10.40.1.2"]), { from: "top" })).code).toBe("resource-exhausted");
  });
});

describe("Agent.attachEndpoint with a requested address", () => {
  const agents: Agent[] = [];
  const dirs: string[] = [];
  const namespaces = new Map([["c1", 1], ["c2", 2], ["c3", 3]].map(([n, i]) => [n as string, { dev: 9999, ino: 4026532000 + (i as number) }]));

  async function startNode(name: string, index: number, store: MemoryRegistryStore, net: MemoryNetwork): Promise<{ agent: Agent; kernel: FakeKernel }> {
    const dir = await mkdtemp(join(tmpdir(), `weft-ipam-${name}-`));
    dirs.push(dir);
    const kernel = new FakeKernel({ namespaceExists: (ns) => namespaces.has(ns) });
    const gossipAddr = `10.251.0.${index}:7946`;
    const agent = new Agent({
      node: name,
      underlay: { ip: `10.251.0.${index}`, mtu: 1500, iface: "ul0" },
      gossipAddr,
      registry: new MemoryRegistry({ store }),
      kernel,
      transport: net.transport(gossipAddr),
      keyPair: nacl.sign.keyPair(),
      stateStore: new StateStore(dir),
      metrics: new prom.Registry(),
      log: () => undefined,
      inspectNetns: (path) => {
        const id = namespaces.get(path.replace(/^\/run\/netns\//, ""));
        if (!id) throw new WeftError("not-found", `netns: ${path} does not exist`, { field: "netns" });
        return id;
      },
    });
    await agent.start();
    agents.push(agent);
    return { agent, kernel };
  }

  async function refused(work: Promise<unknown>, code: string): Promise<WeftError> {
    const err = await work.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(WeftError);
    expect((err as WeftError).code).toBe(code);
    expect((err as WeftError).field).toBe("ip");
    return err as WeftError;
  }

  afterEach(async () => {
    for (const agent of agents.splice(0)) await agent.stop();
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it("takes a free address of its own slice, claiming the slice that holds it when it has none", async () => {
    const store = new MemoryRegistryStore();
    const { agent } = await startNode("h1", 1, store, new MemoryNetwork());
    await agent.createNetwork({ name: "blue", subnet: "10.40.0.0/16", vni: 42 });
    const a = await agent.attachEndpoint({ network: "blue", netns: "c1", ip: "10.40.9.200" });
    expect(a.ip).toBe("10.40.9.200");
    expect(store.cache.snapshot().subnets.get("blue")?.map((l) => `${l.node} ${l.cidr}`)).toEqual(["h1 10.40.9.0/24"]);
    const b = await agent.attachEndpoint({ network: "blue", netns: "c2" });
    expect(b.ip).toBe("10.40.9.2");
  });

  it("refuses an address in use, outside its slice, in another node's slice or outside the network, leaving nothing behind", async () => {
    const store = new MemoryRegistryStore();
    const net = new MemoryNetwork();
    const h1 = await startNode("h1", 1, store, net);
    const h2 = await startNode("h2", 2, store, net);
    await h1.agent.createNetwork({ name: "blue", subnet: "10.40.0.0/16", vni: 42 });
    const other = await h2.agent.attachEndpoint({ network: "blue", netns: "c3" });
    const otherSlice = sliceHolding("10.40.0.0/16", 24, other.ip)!;
    const links = [...h1.kernel.links.keys()].sort();

    // No slice yet: the one asked for is h2's, so the claim gets another and the address is refused.
    expect((await refused(h1.agent.attachEndpoint({ network: "blue", netns: "c1", ip: other.ip.replace(/\.\d+$/, ".50") }), "failed-precondition")).message).toContain("not in this node's slice");
    expect(store.cache.snapshot().subnets.get("blue")?.map((l) => l.cidr)).toEqual([otherSlice]);
    expect([...h1.kernel.links.keys()].sort()).toEqual(links);
    expect(h1.agent.listEndpoints("blue").filter((e) => e.local)).toEqual([]);

    await refused(h1.agent.attachEndpoint({ network: "blue", netns: "c1", ip: "10.99.0.5" }), "invalid-argument");
    await refused(h1.agent.attachEndpoint({ network: "blue", netns: "c1", ip: "banana" }), "invalid-argument");

    const mine = await h1.agent.attachEndpoint({ network: "blue", netns: "c1" });
    const slice = sliceHolding("10.40.0.0/16", 24, mine.ip)!;
    expect((await refused(h1.agent.attachEndpoint({ network: "blue", netns: "c2", ip: mine.ip }), "already-exists")).message).toContain("c1");
    await refused(h1.agent.attachEndpoint({ network: "blue", netns: "c2", ip: slice.replace(/0\/24$/, "1") }), "invalid-argument");
    await refused(h1.agent.attachEndpoint({ network: "blue", netns: "c2", ip: other.ip }), "failed-precondition");
    expect(h1.agent.listEndpoints("blue").filter((e) => e.local).map((e) => e.name)).toEqual(["c1"]);
    expect(store.cache.snapshot().subnets.get("blue")?.length).toBe(2);
  });
});
