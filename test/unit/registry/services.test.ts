// Services in the memory registry (same semantics as etcd's): ports and VIPs reserved once, clear
// refusals that leave nothing behind, removal, and networks kept while a service uses them.
import { Registry as MetricsRegistry } from "prom-client";
import { describe, expect, it } from "vitest";
import { INVALID_VALUES_METRIC, type RegistryEvent } from "../../../controlplane/registry/index.js";
import { MemoryRegistry, MemoryRegistryStore } from "../../../controlplane/registry/memory-registry.js";
import type { ServicePort, ServiceSpec } from "../../../controlplane/services/index.js";

const tcp = (published: number, target = 80): ServicePort => ({ protocol: "tcp", published, target, publishMode: "ingress" });
const web: ServiceSpec = { name: "web", network: "blue", selector: { app: "web" }, ports: [tcp(8080)] };

async function setUp(options: { metrics?: MetricsRegistry; logs?: string[] } = {}) {
  const store = new MemoryRegistryStore(() => Date.parse("2026-01-01T00:00:00Z"), {
    ...(options.metrics ? { metrics: options.metrics } : {}),
    log: (line) => options.logs?.push(line),
  });
  const registry = new MemoryRegistry({ store });
  const events: RegistryEvent[] = [];
  registry.subscribe((e) => events.push(e));
  await registry.start();
  await registry.createNetwork({ name: "blue", subnet: "10.40.0.0/16" });
  return { store, registry, events };
}

