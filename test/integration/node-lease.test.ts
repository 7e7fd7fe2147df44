// Node registration against a real etcd: the record lives as long as its lease, closing without
// revoking lets it expire, and a lost lease is re-acquired with the record put again.
import { afterAll, describe, expect, it } from "vitest";
import type { NodeRecord, Registry, RegistryEvent } from "../../controlplane/registry/index.js";
import { etcdctl, etcdForFile, eventually, startTcpProxy, type TcpProxy } from "../helpers/etcd.js";

const etcd = etcdForFile();
const proxies: TcpProxy[] = [];

function node(name: string): NodeRecord {
  return {
    name,
    underlayIP: "192.168.50.1",
    vtepMAC: "02:00:c0:a8:32:01",
    gossipAddr: "192.168.50.1:7946",
    publicKey: Buffer.alloc(32, 7).toString("base64"),
    agentVersion: "0.1.0",
  };
}

function registry(prefix: string, endpoint = etcd.endpoint, log?: (line: string) => void): Registry {
  return etcd.registry({ prefix, endpoint, nodeTtlSeconds: 2, ...(log ? { log } : {}) });
}

async function observer(prefix: string): Promise<{ registry: Registry; events: RegistryEvent[] }> {
  const r = registry(prefix);
  const events: RegistryEvent[] = [];
  r.subscribe((e) => events.push(e));
  await r.start();
  return { registry: r, events };
}

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
});

describe("node registration", () => {
  it("keeps the record alive past its TTL, and lets it expire after close without revoking", async () => {
    const watch = await observer("/expiry");
    const agent = registry("/expiry");
    await agent.registerNode(node("h1"));
    await eventually("h1 in the observer's cache", () => watch.registry.snapshot().nodes.get("h1"));
    // Three TTLs later it is still there: keepalive works.
    await new Promise((r) => setTimeout(r, 6000));
    expect(watch.registry.snapshot().nodes.has("h1")).toBe(true);
    expect(watch.events.filter((e) => e.kind === "node" && e.type === "delete")).toEqual([]);

    await agent.close();
    // Not revoked: the record is still there right after close...
    expect(await etcdctl(etcd.endpoint, "get", "--keys-only", "/expiry/nodes/h1")).toContain("/expiry/nodes/h1");
    // ...and goes when the lease expires.
    await eventually("a delete event for h1", () => watch.events.some((e) => e.kind === "node" && e.type === "delete" && e.name === "h1"), 10_000);
    expect(watch.registry.snapshot().nodes.has("h1")).toBe(false);
  });

  it("re-acquires a revoked lease and puts the record again", async () => {
    const watch = await observer("/revoke");
    const logs: string[] = [];
    const agent = registry("/revoke", etcd.endpoint, (l) => logs.push(l));
    await agent.registerNode(node("h2"));
    await eventually("h2 registered", () => watch.registry.snapshot().nodes.get("h2"));
    const leases = (await etcdctl(etcd.endpoint, "lease", "list")).split("\n").slice(1).map((l) => l.trim()).filter(Boolean);
    expect(leases.length).toBeGreaterThan(0);
    for (const id of leases) await etcdctl(etcd.endpoint, "lease", "revoke", id);
    await eventually("a delete event for h2", () => watch.events.some((e) => e.kind === "node" && e.type === "delete" && e.name === "h2"));
    const deleteIndex = watch.events.findIndex((e) => e.kind === "node" && e.type === "delete" && e.name === "h2");
    await eventually("h2 put again after the delete", () =>
      watch.events.slice(deleteIndex).some((e) => e.kind === "node" && e.type === "put" && e.name === "h2"), 10_000);
    expect(logs.some((l) => l.includes("lease lost"))).toBe(true);
  });

  it("re-acquires a lease that expired while etcd was unreachable, and reports the connection", async () => {
    const watch = await observer("/partition");
    const proxy = await startTcpProxy(etcd.endpoint);
    proxies.push(proxy);
    const agent = registry("/partition", proxy.endpoint);
    const events: RegistryEvent[] = [];
    agent.subscribe((e) => events.push(e));
    await agent.start();
    await agent.registerNode(node("h3"));
    await eventually("h3 registered", () => watch.registry.snapshot().nodes.get("h3"));

    proxy.cut();
    await eventually("the agent to notice it is disconnected", () => !agent.isConnected());
    await eventually("h3 to expire while cut off", () => !watch.registry.snapshot().nodes.has("h3"), 10_000);
    // Keep it cut off until the client gives the lease up too (2 x TTL without keepalive).
    await new Promise((r) => setTimeout(r, 2500));
    proxy.restore();
    await eventually("h3 registered again", () => watch.registry.snapshot().nodes.get("h3"), 20_000);
    await eventually("the agent connected again", () => agent.isConnected(), 20_000);
    expect(events).toContainEqual({ kind: "connection", connected: false });
    expect(events.filter((e) => e.kind === "connection").at(-1)).toEqual({ kind: "connection", connected: true });
  });
});
