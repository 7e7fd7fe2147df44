import { describe, expect, it } from "vitest";
import { lowestFreeVni, type NetworkRecord, type NodeRecord, type RegistryEvent } from "../../../controlplane/registry/index.js";
import { MemoryRegistry, MemoryRegistryStore } from "../../../controlplane/registry/memory-registry.js";
import { SnapshotCache } from "../../../controlplane/registry/snapshot-cache.js";

function node(name: string): NodeRecord {
  return {
    name,
    underlayIP: "192.168.1.10",
    vtepMAC: "02:00:c0:a8:01:0a",
    gossipAddr: "192.168.1.10:7946",
    publicKey: Buffer.alloc(32, 1).toString("base64"),
    agentVersion: "0.1.0",
  };
}

async function started(store = new MemoryRegistryStore(), reclaimAfterMs?: number) {
  const registry = new MemoryRegistry({ store, ...(reclaimAfterMs !== undefined ? { reclaimAfterMs } : {}) });
  const events: RegistryEvent[] = [];
  registry.subscribe((e) => events.push(e));
  await registry.start();
  return { registry, events };
}

describe("MemoryRegistry", () => {
  it("registers nodes and tells every registry on the same store", async () => {
    const store = new MemoryRegistryStore();
    const a = await started(store);
    const b = await started(store);
    await a.registry.registerNode(node("h1"));
    expect(b.registry.snapshot().nodes.get("h1")).toEqual(node("h1"));
    expect(b.events).toEqual([{ kind: "node", type: "put", name: "h1", record: node("h1") }]);
    store.expireNode("h1");
    expect(b.events.at(-1)).toEqual({ kind: "node", type: "delete", name: "h1" });
    await expect(a.registry.registerNode({ ...node("h2"), underlayIP: "nope" })).rejects.toMatchObject({ field: "underlayIP" });
  });

  it("creates networks with the lowest free VNI and refuses clashes", async () => {
    const { registry } = await started();
    expect((await registry.createNetwork({ name: "a", subnet: "10.1.0.0/16", vni: 1 })).vni).toBe(1);
    expect((await registry.createNetwork({ name: "b", subnet: "10.2.0.0/16" })).vni).toBe(2);
    await expect(registry.createNetwork({ name: "a", subnet: "10.3.0.0/16" })).rejects.toMatchObject({ code: "already-exists", field: "name" });
    await expect(registry.createNetwork({ name: "c", subnet: "10.3.0.0/16", vni: 2 })).rejects.toMatchObject({ code: "already-exists", field: "vni" });
    await expect(registry.createNetwork({ name: "c", subnet: "10.2.5.0/24" })).rejects.toMatchObject({ code: "already-exists", field: "subnet" });
    await expect(registry.createNetwork({ name: "c", subnet: "10.2.5.0/33" })).rejects.toMatchObject({ code: "invalid-argument", field: "subnet" });
    expect([...registry.snapshot().networks.keys()]).toEqual(["a", "b"]);
  });

  it("claims, keeps, prefers and releases slices", async () => {
    const { registry } = await started();
    await registry.createNetwork({ name: "n", subnet: "10.1.0.0/16" });
    const l1 = await registry.claimSubnet("n", "h1", "10.1.9.0/24");
    expect(l1.cidr).toBe("10.1.9.0/24");
    expect(await registry.claimSubnet("n", "h1")).toEqual(l1);
    const l2 = await registry.claimSubnet("n", "h2", "10.1.9.0/24");
    expect(l2.cidr).toBe("10.1.0.0/24");
    expect(registry.snapshot().subnets.get("n")?.map((l) => l.cidr)).toEqual(["10.1.0.0/24", "10.1.9.0/24"]);
    await expect(registry.releaseSubnet("n", l1.cidr, "h2")).rejects.toMatchObject({ code: "failed-precondition" });
    await registry.releaseSubnet("n", l1.cidr, "h1");
    await expect(registry.releaseSubnet("n", l1.cidr, "h1")).rejects.toMatchObject({ code: "not-found" });
    await expect(registry.claimSubnet("missing", "h1")).rejects.toMatchObject({ code: "not-found" });
  });

  it("says resource-exhausted when full, and reclaims slices of nodes gone long enough", async () => {
    let now = 1_000_000;
    const store = new MemoryRegistryStore(() => now);
    const { registry } = await started(store, 60_000);
    // Four /26 slices; the last (10.1.0.192/26) is the service slice, so three nodes fill it.
    await registry.createNetwork({ name: "n", subnet: "10.1.0.0/24", hostPrefixLen: 26 });
    for (const name of ["h1", "h2", "h3"]) await registry.registerNode(node(name));
    await registry.claimSubnet("n", "h1");
    expect((await registry.claimSubnet("n", "h2")).cidr).toBe("10.1.0.64/26");
    await registry.claimSubnet("n", "h3");
    await expect(registry.claimSubnet("n", "h4")).rejects.toMatchObject({ code: "resource-exhausted" });
    store.expireNode("h2");
    now += 30_000;
    await expect(registry.claimSubnet("n", "h4")).rejects.toMatchObject({ code: "resource-exhausted" });
    now += 30_000;
    expect((await registry.claimSubnet("n", "h4")).cidr).toBe("10.1.0.64/26");
  });

  it("never gives a node the network's last slice, reserved for service VIPs, even when it asks for it", async () => {
    const { registry } = await started();
    await registry.createNetwork({ name: "n", subnet: "10.1.0.0/24", hostPrefixLen: 25 });
    expect((await registry.claimSubnet("n", "h1", "10.1.0.128/25")).cidr).toBe("10.1.0.0/25");
    await expect(registry.claimSubnet("n", "h2", "10.1.0.128/25")).rejects.toMatchObject({ code: "resource-exhausted", field: "subnet" });
    // Random starts land on every slice; none is the reserved one.
    await registry.createNetwork({ name: "m", subnet: "10.2.0.0/24", hostPrefixLen: 28 });
    const random = new MemoryRegistry({ store: registry.store, random: () => 0.999 });
    const cidrs = await Promise.all(Array.from({ length: 15 }, (_, i) => random.claimSubnet("m", `h${i}`)));
    expect(new Set(cidrs.map((l) => l.cidr)).size).toBe(15);
    expect(cidrs.map((l) => l.cidr)).not.toContain("10.2.0.240/28");
    await expect(random.claimSubnet("m", "h15")).rejects.toMatchObject({ code: "resource-exhausted" });
  });

  it("removes a network with its leases", async () => {
    const { registry, events } = await started();
    await registry.createNetwork({ name: "n", subnet: "10.1.0.0/16" });
    const lease = await registry.claimSubnet("n", "h1");
    await registry.removeNetwork("n");
    expect(registry.snapshot().subnets.has("n")).toBe(false);
    expect(events.slice(-2)).toEqual([
      { kind: "subnet", type: "delete", network: "n", cidr: lease.cidr },
      { kind: "network", type: "delete", name: "n" },
    ]);
    await expect(registry.removeNetwork("n")).rejects.toMatchObject({ code: "not-found" });
  });

  it("simulates losing etcd", async () => {
    const { registry, events } = await started();
    registry.setConnected(false);
    expect(registry.isConnected()).toBe(false);
    await expect(registry.createNetwork({ name: "n", subnet: "10.1.0.0/16" })).rejects.toMatchObject({ code: "unavailable" });
    registry.setConnected(true);
    expect(events).toEqual([
      { kind: "connection", connected: false },
      { kind: "connection", connected: true },
    ]);
  });

  it("stops delivering events after close and unsubscribe", async () => {
    const store = new MemoryRegistryStore();
    const a = await started(store);
    const b = await started(store);
    await b.registry.close();
    const seen: RegistryEvent[] = [];
    const unsubscribe = a.registry.subscribe((e) => seen.push(e));
    await a.registry.registerNode(node("h1"));
    unsubscribe();
    await a.registry.registerNode(node("h2"));
    expect(b.events).toEqual([]);
    expect(seen.map((e) => (e.kind === "node" ? e.name : ""))).toEqual(["h1"]);
  });
});

describe("lowestFreeVni", () => {
  it("fills gaps", () => {
    const n = (vni: number) => ({ vni }) as NetworkRecord;
    expect(lowestFreeVni([])).toBe(1);
    expect(lowestFreeVni([n(1), n(2), n(4)])).toBe(3);
  });
});

describe("SnapshotCache.replaceWith", () => {
  it("synthesises deletes for what vanished and puts for what changed, nothing for what is equal", () => {
    const cache = new SnapshotCache();
    cache.putNode(node("h1"));
    cache.putNode(node("h2"));
    cache.putSubnet({ network: "n", cidr: "10.0.0.0/24", node: "h1", since: "t" });
    const events = cache.replaceWith({ nodes: [node("h1"), { ...node("h3") }], networks: [], subnets: [], services: [] });
    expect(events).toEqual([
      { kind: "subnet", type: "delete", network: "n", cidr: "10.0.0.0/24" },
      { kind: "node", type: "delete", name: "h2" },
      { kind: "node", type: "put", name: "h3", record: node("h3") },
    ]);
    expect([...cache.snapshot().nodes.keys()]).toEqual(["h1", "h3"]);
    expect(cache.snapshot().subnets.size).toBe(0);
  });
});
