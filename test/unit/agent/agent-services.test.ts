// Services on the agent, on fakes: two nodes sharing an in-memory registry and gossip network, each
// with an in-memory kernel. A published service makes a node without containers serve its network;
// backends follow the labels gossip carries; the DNS answers the service's names.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as prom from "prom-client";
import nacl from "tweetnacl";
import { afterEach, describe, expect, it } from "vitest";
import { Agent, type AgentOptions } from "../../../agent/agent.js";
import type { DnsRecordSource } from "../../../agent/dns/index.js";
import { StateStore } from "../../../agent/state-store.js";
import { MemoryNetwork } from "../../../controlplane/gossip/memory-network.js";
import { MemoryRegistry, MemoryRegistryStore } from "../../../controlplane/registry/memory-registry.js";
import { FakeKernel } from "../../../dataplane/fake-kernel.js";
import { bridgeName, vxlanName, type NetworkNamespaceId } from "../../../dataplane/index.js";
import { macForAddress, WeftError } from "../../../proto/values/index.js";

const namespaces = new Map<string, NetworkNamespaceId>(["c1", "c2", "c3"].map((name, i) => [name, { dev: 9999, ino: 4026533000 + i }]));
const started: Agent[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const agent of started.splice(0)) await agent.stop();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function startNode(name: string, index: number, store: MemoryRegistryStore, net: MemoryNetwork, extra: Partial<AgentOptions> = {}) {
  const dir = await mkdtemp(join(tmpdir(), `weft-services-${name}-`));
  dirs.push(dir);
  const kernel = new FakeKernel({ namespaceExists: (ns) => namespaces.has(ns) });
  const metrics = new prom.Registry();
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
    metrics,
    log: () => undefined,
    inspectNetns: (path) => {
      const id = namespaces.get(path.replace(/^\/run\/netns\//, ""));
      if (id === undefined) throw new WeftError("not-found", `netns: ${path} does not exist`, { field: "netns" });
      return id;
    },
    ...extra,
  });
  await agent.start();
  started.push(agent);
  return { agent, kernel, metrics };
}

const fdb = (kernel: FakeKernel, vni: number, mac: string): string[] => [...(kernel.fdb.get(vxlanName(vni))?.get(mac) ?? [])];
const sliceOf = (store: MemoryRegistryStore, network: string, node: string): string | undefined =>
  (store.cache.snapshot().subnets.get(network) ?? []).find((l) => l.node === node)?.cidr;
const gatewayOf = (cidr: string): string => cidr.replace(/\.0\/24$/, ".1");

