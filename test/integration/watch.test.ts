// The registry's cache against a real etcd: it converges (services too) after a compaction hid
// deletes from the watch, and values that fail validation are logged once and skipped.
import { Registry as MetricsRegistry } from "prom-client";
import { afterAll, describe, expect, it } from "vitest";
import { INVALID_VALUES_METRIC, type NodeRecord, type Registry, type RegistryEvent } from "../../controlplane/registry/index.js";
import { currentRevision, etcdctl, etcdForFile, eventually, startTcpProxy, type TcpProxy } from "../helpers/etcd.js";

const etcd = etcdForFile();
const proxies: TcpProxy[] = [];

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
});

function registry(prefix: string, endpoint: string, log?: (line: string) => void): Registry {
  return etcd.registry({ prefix, endpoint, ...(log ? { log } : {}) });
}

describe("registry watch", () => {
  it("re-lists after compaction, synthesising deletes for what vanished while it was away", async () => {
    const admin = registry("/compact", etcd.endpoint);
    await admin.createNetwork({ name: "old", subnet: "10.1.0.0/16", vni: 11 });
    await admin.claimSubnet("old", "h1");
    await admin.createNetwork({ name: "kept", subnet: "10.2.0.0/16", vni: 12 });
    await admin.createService({ name: "gone-svc", network: "kept", selector: { app: "x" } });

    const proxy = await startTcpProxy(etcd.endpoint);
    proxies.push(proxy);
    const logs: string[] = [];
    const watcher = registry("/compact", proxy.endpoint, (l) => logs.push(l));
    const events: RegistryEvent[] = [];
    watcher.subscribe((e) => events.push(e));
    await watcher.start();
    expect([...watcher.snapshot().networks.keys()].sort()).toEqual(["kept", "old"]);
    expect(watcher.snapshot().subnets.get("old")).toHaveLength(1);
    expect([...watcher.snapshot().services.keys()]).toEqual(["gone-svc"]);

    proxy.cut();
    await eventually("the watcher to notice it is disconnected", () => !watcher.isConnected());
    await admin.removeNetwork("old");
    await admin.removeService("gone-svc");
    const service = await admin.createService({ name: "new-svc", network: "kept", selector: { app: "y" } });
    const created = await admin.createNetwork({ name: "new", subnet: "10.3.0.0/16", vni: 13 });
    await etcdctl(etcd.endpoint, "compact", String(await currentRevision(etcd.endpoint)));
    proxy.restore();

    await eventually("the cache to converge", () => {
      const names = [...watcher.snapshot().networks.keys()].sort();
      return names.join(",") === "kept,new" && !watcher.snapshot().subnets.has("old") && !watcher.snapshot().services.has("gone-svc");
    }, 30_000);
    expect(events).toContainEqual({ kind: "network", type: "delete", name: "old" });
    expect(events.some((e) => e.kind === "subnet" && e.type === "delete" && e.network === "old")).toBe(true);
    expect(events).toContainEqual({ kind: "network", type: "put", name: "new", record: created });
    expect(events).toContainEqual({ kind: "service", type: "delete", name: "gone-svc" });
    expect(events).toContainEqual({ kind: "service", type: "put", name: "new-svc", record: service });
    expect(logs.some((l) => l.includes("re-listing"))).toBe(true);

    // And it keeps watching afterwards.
    await admin.createNetwork({ name: "later", subnet: "10.4.0.0/16" });
    await eventually("a network created after the re-list", () => watcher.snapshot().networks.has("later"));
  });

  it("logs a value that fails validation once, skips it, and keeps working", async () => {
    await etcdctl(etcd.endpoint, "put", "/garbage/nodes/early", "{not json");
    const logs: string[] = [];
    const r = registry("/garbage", etcd.endpoint, (l) => logs.push(l));
    await r.start();
    expect(r.snapshot().nodes.size).toBe(0);
    expect(logs.filter((l) => l.includes("/garbage/nodes/early"))).toHaveLength(1);
    expect(logs.find((l) => l.includes("/garbage/nodes/early"))).toContain("value");

    await etcdctl(etcd.endpoint, "put", "/garbage/nodes/bad", JSON.stringify({ name: "bad", underlayIP: "300.1.1.1" }));
    await eventually("a log line naming the key and field", () => logs.some((l) => l.includes("/garbage/nodes/bad") && l.includes("underlayIP")));
    expect(r.snapshot().nodes.has("bad")).toBe(false);

    await r.createNetwork({ name: "fine", subnet: "10.8.0.0/16" });
    await eventually("a valid record after the garbage", () => r.snapshot().networks.has("fine"));
    expect(r.isConnected()).toBe(true);
    // Claims never overwrite a lease key holding garbage: this claimer scans from the lowest slice,
    // which is the one holding it.
    await etcdctl(etcd.endpoint, "put", "/garbage/subnets/fine/10.8.0.0_24", "garbage");
    const lowestFirst = etcd.registry({ prefix: "/garbage", endpoint: etcd.endpoint, random: () => 0 });
    const lease = await lowestFirst.claimSubnet("fine", "h1");
    expect(lease.cidr).toBe("10.8.1.0/24");
    expect(await etcdctl(etcd.endpoint, "get", "--print-value-only", "/garbage/subnets/fine/10.8.0.0_24")).toContain("garbage");
    await lowestFirst.close();
  });

  it("keeps the last valid node, network and lease when garbage is written over them, through a re-list too", async () => {
    const record: NodeRecord = {
      name: "h1",
      underlayIP: "192.168.7.1",
      vtepMAC: "02:00:c0:a8:07:01",
      gossipAddr: "192.168.7.1:7946",
      publicKey: Buffer.alloc(32, 3).toString("base64"),
      agentVersion: "0.1.0",
    };
    const admin = registry("/overwrite", etcd.endpoint);
    const network = await admin.createNetwork({ name: "blue", subnet: "10.9.0.0/16" });
    const lease = await admin.claimSubnet("blue", "h1");
    await etcdctl(etcd.endpoint, "put", "/overwrite/nodes/h1", JSON.stringify(record));

    const proxy = await startTcpProxy(etcd.endpoint);
    proxies.push(proxy);
    const logs: string[] = [];
    const metrics = new MetricsRegistry();
    const watcher = etcd.registry({ prefix: "/overwrite", endpoint: proxy.endpoint, log: (l) => logs.push(l), metrics });
    const events: RegistryEvent[] = [];
    watcher.subscribe((e) => events.push(e));
    await watcher.start();
    expect(watcher.snapshot().nodes.get("h1")).toEqual(record);
    events.length = 0; // the start's own puts

    // Through the watch.
    await etcdctl(etcd.endpoint, "put", "/overwrite/nodes/h1", "{not json");
    await etcdctl(etcd.endpoint, "put", "/overwrite/networks/blue", JSON.stringify({ ...network, subnet: "10.9.0.0/99" }));
    await etcdctl(etcd.endpoint, "put", `/overwrite/subnets/blue/${lease.cidr.replace("/", "_")}`, "garbage");
    await etcdctl(etcd.endpoint, "put", "/overwrite/networks/marker", JSON.stringify({ ...network, name: "marker", vni: 999, subnet: "10.10.0.0/16" }));
    await eventually("the watch to deliver the marker after the garbage", () => watcher.snapshot().networks.has("marker"));
    const held = (): void => {
      expect(watcher.snapshot().nodes.get("h1")).toEqual(record);
      expect(watcher.snapshot().networks.get("blue")).toEqual(network);
      expect(watcher.snapshot().subnets.get("blue")).toEqual([lease]);
    };
    held();
    expect(events.filter((e) => e.kind !== "network" || e.name !== "marker")).toEqual([]);
    expect(logs.filter((l) => l.startsWith("skipping invalid value"))).toHaveLength(3);
    const counted = (await metrics.getSingleMetric(INVALID_VALUES_METRIC)?.get())?.values ?? [];
    expect(Object.fromEntries(counted.map((v) => [v.labels.kind, v.value]))).toEqual({ node: 1, network: 1, subnet: 1 });

    // Through a re-list: cut the watcher off, compact the history, let it come back.
    proxy.cut();
    await eventually("the watcher to notice it is disconnected", () => !watcher.isConnected());
    // Two writes, so that the revision the watcher resumes from is older than the compacted one.
    for (const vni of [997, 998]) {
      await etcdctl(etcd.endpoint, "put", "/overwrite/networks/marker", JSON.stringify({ ...network, name: "marker", vni, subnet: "10.10.0.0/16" }));
    }
    await etcdctl(etcd.endpoint, "compact", String(await currentRevision(etcd.endpoint)));
    proxy.restore();
    await eventually("the watcher to re-list", () => logs.some((l) => l.includes("re-listing")), 30_000);
    await eventually("the re-listed marker", () => watcher.snapshot().networks.get("marker")?.vni === 998, 30_000);
    held();
    expect(events.filter((e) => e.kind !== "network" || e.name !== "marker").filter((e) => e.kind !== "connection")).toEqual([]);
    // The same invalid values, listed again at their unchanged revisions, are not reported again.
    expect(logs.filter((l) => l.startsWith("skipping invalid value"))).toHaveLength(3);
  });
});
