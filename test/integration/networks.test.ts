// Network creation against a real etcd: uniqueness of name, VNI and subnet, also under a race.
import { Etcd3 } from "etcd3";
import { describe, expect, it } from "vitest";
import { EtcdRequests } from "../../controlplane/registry/etcd-requests.js";
import { registryKeys } from "../../controlplane/registry/keys.js";
import { removeNetwork } from "../../controlplane/registry/network-transactions.js";
import { RegistryValueReader } from "../../controlplane/registry/registry-values.js";
import { type NodeRecord, type Registry, type RegistryEvent } from "../../controlplane/registry/index.js";
import { etcdctl, eventually, etcdForFile } from "../helpers/etcd.js";

const etcd = etcdForFile();
const registry = (prefix: string): Registry => etcd.registry({ prefix });

describe("createNetwork against etcd", () => {
  it("refuses a duplicate name, a duplicate VNI and an overlapping subnet, naming the field", async () => {
    const r = registry("/dup");
    const blue = await r.createNetwork({ name: "blue", subnet: "10.1.0.0/16", vni: 42 });
    expect(blue).toMatchObject({ name: "blue", vni: 42, subnet: "10.1.0.0/16", hostPrefixLen: 24, mode: "overlay" });
    await expect(r.createNetwork({ name: "blue", subnet: "10.2.0.0/16" })).rejects.toMatchObject({ code: "already-exists", field: "name" });
    await expect(r.createNetwork({ name: "red", subnet: "10.2.0.0/16", vni: 42 })).rejects.toMatchObject({ code: "already-exists", field: "vni" });
    await expect(r.createNetwork({ name: "red", subnet: "10.1.128.0/17" })).rejects.toMatchObject({ code: "already-exists", field: "subnet" });
    await expect(r.createNetwork({ name: "red", subnet: "10.0.0.0/8" })).rejects.toMatchObject({ code: "already-exists", field: "subnet" });
    await expect(r.createNetwork({ name: "red", subnet: "10.1.0.1/16" })).rejects.toMatchObject({ code: "invalid-argument", field: "subnet" });
    const red = await r.createNetwork({ name: "red", subnet: "10.2.0.0/16" });
    expect(red.vni).toBe(1); // lowest free
  });

  it("lets exactly one of many concurrent creators of the same network win", async () => {
    const creators = Array.from({ length: 8 }, () => registry("/race"));
    const results = await Promise.allSettled(creators.map((c) => c.createNetwork({ name: "same", subnet: "10.9.0.0/16" })));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results.filter((r) => r.status === "rejected")) {
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: "already-exists", field: "name" });
    }
  });

  it("never lets concurrent creators of different networks share a subnet or a VNI", async () => {
    const creators = Array.from({ length: 8 }, () => registry("/overlap"));
    // Every other creator asks for an overlapping subnet; VNIs are left to the registry.
    const results = await Promise.allSettled(
      creators.map((c, i) => c.createNetwork({ name: `net-${i}`, subnet: i % 2 === 0 ? `10.${i}.0.0/16` : `10.${i - 1}.128.0/17` })),
    );
    const created = results.filter((r) => r.status === "fulfilled").map((r) => (r as PromiseFulfilledResult<{ vni: number; subnet: string }>).value);
    expect(created).toHaveLength(4);
    expect(new Set(created.map((n) => n.vni)).size).toBe(4);
    for (const r of results.filter((r) => r.status === "rejected")) {
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: "already-exists", field: "subnet" });
    }
  });

  it("removes a network with its leases, and watchers see it", async () => {
    const r = registry("/remove");
    await r.start();
    const events: RegistryEvent[] = [];
    r.subscribe((e) => events.push(e));
    await r.createNetwork({ name: "gone", subnet: "10.70.0.0/16" });
    const lease = await r.claimSubnet("gone", "h1");
    await eventually("the lease in the cache", () => r.snapshot().subnets.get("gone")?.length === 1);
    await r.removeNetwork("gone");
    await eventually("the network and lease deleted from the cache", () => !r.snapshot().networks.has("gone") && !r.snapshot().subnets.has("gone"));
    expect(events).toContainEqual({ kind: "subnet", type: "delete", network: "gone", cidr: lease.cidr });
    expect(events).toContainEqual({ kind: "network", type: "delete", name: "gone" });
    await expect(r.removeNetwork("gone")).rejects.toMatchObject({ code: "not-found" });
  });

  it("refuses to remove a network while a live node holds a slice, even from a registry that never listed", async () => {
    const h1: NodeRecord = {
      name: "h1",
      underlayIP: "192.168.8.1",
      vtepMAC: "02:00:c0:a8:08:01",
      gossipAddr: "192.168.8.1:7946",
      publicKey: Buffer.alloc(32, 5).toString("base64"),
      agentVersion: "0.1.0",
    };
    const agent = etcd.registry({ prefix: "/inuse", nodeTtlSeconds: 2 });
    await agent.registerNode(h1);
    await agent.createNetwork({ name: "busy", subnet: "10.71.0.0/16" });
    await agent.claimSubnet("busy", "h1");
    await agent.claimSubnet("busy", "h-without-record");

    // A node with a partial view: its cache is empty, it asks etcd inside the removal.
    const partial = registry("/inuse");
    const refusal = partial.removeNetwork("busy");
    await expect(refusal).rejects.toMatchObject({ code: "failed-precondition", field: "name" });
    await expect(partial.removeNetwork("busy")).rejects.toThrow(/live node\(s\) h1 /);
    expect(await etcdctl(etcd.endpoint, "get", "--keys-only", "/inuse/networks/busy")).toContain("/inuse/networks/busy");
    expect((await etcdctl(etcd.endpoint, "get", "--prefix", "--keys-only", "/inuse/subnets/busy/")).split("\n").filter(Boolean)).toHaveLength(2);

    // Once h1's record is gone (closed without revoking: its lease expires), the network can go.
    await agent.close();
    await eventually("h1's record to expire", async () => (await etcdctl(etcd.endpoint, "get", "--keys-only", "/inuse/nodes/h1")).trim() === "", 10_000);
    await partial.removeNetwork("busy");
    expect(await etcdctl(etcd.endpoint, "get", "--prefix", "--keys-only", "/inuse/")).not.toContain("busy");
  });

  it("does not commit a removal when a slice's holder registers again between its read and its commit", async () => {
    const admin = registry("/race-rm");
    await admin.createNetwork({ name: "contested", subnet: "10.72.0.0/16" });
    await admin.claimSubnet("contested", "h2"); // h2 has no node record: the network looks unused
    const client = new Etcd3({ hosts: [etcd.endpoint] });
    try {
      const keys = registryKeys("/race-rm");
      let reads = 0;
      // Right after the removal's first read, h2 comes back (as a node whose lease had lapsed does).
      class Interleaved extends EtcdRequests {
        override async call<T>(request: () => Promise<T>): Promise<T> {
          const result = await super.call(request);
          if (++reads === 1) await etcdctl(etcd.endpoint, "put", keys.node("h2"), "{}");
          return result;
        }
      }
      const requests = new Interleaved(client, keys, new RegistryValueReader(keys), () => undefined, 4);
      await expect(removeNetwork(requests, "contested")).rejects.toMatchObject({ code: "failed-precondition", field: "name" });
      expect(await etcdctl(etcd.endpoint, "get", "--keys-only", keys.network("contested"))).toContain("contested");
    } finally {
      client.close();
    }
  });
});