describe("MemoryRegistry services", () => {
  it("creates vip services with VIPs from the last slice, dnsrr without, and tells subscribers", async () => {
    const { registry, events } = await setUp();
    const created = await registry.createService({ ...web, ports: [{ ...tcp(9000), protocol: "udp" }, tcp(8080)] });
    expect(created).toEqual({
      name: "web",
      network: "blue",
      selector: { app: "web" },
      ports: [tcp(8080), { ...tcp(9000), protocol: "udp" }],
      mode: "vip",
      affinity: "none",
      createdAt: "2026-01-01T00:00:00.000Z",
      vip: "10.40.255.1",
    });
    expect((await registry.createService({ name: "api", network: "blue", selector: { app: "api" } })).vip).toBe("10.40.255.2");
    const dns = await registry.createService({ name: "db", network: "blue", selector: { app: "db" }, mode: "dnsrr", affinity: "client-ip" });
    expect(dns.vip).toBeUndefined();
    expect([...registry.snapshot().services.keys()]).toEqual(["web", "api", "db"]);
    expect(registry.snapshot().services.get("web")).toEqual(created);
    expect(events.filter((e) => e.kind === "service")).toEqual([
      { kind: "service", type: "put", name: "web", record: created },
      expect.objectContaining({ kind: "service", type: "put", name: "api" }),
      { kind: "service", type: "put", name: "db", record: dns },
    ]);
  });

  it("refuses a taken name, a taken port, an unknown network and a bad spec, leaving nothing behind", async () => {
    const { registry, events } = await setUp();
    await registry.createService(web);
    const before = registry.snapshot();
    const count = events.length;
    await expect(registry.createService({ ...web, ports: [tcp(9090)] })).rejects.toMatchObject({ code: "already-exists", field: "name" });
    const taken = registry.createService({ ...web, name: "other", ports: [tcp(9090), tcp(8080, 81)] });
    await expect(taken).rejects.toMatchObject({ code: "already-exists", field: "ports[1].published" });
    await expect(registry.createService({ ...web, name: "other", ports: [tcp(8080)] })).rejects.toThrow(/tcp port 8080 is already published by service "web"/);
    await expect(registry.createService({ ...web, name: "other", network: "red" })).rejects.toMatchObject({ code: "not-found", field: "network" });
    await expect(registry.createService({ ...web, name: "other", selector: {} })).rejects.toMatchObject({ code: "invalid-argument", field: "selector" });
    await expect(registry.createService({ ...web, name: "other", ports: [tcp(0)] })).rejects.toMatchObject({ code: "invalid-argument", field: "ports[0].published" });
    expect(registry.snapshot()).toBe(before);
    expect(events).toHaveLength(count);
    // 9090 was not reserved by the refused create, and 8080/udp is a different port.
    await registry.createService({ ...web, name: "other", ports: [tcp(9090), { ...tcp(8080), protocol: "udp" }] });
  });

  it("removes a service with its port and VIP, which the next service may take", async () => {
    const { registry, events } = await setUp();
    const first = await registry.createService(web);
    await registry.removeService("web");
    expect(registry.snapshot().services.has("web")).toBe(false);
    expect(events.at(-1)).toEqual({ kind: "service", type: "delete", name: "web" });
    await expect(registry.removeService("web")).rejects.toMatchObject({ code: "not-found", field: "name" });
    await expect(registry.removeService("bad name")).rejects.toMatchObject({ code: "invalid-argument", field: "name" });
    const again = await registry.createService({ ...web, name: "web2" });
    expect(again.vip).toBe(first.vip);
  });

  it("keeps a network while a service uses it", async () => {
    const { registry } = await setUp();
    await registry.createService({ ...web, mode: "dnsrr" });
    await expect(registry.removeNetwork("blue")).rejects.toMatchObject({ code: "failed-precondition", field: "name" });
    await expect(registry.removeNetwork("blue")).rejects.toThrow(/in use by service\(s\) web/);
    await registry.removeService("web");
    await registry.removeNetwork("blue");
    expect(registry.snapshot().networks.has("blue")).toBe(false);
  });

  it("refuses a VIP while a node holds the service slice (claimed before it was reserved), but not dnsrr", async () => {
    const { store, registry } = await setUp();
    store.writeValue(store.keys.subnet("blue", "10.40.255.0/24"), JSON.stringify({ node: "old", since: "2025-01-01T00:00:00Z" }));
    await expect(registry.createService(web)).rejects.toMatchObject({ code: "failed-precondition", field: "network" });
    await expect(registry.createService(web)).rejects.toThrow(/10\.40\.255\.0\/24 .* held by node "old"/);
    expect(registry.snapshot().services.size).toBe(0);
    await registry.createService({ ...web, mode: "dnsrr" });
  });

  it("says resource-exhausted when the service slice has no VIP left", async () => {
    const { registry } = await setUp();
    await registry.createNetwork({ name: "tiny", subnet: "10.50.0.0/28", hostPrefixLen: 30 });
    const spec = (name: string): ServiceSpec => ({ name, network: "tiny", selector: { app: name } });
    expect((await registry.createService(spec("a"))).vip).toBe("10.50.0.13");
    expect((await registry.createService(spec("b"))).vip).toBe("10.50.0.14");
    await expect(registry.createService(spec("c"))).rejects.toMatchObject({ code: "resource-exhausted", field: "network" });
  });

  it("skips, logs and counts an invalid service value, keeping what the key held", async () => {
    const metrics = new MetricsRegistry();
    const logs: string[] = [];
    const { store, registry, events } = await setUp({ metrics, logs });
    const created = await registry.createService(web);
    const count = events.length;
    store.writeValue(store.keys.service("web"), JSON.stringify({ ...created, ports: [tcp(70000)] }));
    store.writeValue(store.keys.service("evil"), "{");
    expect(registry.snapshot().services.get("web")).toEqual(created);
    expect(registry.snapshot().services.has("evil")).toBe(false);
    expect(events).toHaveLength(count);
    expect(logs.filter((l) => l.startsWith("skipping invalid value"))).toHaveLength(2);
    const values = (await metrics.getSingleMetric(INVALID_VALUES_METRIC)?.get())?.values ?? [];
    expect(values.find((v) => v.labels.kind === "service")?.value).toBe(2);
  });

  it("fails with unavailable while disconnected", async () => {
    const { registry } = await setUp();
    registry.setConnected(false);
    await expect(registry.createService(web)).rejects.toMatchObject({ code: "unavailable" });
    await expect(registry.removeService("web")).rejects.toMatchObject({ code: "unavailable" });
  });
});
