// A value in etcd that fails validation is logged, counted and skipped: it never deletes what the
// key's last valid value described, and emits no event (issue 6). On the memory registry, which reads
// written values exactly as the etcd registry reads its watch, and on the cache's re-list.
import { Registry as MetricsRegistry } from "prom-client";
import { describe, expect, it } from "vitest";
import { INVALID_VALUES_METRIC, registryKeys, type NodeRecord, type RegistryEvent } from "../../../controlplane/registry/index.js";
import { MemoryRegistry, MemoryRegistryStore } from "../../../controlplane/registry/memory-registry.js";
import { RegistryValueReader } from "../../../controlplane/registry/registry-values.js";
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

async function invalidCount(metrics: MetricsRegistry, kind: string): Promise<number> {
  const metric = metrics.getSingleMetric(INVALID_VALUES_METRIC);
  const values = (await metric?.get())?.values ?? [];
  return values.find((v) => v.labels.kind === kind)?.value ?? 0;
}

async function setUp() {
  const logs: string[] = [];
  const metrics = new MetricsRegistry();
  const store = new MemoryRegistryStore(Date.now, { log: (line) => logs.push(line), metrics });
  const registry = new MemoryRegistry({ store });
  const events: RegistryEvent[] = [];
  registry.subscribe((e) => events.push(e));
  await registry.start();
  return { store, registry, events, logs, metrics };
}

describe("invalid values in the registry", () => {
  it("keep the node, network and lease their key held before, emit nothing, and are logged and counted", async () => {
    const { store, registry, events, logs, metrics } = await setUp();
    const keys = store.keys;
    await registry.registerNode(node("h1"));
    const network = await registry.createNetwork({ name: "blue", subnet: "10.1.0.0/16" });
    const lease = await registry.claimSubnet("blue", "h1");
    const before = registry.snapshot();
    const eventsBefore = events.length;

    store.writeValue(keys.node("h1"), "{not json");
    store.writeValue(keys.network("blue"), JSON.stringify({ ...network, vni: 0 }));
    store.writeValue(keys.subnet("blue", lease.cidr), JSON.stringify({ node: "h1" }));

    expect(registry.snapshot()).toBe(before);
    expect(registry.snapshot().nodes.get("h1")).toEqual(node("h1"));
    expect(registry.snapshot().networks.get("blue")).toEqual(network);
    expect(registry.snapshot().subnets.get("blue")).toEqual([lease]);
    expect(events).toHaveLength(eventsBefore);
    expect(logs.filter((l) => l.startsWith("skipping invalid value"))).toHaveLength(3);
    expect(logs.find((l) => l.includes(keys.network("blue")))).toContain("vni");
    expect(await invalidCount(metrics, "node")).toBe(1);
    expect(await invalidCount(metrics, "network")).toBe(1);
    expect(await invalidCount(metrics, "subnet")).toBe(1);

    // A valid value afterwards is applied as usual.
    store.writeValue(keys.node("h1"), JSON.stringify({ ...node("h1"), agentVersion: "0.2.0" }));
    expect(registry.snapshot().nodes.get("h1")?.agentVersion).toBe("0.2.0");
    expect(events.at(-1)).toMatchObject({ kind: "node", type: "put", name: "h1" });
  });

  it("escape the key and the reason in the log line", async () => {
    const { store, logs } = await setUp();
    store.writeValue(`${store.keys.nodes}evil\nforged`, "x");
    expect(logs).toHaveLength(1);
    expect(logs[0]).not.toContain("\n");
    expect(logs[0]).toContain("evil\\x0aforged");
  });
});

describe("RegistryValueReader", () => {
  it("reports an invalid value once per key and revision, and again after the key was deleted", async () => {
    const logs: string[] = [];
    const metrics = new MetricsRegistry();
    const keys = registryKeys("/t");
    const reader = new RegistryValueReader(keys, { log: (l) => logs.push(l), metrics });
    const key = keys.node("h1");
    expect(reader.read(key, "garbage", "5")).toEqual({ key: { kind: "node", name: "h1" } });
    expect(reader.read(key, "garbage", "5")).toEqual({ key: { kind: "node", name: "h1" } });
    expect(logs).toHaveLength(1);
    expect(reader.read(key, "garbage", "6")?.value).toBeUndefined();
    expect(logs).toHaveLength(2);
    reader.forget(key);
    reader.read(key, "garbage", "6");
    expect(logs).toHaveLength(3);
    expect(await invalidCount(metrics, "node")).toBe(3);
    expect(reader.read("/t/unknown/x", "garbage", "7")).toBeUndefined();
    expect(reader.read(key, JSON.stringify(node("h1")), "8")).toEqual({ key: { kind: "node", name: "h1" }, value: { kind: "node", record: node("h1") } });
  });

  it("shares its counter when two readers use one metrics registry", () => {
    const metrics = new MetricsRegistry();
    new RegistryValueReader(registryKeys(), { metrics });
    expect(() => new RegistryValueReader(registryKeys(), { metrics })).not.toThrow();
  });
});

describe("SnapshotCache.replaceWith with unreadable keys", () => {
  it("keeps what the cache held for keys whose values are now invalid, and deletes only what vanished", () => {
    const cache = new SnapshotCache();
    const lease = { network: "n", cidr: "10.0.0.0/24", node: "h1", since: "2026-01-01T00:00:00Z" };
    cache.putNode(node("h1"));
    cache.putNode(node("h2"));
    cache.putSubnet(lease);
    const events = cache.replaceWith({
      nodes: [],
      networks: [],
      subnets: [],
      services: [],
      unreadable: [
        { kind: "node", name: "h1" },
        { kind: "subnet", network: "n", cidr: "10.0.0.0/24" },
        { kind: "network", name: "never-cached" },
      ],
    });
    expect(events).toEqual([{ kind: "node", type: "delete", name: "h2" }]);
    expect([...cache.snapshot().nodes.keys()]).toEqual(["h1"]);
    expect(cache.snapshot().subnets.get("n")).toEqual([lease]);
    expect(cache.snapshot().networks.size).toBe(0);
  });
});

describe("MemoryRegistry.removeNetwork", () => {
  it("refuses while a live node holds a slice, naming the field, and removes once that node is gone", async () => {
    const { store, registry } = await setUp();
    await registry.registerNode(node("h1"));
    await registry.createNetwork({ name: "n", subnet: "10.1.0.0/16" });
    await registry.claimSubnet("n", "h1");
    await registry.claimSubnet("n", "h9"); // a node with no record: does not hold the network up
    await expect(registry.removeNetwork("n")).rejects.toMatchObject({ code: "failed-precondition", field: "name" });
    await expect(registry.removeNetwork("n")).rejects.toThrow(/live node\(s\) h1 /);
    expect(registry.snapshot().networks.has("n")).toBe(true);
    store.expireNode("h1");
    await registry.removeNetwork("n");
    expect(registry.snapshot().networks.has("n")).toBe(false);
    expect(registry.snapshot().subnets.has("n")).toBe(false);
  });
});
