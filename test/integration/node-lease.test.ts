// Node registration against a real etcd: the record lives as long as its lease, closing without
// revoking lets it expire, and a lost lease is re-acquired with the record put again.
import { Etcd3 } from "etcd3";
import { afterAll, describe, expect, it } from "vitest";
import { etcdClientOptions } from "../../agent/etcd-client-options.js";
import { createEtcdRegistry, type NodeRecord, type Registry, type RegistryEvent } from "../../controlplane/registry/index.js";
import { currentRevision, etcdctl, etcdForFile, eventually, startTcpProxy, withEtcd, type TcpProxy } from "../helpers/etcd.js";

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
    const logs: string[] = [];
    const agent = registry("/partition", proxy.endpoint, (l) => logs.push(l));
    const events: RegistryEvent[] = [];
    agent.subscribe((e) => events.push(e));
    await agent.start();
    await agent.registerNode(node("h3"));
    await eventually("h3 registered", () => watch.registry.snapshot().nodes.get("h3"));

    proxy.cut();
    await eventually("the agent to notice it is disconnected", () => !agent.isConnected());
    await eventually("h3 to expire while cut off", () => !watch.registry.snapshot().nodes.has("h3"), 10_000);
    // Keep it cut off until the client gives the lease up too (2 x TTL without keepalive).
    await eventually("the agent to give its lease up", () => logs.some((l) => l.includes("lease lost")), 10_000);
    proxy.restore();
    await eventually("h3 registered again", () => watch.registry.snapshot().nodes.get("h3"), 20_000);
    await eventually("the agent connected again", () => agent.isConnected(), 20_000);
    expect(events).toContainEqual({ kind: "connection", connected: false });
    expect(events.filter((e) => e.kind === "connection").at(-1)).toEqual({ kind: "connection", connected: true });
  });

  it("re-registers as soon as a stalled etcd answers again after the lease expired, and peers see what etcd did", async () => {
    // Its own etcd: SIGSTOP freezes everything on it, as a hung disk or a cut-off member does.
    const stalled = await withEtcd();
    const open: Registry[] = [];
    const raw = new Etcd3({ hosts: [stalled.endpoint] });
    try {
      const make = (log?: (line: string) => void): Registry => {
        const r = createEtcdRegistry({ client: etcdClientOptions({ endpoints: [stalled.endpoint] }), prefix: "/stall", nodeTtlSeconds: 2, ...(log ? { log } : {}) });
        open.push(r);
        return r;
      };
      const peer = make();
      const peerEvents: RegistryEvent[] = [];
      peer.subscribe((e) => peerEvents.push(e));
      await peer.start();
      const logs: string[] = [];
      const agent = make((l) => logs.push(l));
      await agent.start();
      await agent.registerNode(node("h4"));
      await eventually("h4 in the peer's cache", () => peer.snapshot().nodes.get("h4"));
      const before = await currentRevision(stalled.endpoint);
      peerEvents.length = 0;

      process.kill(stalled.pid, "SIGSTOP");
      try {
        // Three TTLs: every lease on it has expired when it resumes.
        await new Promise((r) => setTimeout(r, 6000));
      } finally {
        process.kill(stalled.pid, "SIGCONT");
      }
      // Back within a TTL of etcd answering (the keepalive path alone would take up to 2 TTLs more).
      await eventually("h4's record back in etcd", async () => (await etcdctl(stalled.endpoint, "get", "--keys-only", "/stall/nodes/h4")).includes("h4"), 2000, 20);
      await eventually("h4 back in the peer's cache", () => peer.snapshot().nodes.get("h4"), 2000, 20);
      expect(logs.some((l) => /lease (lost|expired)/.test(l))).toBe(true);

      // What etcd did to the key meanwhile, from its own history.
      const final = (await raw.get("/stall/nodes/h4").exec()).kvs[0]!.mod_revision;
      const history: Array<"put" | "delete"> = [];
      let seen = 0;
      const watcher = raw.watch().key("/stall/nodes/h4").startRevision(String(before + 1)).watcher();
      watcher.on("put", (kv) => {
        history.push("put");
        seen = Number(kv.mod_revision);
      });
      watcher.on("delete", (kv) => {
        history.push("delete");
        seen = Number(kv.mod_revision);
      });
      await eventually("etcd's history up to the record's return", () => seen >= Number(final));
      await watcher.cancel();
      // The peer reports exactly that: a delete for each revocation, a put for each return; a put of the
      // same record while it was still there is no change, so no event.
      const expected = history.filter((type, i) => type === "delete" || history[i - 1] === "delete");
      const reported = peerEvents.filter((e) => e.kind === "node" && e.name === "h4").map((e) => (e as { type: "put" | "delete" }).type);
      expect(reported).toEqual(expected);
      expect(peer.snapshot().nodes.get("h4")).toEqual(node("h4"));
      console.log(`stall: etcd history for h4 after resume: ${history.join(", ")}`);
    } finally {
      await Promise.all(open.map((r) => r.close()));
      raw.close();
      await stalled.stop();
    }
  }, 60_000);
});
