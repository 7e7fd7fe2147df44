// Services against a real etcd: a published port and a VIP are taken once even by racing creators,
// refusals leave nothing behind, removal frees everything, invalid values are skipped, and a network
// is kept while a service uses it.
import { Etcd3 } from "etcd3";
import { Registry as MetricsRegistry } from "prom-client";
import { describe, expect, it } from "vitest";
import { EtcdRequests } from "../../controlplane/registry/etcd-requests.js";
import { INVALID_VALUES_METRIC, registryKeys, type Registry, type RegistryEvent } from "../../controlplane/registry/index.js";
import { removeNetwork } from "../../controlplane/registry/network-transactions.js";
import { RegistryValueReader } from "../../controlplane/registry/registry-values.js";
import { createService } from "../../controlplane/registry/service-transactions.js";
import type { ServicePort, ServiceRecord, ServiceSpec } from "../../controlplane/services/index.js";
import { etcdctl, etcdForFile, eventually } from "../helpers/etcd.js";

const etcd = etcdForFile();
const registry = (prefix: string): Registry => etcd.registry({ prefix });
const tcp = (published: number, target = 80): ServicePort => ({ protocol: "tcp", published, target, publishMode: "ingress" });
const web: ServiceSpec = { name: "web", network: "blue", selector: { app: "web" }, ports: [tcp(8080)] };

/** Every key under `prefix`, with its value. */
async function stored(prefix: string): Promise<Record<string, string>> {
  const lines = (await etcdctl(etcd.endpoint, "get", "--prefix", prefix)).split("\n").filter(Boolean);
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) out[lines[i]!] = lines[i + 1]!;
  return out;
}

function outcomes<T>(results: PromiseSettledResult<T>[]): { won: T[]; lost: unknown[] } {
  return {
    won: results.filter((r) => r.status === "fulfilled").map((r) => (r as PromiseFulfilledResult<T>).value),
    lost: results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason as unknown),
  };
}