describe("Agent services", () => {
  it("serves a published service's network on a node without containers, follows labelled backends, and answers its names", async () => {
    const store = new MemoryRegistryStore();
    const net = new MemoryNetwork();
    let records: DnsRecordSource | undefined;
    const dns = (source: DnsRecordSource) => {
      records = source;
      return { setZones: async () => undefined, close: async () => undefined };
    };
    const h1 = await startNode("h1", 1, store, net, { dns });
    const h2 = await startNode("h2", 2, store, net);
    await h1.agent.createNetwork({ name: "blue", subnet: "10.40.0.0/16", vni: 42 });
    const web = await h2.agent.attachEndpoint({ network: "blue", netns: "c2", labels: { app: "web" } });
    await h2.agent.attachEndpoint({ network: "blue", netns: "c3", labels: { app: "db" } });
    expect(web.labels).toEqual({ app: "web" });

    const created = await h1.agent.services.create({ name: "web", network: "blue", selector: { app: "web" }, ports: [{ protocol: "tcp", published: 8080, target: 80, publishMode: "ingress" }] });
    expect(created.record.vip).toMatch(/^10\.40\.255\./);

    // h1 has no container in blue, but a published port: it claims a slice and puts its gateway on the bridge.
    await expect.poll(() => sliceOf(store, "blue", "h1"), { timeout: 5000 }).toBeDefined();
    const h1Gateway = gatewayOf(sliceOf(store, "blue", "h1")!);
    const h2Gateway = gatewayOf(sliceOf(store, "blue", "h2")!);
    await expect.poll(() => (h1.kernel.addresses.get(bridgeName(42)) ?? []).map((a) => a.ip), { timeout: 5000 }).toContain(h1Gateway);
    // The VIP is on every serving node's bridge, so containers' ARP for it is answered by their own host.
    for (const node of [h1, h2]) await expect.poll(() => (node.kernel.addresses.get(bridgeName(42)) ?? []).map((a) => a.ip), { timeout: 5000 }).toContain(created.record.vip);
    // It reaches the backend, and each node reaches the other's gateway (replies of masqueraded flows).
    await expect.poll(() => fdb(h1.kernel, 42, web.mac), { timeout: 5000 }).toEqual(["10.251.0.2"]);
    await expect.poll(() => fdb(h1.kernel, 42, macForAddress(h2Gateway)), { timeout: 5000 }).toEqual(["10.251.0.2"]);
    await expect.poll(() => fdb(h2.kernel, 42, macForAddress(h1Gateway)), { timeout: 5000 }).toEqual(["10.251.0.1"]);

    await expect.poll(() => h1.agent.services.inspect("web").backends.map((b) => [b.name, b.owner]), { timeout: 5000 }).toEqual([["c2", "h2"]]);
    expect(h1.agent.services.list().map((s) => s.record.name)).toEqual(["web"]);
    const names = [...(records!.services?.("blue") ?? [])];
    expect(names).toEqual([{ name: "web", addresses: [created.record.vip], tasks: [web.ip], vip: created.record.vip }]);
    expect([...(records!.services?.("other") ?? [])]).toEqual([]);
    expect(await h1.metrics.getSingleMetricAsString("weft_service_backends")).toContain('weft_service_backends{service="web"} 1');

    // The backend leaves: every node's view follows gossip.
    await h2.agent.detachEndpoint("c2");
    await expect.poll(() => h1.agent.services.inspect("web").backends, { timeout: 5000 }).toEqual([]);

    // The service goes: h1 releases the slice it held only for it, and the bridge goes with it.
    await h1.agent.services.remove("web");
    await expect.poll(() => sliceOf(store, "blue", "h1"), { timeout: 5000 }).toBeUndefined();
    await expect.poll(() => h1.kernel.links.has(bridgeName(42)), { timeout: 5000 }).toBe(false);
    // h2 keeps its slice (c3 still uses it) but the VIP leaves its bridge.
    expect(sliceOf(store, "blue", "h2")).toBeDefined();
    await expect.poll(() => (h2.kernel.addresses.get(bridgeName(42)) ?? []).map((a) => a.ip), { timeout: 5000 }).not.toContain(created.record.vip);
  });

  it("keeps the slice of a network a published service needs when its last local endpoint detaches", async () => {
    const store = new MemoryRegistryStore();
    const h1 = await startNode("h1", 1, store, new MemoryNetwork());
    await h1.agent.createNetwork({ name: "blue", subnet: "10.40.0.0/16", vni: 42 });
    await h1.agent.attachEndpoint({ network: "blue", netns: "c1", labels: { app: "web" } });
    const slice = sliceOf(store, "blue", "h1");
    await h1.agent.services.create({ name: "web", network: "blue", selector: { app: "web" }, ports: [{ protocol: "udp", published: 5353, target: 53, publishMode: "local" }] });
    await h1.agent.detachEndpoint("c1");
    await h1.agent.reconcile();
    expect(sliceOf(store, "blue", "h1")).toBe(slice);
    expect((h1.kernel.addresses.get(bridgeName(42)) ?? []).map((a) => a.ip)).toContain(gatewayOf(slice!));
  });

  it("refuses bad labels on attach, naming the field, and leaves nothing behind", async () => {
    const store = new MemoryRegistryStore();
    const h1 = await startNode("h1", 1, store, new MemoryNetwork());
    await h1.agent.createNetwork({ name: "blue", subnet: "10.40.0.0/16", vni: 42 });
    const err = await h1.agent.attachEndpoint({ network: "blue", netns: "c1", labels: { "": "x" } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeftError);
    expect((err as WeftError).field).toMatch(/^labels/);
    expect(sliceOf(store, "blue", "h1")).toBeUndefined();
    expect(h1.agent.listEndpoints()).toEqual([]);
  });
});
