// The registry's cache against a real etcd: it converges after a compaction hid deletes from the
// watch, and values that fail validation are logged once and skipped.
import { afterAll, describe, expect, it } from "vitest";
import type { Registry, RegistryEvent } from "../../controlplane/registry/index.js";
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

    const proxy = await startTcpProxy(etcd.endpoint);
    proxies.push(proxy);
    const logs: string[] = [];
    const watcher = registry("/compact", proxy.endpoint, (l) => logs.push(l));
    const events: RegistryEvent[] = [];
    watcher.subscribe((e) => events.push(e));
    await watcher.start();
    expect([...watcher.snapshot().networks.keys()].sort()).toEqual(["kept", "old"]);
    expect(watcher.snapshot().subnets.get("old")).toHaveLength(1);

    proxy.cut();
    await eventually("the watcher to notice it is disconnected", () => !watcher.isConnected());
    await admin.removeNetwork("old");
    const created = await admin.createNetwork({ name: "new", subnet: "10.3.0.0/16", vni: 13 });
    await etcdctl(etcd.endpoint, "compact", String(await currentRevision(etcd.endpoint)));
    proxy.restore();

    await eventually("the cache to converge", () => {
      const names = [...watcher.snapshot().networks.keys()].sort();
      return names.join(",") === "kept,new" && !watcher.snapshot().subnets.has("old");
    }, 30_000);
    expect(events).toContainEqual({ kind: "network", type: "delete", name: "old" });
    expect(events.some((e) => e.kind === "subnet" && e.type === "delete" && e.network === "old")).toBe(true);
    expect(events).toContainEqual({ kind: "network", type: "put", name: "new", record: created });
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
});