describe("services against etcd", () => {
  it("stores the record with its port and VIP reservations, and watchers see it come and go", async () => {
    const admin = registry("/create");
    await admin.createNetwork({ name: "blue", subnet: "10.40.0.0/16" });
    const watcher = registry("/create");
    const events: RegistryEvent[] = [];
    watcher.subscribe((e) => events.push(e));
    await watcher.start();

    const created = await admin.createService({ ...web, ports: [{ ...tcp(53, 5353), protocol: "udp" }, tcp(8080)] });
    expect(created).toMatchObject({ name: "web", vip: "10.40.255.1", mode: "vip", affinity: "none" });
    expect(created.ports.map((p) => `${p.protocol}/${p.published}`)).toEqual(["tcp/8080", "udp/53"]);
    expect(await stored("/create/ports/")).toEqual({ "/create/ports/tcp/8080": "web", "/create/ports/udp/53": "web" });
    expect(await stored("/create/vips/")).toEqual({ "/create/vips/blue/10.40.255.1": "web" });
    expect(JSON.parse((await stored("/create/services/"))["/create/services/web"]!)).toEqual(created);
    await eventually("the watcher's cache to hold the service", () => watcher.snapshot().services.get("web"));
    expect(watcher.snapshot().services.get("web")).toEqual(created);
    expect(events).toContainEqual({ kind: "service", type: "put", name: "web", record: created });

    await admin.removeService("web");
    expect(await stored("/create/ports/")).toEqual({});
    expect(await stored("/create/vips/")).toEqual({});
    await eventually("the watcher to see the removal", () => !watcher.snapshot().services.has("web"));
    expect(events).toContainEqual({ kind: "service", type: "delete", name: "web" });
    await expect(admin.removeService("web")).rejects.toMatchObject({ code: "not-found", field: "name" });
    // The freed VIP and port are taken again.
    expect((await admin.createService({ ...web, name: "web2" })).vip).toBe("10.40.255.1");
  });

  it("refuses a taken port, a taken name, an unknown network and a bad spec, writing nothing", async () => {
    const r = registry("/refuse");
    await r.createNetwork({ name: "blue", subnet: "10.40.0.0/16" });
    await r.createService(web);
    const before = await stored("/refuse/");
    const port = r.createService({ ...web, name: "other", ports: [tcp(9090), tcp(8080, 81)] });
    await expect(port).rejects.toMatchObject({ code: "already-exists", field: "ports[1].published" });
    await expect(r.createService({ ...web, name: "other" })).rejects.toThrow(/tcp port 8080 is already published by service "web"/);
    await expect(r.createService({ ...web, ports: [] })).rejects.toMatchObject({ code: "already-exists", field: "name" });
    await expect(r.createService({ ...web, name: "other", network: "red" })).rejects.toMatchObject({ code: "not-found", field: "network" });
    await expect(r.createService({ ...web, name: "other", selector: {} })).rejects.toMatchObject({ code: "invalid-argument", field: "selector" });
    await expect(r.createService({ ...web, name: "other", ports: [tcp(65536)] })).rejects.toMatchObject({ code: "invalid-argument", field: "ports[0].published" });
    expect(await stored("/refuse/")).toEqual(before);
  });

  it("lets exactly one of many racing creators publish a port", async () => {
    const admin = registry("/race-port");
    await admin.createNetwork({ name: "blue", subnet: "10.40.0.0/16" });
    const creators = Array.from({ length: 8 }, () => registry("/race-port"));
    const { won, lost } = outcomes(await Promise.allSettled(creators.map((c, i) => c.createService({ ...web, name: `web-${i}` }))));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(7);
    for (const err of lost) expect(err).toMatchObject({ code: "already-exists", field: "ports[0].published" });
    expect(await stored("/race-port/ports/")).toEqual({ "/race-port/ports/tcp/8080": won[0]!.name });
    expect(Object.keys(await stored("/race-port/services/"))).toEqual([`/race-port/services/${won[0]!.name}`]);
  });

  it("gives racing creators different VIPs, and resource-exhausted once the service slice is full", async () => {
    const admin = registry("/race-vip");
    await admin.createNetwork({ name: "blue", subnet: "10.40.0.0/16" });
    // Two VIPs in a /30 service slice.
    await admin.createNetwork({ name: "tiny", subnet: "10.50.0.0/28", hostPrefixLen: 30 });
    const creators = Array.from({ length: 10 }, () => registry("/race-vip"));
    const spec = (network: string, i: number): ServiceSpec => ({ name: `${network}-${i}`, network, selector: { app: "x" } });
    const blue = outcomes(await Promise.allSettled(creators.map((c, i) => c.createService(spec("blue", i)))));
    expect(blue.lost).toEqual([]);
    expect(new Set(blue.won.map((s) => s.vip)).size).toBe(10);
    for (const s of blue.won) expect(s.vip).toMatch(/^10\.40\.255\.([1-9]|10)$/);

    const tiny = outcomes(await Promise.allSettled(creators.slice(0, 5).map((c, i) => c.createService(spec("tiny", i)))));
    expect(tiny.won.map((s) => s.vip).sort()).toEqual(["10.50.0.13", "10.50.0.14"]);
    expect(tiny.lost).toHaveLength(3);
    for (const err of tiny.lost) expect(err).toMatchObject({ code: "resource-exhausted", field: "network" });
    expect(Object.keys(await stored("/race-vip/vips/tiny/")).sort()).toEqual(["/race-vip/vips/tiny/10.50.0.13", "/race-vip/vips/tiny/10.50.0.14"]);
  });

  it("refuses a VIP while a node holds the service slice, but takes a dnsrr service", async () => {
    const r = registry("/held");
    await r.createNetwork({ name: "blue", subnet: "10.40.0.0/16" });
    await etcdctl(etcd.endpoint, "put", "/held/subnets/blue/10.40.255.0_24", JSON.stringify({ node: "old", since: "2025-01-01T00:00:00Z" }));
    await expect(r.createService(web)).rejects.toMatchObject({ code: "failed-precondition", field: "network" });
    expect(await stored("/held/services/")).toEqual({});
    expect(await stored("/held/ports/")).toEqual({});
    const dnsrr = await r.createService({ ...web, mode: "dnsrr" });
    expect(dnsrr.vip).toBeUndefined();
    expect(await stored("/held/vips/")).toEqual({});
  });

  it("skips invalid service values, logging and counting them, and keeps the last valid record", async () => {
    const admin = registry("/invalid");
    await admin.createNetwork({ name: "blue", subnet: "10.40.0.0/16" });
    const created = await admin.createService(web);
    await etcdctl(etcd.endpoint, "put", "/invalid/services/early", "{not json");
    const logs: string[] = [];
    const metrics = new MetricsRegistry();
    const watcher = etcd.registry({ prefix: "/invalid", log: (l) => logs.push(l), metrics });
    await watcher.start();
    expect([...watcher.snapshot().services.keys()]).toEqual(["web"]);

    await etcdctl(etcd.endpoint, "put", "/invalid/services/web", JSON.stringify({ ...created, selector: {} }));
    await etcdctl(etcd.endpoint, "put", "/invalid/services/other", JSON.stringify({ ...created, name: "other", mode: "dnsrr" }));
    await admin.createService({ ...web, name: "marker", ports: [] });
    await eventually("the marker after the garbage", () => watcher.snapshot().services.has("marker"));
    expect(watcher.snapshot().services.get("web")).toEqual(created);
    expect(watcher.snapshot().services.has("other")).toBe(false);
    expect(watcher.snapshot().services.has("early")).toBe(false);
    const skipped = logs.filter((l) => l.startsWith("skipping invalid value"));
    expect(skipped).toHaveLength(3);
    expect(skipped.find((l) => l.includes("/invalid/services/web"))).toContain("selector");
    expect(skipped.find((l) => l.includes("/invalid/services/other"))).toContain("vip");
    const counted = (await metrics.getSingleMetric(INVALID_VALUES_METRIC)?.get())?.values ?? [];
    expect(counted.find((v) => v.labels.kind === "service")?.value).toBe(3);

    // Removing a service whose record is unreadable still frees its reservations.
    await admin.removeService("web");
    expect(await stored("/invalid/ports/")).toEqual({});
    expect(Object.keys(await stored("/invalid/vips/"))).toEqual(["/invalid/vips/blue/10.40.255.2"]);
  });

  it("refuses to remove a network while a service uses it, even from a registry that never listed", async () => {
    const admin = registry("/net-in-use");
    await admin.createNetwork({ name: "blue", subnet: "10.40.0.0/16" });
    await admin.createService({ ...web, mode: "dnsrr" });
    const partial = registry("/net-in-use");
    await expect(partial.removeNetwork("blue")).rejects.toMatchObject({ code: "failed-precondition", field: "name" });
    await expect(partial.removeNetwork("blue")).rejects.toThrow(/in use by service\(s\) web/);
    await partial.removeService("web");
    await partial.removeNetwork("blue");
    expect(await stored("/net-in-use/")).toEqual({});
  });

  it("does not remove a network when a service is created in it between the removal's read and its commit", async () => {
    const admin = registry("/race-net");
    await admin.createNetwork({ name: "blue", subnet: "10.40.0.0/16" });
    const client = new Etcd3({ hosts: [etcd.endpoint] });
    try {
      const keys = registryKeys("/race-net");
      let reads = 0;
      let created: ServiceRecord | undefined;
      class Interleaved extends EtcdRequests {
        override async call<T>(request: () => Promise<T>): Promise<T> {
          const result = await super.call(request);
          if (++reads === 1) created = await admin.createService(web);
          return result;
        }
      }
      const requests = new Interleaved(client, keys, new RegistryValueReader(keys), () => undefined, 4);
      await expect(removeNetwork(requests, "blue")).rejects.toThrow(/in use by service\(s\) web/);
      expect(created).toBeDefined();
      expect(Object.keys(await stored(keys.networks))).toEqual([keys.network("blue")]);
    } finally {
      client.close();
    }
  });

  it("does not create a service in a network removed between the create's read and its commit", async () => {
    const admin = registry("/race-svc");
    await admin.createNetwork({ name: "blue", subnet: "10.40.0.0/16" });
    const client = new Etcd3({ hosts: [etcd.endpoint] });
    try {
      const keys = registryKeys("/race-svc");
      let reads = 0;
      class Interleaved extends EtcdRequests {
        override async call<T>(request: () => Promise<T>): Promise<T> {
          const result = await super.call(request);
          if (++reads === 1) await admin.removeNetwork("blue");
          return result;
        }
      }
      const requests = new Interleaved(client, keys, new RegistryValueReader(keys), () => undefined, 4);
      await expect(createService(requests, web)).rejects.toMatchObject({ code: "not-found", field: "network" });
      expect(await stored("/race-svc/")).toEqual({});
    } finally {
      client.close();
    }
  });
});
