// The agent on fakes: two nodes sharing an in-memory registry, gossiping over an in-memory network,
// each with an in-memory kernel. Checks the request paths and that bad input leaves nothing behind.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as prom from "prom-client";
import nacl from "tweetnacl";
import { afterEach, describe, expect, it } from "vitest";
import { Agent, type AgentOptions } from "../../../agent/agent.js";
import type { NetworkNamespaceId as NetnsId } from "../../../dataplane/index.js";
import { StateStore } from "../../../agent/state-store.js";
import { WeftError } from "../../../proto/values/index.js";
import { MemoryNetwork } from "../../../controlplane/gossip/memory-network.js";
import { MemoryRegistry, MemoryRegistryStore } from "../../../controlplane/registry/memory-registry.js";
import { hostIfNameFor, vxlanName } from "../../../dataplane/index.js";
import { FakeKernel } from "../../../dataplane/fake-kernel.js";
import type { DnsRecordSource } from "../../../agent/dns/index.js";

interface TestNode {
  agent: Agent;
  kernel: FakeKernel;
  registry: MemoryRegistry;
  stateDir: string;
}

// Container namespaces by name, with the identity the fake inspectNetns reports for each.
const namespaces = new Map<string, NetnsId>();
function resetNamespaces(): void {
  namespaces.clear();
  ["c1", "c2", "c3"].forEach((name, i) => namespaces.set(name, { dev: 9999, ino: 4026532000 + i }));
}
resetNamespaces();

function fakeInspectNetns(path: string): NetnsId {
  const id = namespaces.get(path.replace(/^\/run\/netns\//, ""));
  if (id === undefined) throw new WeftError("not-found", `netns: ${path} does not exist`, { field: "netns" });
  return id;
}
const started: TestNode[] = [];
const dirs: string[] = [];

async function startNode(
  name: string,
  index: number,
  store: MemoryRegistryStore,
  net: MemoryNetwork,
  stateDir?: string,
  extra: Partial<AgentOptions> = {},
): Promise<TestNode> {
  const dir = stateDir ?? (await mkdtemp(join(tmpdir(), `weft-agent-${name}-`)));
  if (!stateDir) dirs.push(dir);
  const kernel = new FakeKernel({ namespaceExists: (ns) => namespaces.has(ns) });
  const registry = new MemoryRegistry({ store });
  const gossipAddr = `10.251.0.${index}:7946`;
  const agent = new Agent({
    node: name,
    underlay: { ip: `10.251.0.${index}`, mtu: 1500, iface: "ul0" },
    gossipAddr,
    registry,
    kernel,
    transport: net.transport(gossipAddr),
    keyPair: nacl.sign.keyPair(),
    stateStore: new StateStore(dir),
    metrics: new prom.Registry(),
    log: () => undefined,
    inspectNetns: fakeInspectNetns,
    ...extra,
  });
  await agent.start();
  const node = { agent, kernel, registry, stateDir: dir };
  started.push(node);
  return node;
}

async function expectError(work: Promise<unknown>, code: string, field: string): Promise<WeftError> {
  const err = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WeftError);
  const ce = err as WeftError;
  expect(ce.code).toBe(code);
  expect(ce.field).toBe(field);
  expect(ce.message.startsWith(`${field}: `)).toBe(true);
  return ce;
}

function fdbDestinations(kernel: FakeKernel, vni: number, mac: string): string[] {
  return [...(kernel.fdb.get(vxlanName(vni))?.get(mac) ?? [])];
}

afterEach(async () => {
  resetNamespaces();
  for (const node of started.splice(0)) await node.agent.stop();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe("Agent", () => {
  it("attaches on one node and programs the other node's kernel; detach removes it", async () => {
    const store = new MemoryRegistryStore();
    const net = new MemoryNetwork();
    const h1 = await startNode("h1", 1, store, net);
    const h2 = await startNode("h2", 2, store, net);
    await h1.agent.createNetwork({ name: "blue", subnet: "10.40.0.0/16", vni: 42 });
    const a = await h1.agent.attachEndpoint({ network: "blue", netns: "c1" });
    const b = await h2.agent.attachEndpoint({ network: "blue", netns: "c2", name: "web" });
    expect(a.name).toBe("c1");
    expect(b.name).toBe("web");
    expect(a.ip.startsWith("10.40.")).toBe(true);
    expect(a.ip.split(".").slice(0, 3)).not.toEqual(b.ip.split(".").slice(0, 3));
    expect(h1.kernel.links.has(hostIfNameFor(a.id))).toBe(true);

    await expect.poll(() => fdbDestinations(h2.kernel, 42, a.mac)).toEqual(["10.251.0.1"]);
    await expect.poll(() => fdbDestinations(h1.kernel, 42, b.mac)).toEqual(["10.251.0.2"]);
    const seenByH2 = Object.fromEntries(h2.agent.listEndpoints("blue").map((e) => [e.name, { local: e.local, node: e.node }]));
    expect(seenByH2).toEqual({ c1: { local: false, node: "h1" }, web: { local: true, node: "h2" } });

    await h1.agent.detachEndpoint(a.name);
    await expect.poll(() => fdbDestinations(h2.kernel, 42, a.mac)).toEqual([]);
    expect(h1.kernel.links.has(hostIfNameFor(a.id))).toBe(false);
    await expectError(h2.agent.detachEndpoint(a.id), "not-found", "endpoint");
    await expectError(h1.agent.detachEndpoint("web"), "failed-precondition", "endpoint");
  });

  it("refuses bad attaches with the field named and leaves no slice, veth or endpoint behind", async () => {
    const store = new MemoryRegistryStore();
    const h1 = await startNode("h1", 1, store, new MemoryNetwork());
    await h1.agent.createNetwork({ name: "tiny", subnet: "10.40.0.0/16", vni: 43, hostPrefixLen: 30 });
    const linksBefore = [...h1.kernel.links.keys()];

    await expectError(h1.agent.attachEndpoint({ network: "nope", netns: "c1" }), "not-found", "network");
    await expectError(h1.agent.attachEndpoint({ network: "tiny", netns: "missing" }), "not-found", "netns");
    await expectError(h1.agent.attachEndpoint({ network: "tiny", netns: "c1", ifName: "a-name-far-too-long" }), "invalid-argument", "if_name");
    expect(store.cache.snapshot().subnets.get("tiny") ?? []).toEqual([]);
    expect([...h1.kernel.links.keys()]).toEqual(linksBefore);

    // A /30 slice holds one endpoint: the second attach finds it full and changes nothing.
    const first = await h1.agent.attachEndpoint({ network: "tiny", netns: "c1" });
    const links = [...h1.kernel.links.keys()].sort();
    await expectError(h1.agent.attachEndpoint({ network: "tiny", netns: "c2" }), "resource-exhausted", "ip");
    expect([...h1.kernel.links.keys()].sort()).toEqual(links);
    expect(h1.agent.listEndpoints("tiny").map((e) => e.id)).toEqual([first.id]);
    await expectError(h1.agent.attachEndpoint({ network: "tiny", netns: "c1" }), "already-exists", "name");
    await expectError(h1.agent.removeNetwork("tiny"), "failed-precondition", "name");
    await expectError(h1.agent.createNetwork({ name: "tiny", subnet: "10.41.0.0/16" }), "already-exists", "name");
  });

  it("applies remote changes without observing the kernel, and repairs with a full reconcile when that fails", async () => {
    const store = new MemoryRegistryStore();
    const net = new MemoryNetwork();
    const h1 = await startNode("h1", 1, store, net);
    const h2 = await startNode("h2", 2, store, net);
    await h1.agent.createNetwork({ name: "blue", subnet: "10.40.0.0/16", vni: 42 });
    await h2.agent.attachEndpoint({ network: "blue", netns: "c2" });
    const observedBefore = h2.kernel.observeCalls;

    // attach returns once h2 acknowledged the push, i.e. once h2's kernel holds the entry.
    const a = await h1.agent.attachEndpoint({ network: "blue", netns: "c1" });
    expect(fdbDestinations(h2.kernel, 42, a.mac)).toEqual(["10.251.0.1"]);
    expect(h2.kernel.neighbours.get(vxlanName(42))?.get(a.ip)?.mac).toBe(a.mac);
    expect(h2.kernel.observeCalls).toBe(observedBefore);

    // Someone deletes h2's VXLAN device: the next incremental run cannot write, so a full run rebuilds.
    h2.kernel.links.delete(vxlanName(42));
    h2.kernel.fdb.delete(vxlanName(42));
    h2.kernel.neighbours.delete(vxlanName(42));
    const b = await h1.agent.attachEndpoint({ network: "blue", netns: "c3" });
    await expect.poll(() => h2.kernel.links.has(vxlanName(42))).toBe(true);
    await expect.poll(() => [fdbDestinations(h2.kernel, 42, a.mac), fdbDestinations(h2.kernel, 42, b.mac)]).toEqual([["10.251.0.1"], ["10.251.0.1"]]);
    expect(h2.kernel.observeCalls).toBeGreaterThan(observedBefore);
  });

  it("keeps its slice and endpoints across a restart", async () => {
    const store = new MemoryRegistryStore();
    const net = new MemoryNetwork();
    const h1 = await startNode("h1", 1, store, net);
    const h2 = await startNode("h2", 2, store, net);
    await h1.agent.createNetwork({ name: "blue", subnet: "10.40.0.0/16", vni: 42 });
    // h2 programs the network only once it has a container of its own there.
    await h2.agent.attachEndpoint({ network: "blue", netns: "c2" });
    const a = await h1.agent.attachEndpoint({ network: "blue", netns: "c1" });
    const slice = h1.agent.inspectNetwork("blue").slices.find((s) => s.node === "h1")!.cidr;
    await expect.poll(() => fdbDestinations(h2.kernel, 42, a.mac)).toEqual(["10.251.0.1"]);

    await h1.agent.stop();
    started.splice(started.indexOf(h1), 1);
    const again = await startNode("h1", 1, store, net, h1.stateDir);
    expect(again.agent.listEndpoints("blue").filter((e) => e.local).map((e) => e.id)).toEqual([a.id]);
    expect(again.agent.inspectNetwork("blue").slices.filter((s) => s.node === "h1").map((s) => s.cidr)).toEqual([slice]);
    const b = await again.agent.attachEndpoint({ network: "blue", netns: "c3" });
    expect(b.ip.startsWith(slice.split(".").slice(0, 3).join("."))).toBe(true);
    await expect.poll(() => fdbDestinations(h2.kernel, 42, b.mac)).toEqual(["10.251.0.1"]);
    expect(fdbDestinations(h2.kernel, 42, a.mac)).toEqual(["10.251.0.1"]);
  });
});

describe("Agent peers", () => {
  const fastGossip = { gossipConfig: { pingIntervalMs: 100, suspectAfterMs: 400, antiEntropyIntervalMs: 200 } };

  it("keeps a peer whose etcd record lapsed while it still answers gossip, with its entries", async () => {
    const store = new MemoryRegistryStore();
    const net = new MemoryNetwork();
    const h1 = await startNode("h1", 1, store, net, undefined, fastGossip);
    const h2 = await startNode("h2", 2, store, net, undefined, fastGossip);
    await h1.agent.createNetwork({ name: "blue", subnet: "10.40.0.0/16", vni: 42 });
    await h1.agent.attachEndpoint({ network: "blue", netns: "c1" });
    const b = await h2.agent.attachEndpoint({ network: "blue", netns: "c2" });
    await expect.poll(() => fdbDestinations(h1.kernel, 42, b.mac)).toEqual(["10.251.0.2"]);

    // An etcd stall: h2's lease expires and etcd revokes it, but h2 is fine and keeps gossiping.
    store.expireNode("h2");
    await new Promise((r) => setTimeout(r, 1500));
    expect(h1.agent.peers().map((p) => [p.name, p.state])).toEqual([["h2", "alive"]]);
    expect(fdbDestinations(h1.kernel, 42, b.mac)).toEqual(["10.251.0.2"]);
    expect(h1.agent.listEndpoints("blue").map((e) => e.id)).toContain(b.id);
  });

  it("lists a node as dead once its record is gone AND it stops answering, and alive again when it returns", async () => {
    const store = new MemoryRegistryStore();
    const net = new MemoryNetwork();
    const h1 = await startNode("h1", 1, store, net, undefined, fastGossip);
    const h2 = await startNode("h2", 2, store, net, undefined, fastGossip);
    await expect.poll(() => h1.agent.peers().map((p) => [p.name, p.underlayIp])).toEqual([["h2", "10.251.0.2"]]);
    await h2.agent.stop();
    started.splice(started.indexOf(h2), 1);
    store.expireNode("h2");
    await expect.poll(() => h1.agent.peers().map((p) => [p.name, p.state, p.underlayIp]), { timeout: 5000 }).toEqual([["h2", "dead", "10.251.0.2"]]);
    await startNode("h2", 2, store, net, h2.stateDir, fastGossip);
    await expect.poll(() => h1.agent.peers().map((p) => p.state)).not.toContain("dead");
  });
});

describe("Agent endpoints and networks", () => {
  it("records the namespace identity at attach and refuses what is not a namespace", async () => {
    const store = new MemoryRegistryStore();
    const h1 = await startNode("h1", 1, store, new MemoryNetwork());
    await h1.agent.createNetwork({ name: "blue", subnet: "10.40.0.0/16", vni: 42 });
    await expectError(h1.agent.attachEndpoint({ network: "blue", netns: "/etc/passwd" }), "invalid-argument", "netns");
    await expectError(h1.agent.attachEndpoint({ network: "blue", netns: "../c1" }), "invalid-argument", "netns");
    const a = await h1.agent.attachEndpoint({ network: "blue", netns: "/run/netns/c2" });
    expect(a.netns).toBe("c2");
    const saved = JSON.parse(await readFile(join(h1.stateDir, "state.json"), "utf8")) as { endpoints: Array<{ id: string; netnsId: NetnsId }> };
    expect(saved.endpoints.find((e) => e.id === a.id)?.netnsId).toEqual(namespaces.get("c2"));
  });

  it("withdraws an endpoint whose namespace is gone instead of re-creating it, and releases the slice", async () => {
    const store = new MemoryRegistryStore();
    const net = new MemoryNetwork();
    const h1 = await startNode("h1", 1, store, net);
    const h2 = await startNode("h2", 2, store, net);
    await h1.agent.createNetwork({ name: "blue", subnet: "10.40.0.0/16", vni: 42 });
    await h2.agent.attachEndpoint({ network: "blue", netns: "c2" });
    const a = await h1.agent.attachEndpoint({ network: "blue", netns: "c1" });
    await expect.poll(() => fdbDestinations(h2.kernel, 42, a.mac)).toEqual(["10.251.0.1"]);

    namespaces.delete("c1");
    h1.kernel.links.delete(hostIfNameFor(a.id));
    await h1.agent.reconcile();
    await expect.poll(() => h1.agent.listEndpoints("blue").filter((e) => e.local).map((e) => e.id)).toEqual([]);
    await expect.poll(() => fdbDestinations(h2.kernel, 42, a.mac)).toEqual([]);
    await expect.poll(() => store.cache.snapshot().subnets.get("blue")?.filter((l) => l.node === "h1") ?? []).toEqual([]);
  });

  it("releases its slice when the last local endpoint detaches, prefers it next time, and lets the network go", async () => {
    const store = new MemoryRegistryStore();
    const h1 = await startNode("h1", 1, store, new MemoryNetwork());
    await h1.agent.createNetwork({ name: "blue", subnet: "10.40.0.0/16", vni: 42 });
    const a = await h1.agent.attachEndpoint({ network: "blue", netns: "c1" });
    const slice = h1.agent.inspectNetwork("blue").slices.find((s) => s.node === "h1")!.cidr;
    await h1.agent.detachEndpoint(a.id);
    expect(h1.agent.inspectNetwork("blue").slices).toEqual([]);
    const b = await h1.agent.attachEndpoint({ network: "blue", netns: "c2" });
    expect(h1.agent.inspectNetwork("blue").slices.map((s) => s.cidr)).toEqual([slice]);
    await h1.agent.detachEndpoint(b.id);
    await h1.agent.removeNetwork("blue");
    expect(h1.agent.listNetworks()).toEqual([]);
  });

  it("with no state, leaves weft veths it did not make in place and reports them (C2's ownsVeth)", async () => {
    const store = new MemoryRegistryStore();
    const dir = await mkdtemp(join(tmpdir(), "weft-agent-nostate-"));
    dirs.push(dir);
    const stray = hostIfNameFor("0123456789abcdef0123456789abcdef");
    const kernel = new FakeKernel({ namespaceExists: (ns) => namespaces.has(ns) });
    kernel.links.set(stray, { name: stray, ifindex: 77, kind: "veth", mac: "02:00:00:00:00:77", mtu: 1450, up: true, master: "weft-br42" });
    const metrics = new prom.Registry();
    const agent = new Agent({
      node: "h1",
      underlay: { ip: "10.251.0.1", mtu: 1500, iface: "ul0" },
      gossipAddr: "10.251.0.1:7946",
      registry: new MemoryRegistry({ store }),
      kernel,
      transport: new MemoryNetwork().transport("10.251.0.1:7946"),
      keyPair: nacl.sign.keyPair(),
      stateStore: new StateStore(dir),
      metrics,
      log: () => undefined,
      inspectNetns: fakeInspectNetns,
      pruneAfterMs: 0,
    });
    started.push({ agent, kernel, registry: new MemoryRegistry({ store }), stateDir: dir });
    await agent.start();
    await agent.reconcile();
    expect(kernel.links.has(stray)).toBe(true);
    expect(await metrics.getSingleMetricAsString("weft_orphan_veths")).toMatch(/weft_orphan_veths 1/);
  });

  it("keeps a network that vanished from etcd while local endpoints use it, and for the grace period after", async () => {
    const store = new MemoryRegistryStore();
    const h1 = await startNode("h1", 1, store, new MemoryNetwork(), undefined, { networkGraceMs: 300 });
    await h1.agent.createNetwork({ name: "blue", subnet: "10.40.0.0/16", vni: 42 });
    const a = await h1.agent.attachEndpoint({ network: "blue", netns: "c1" });
    // A mistyped prefix, a restore, a removal from a node with a partial view: the key just goes.
    store.emit(store.cache.deleteNetwork("blue"));
    await h1.agent.reconcile();
    await new Promise((r) => setTimeout(r, 500));
    await h1.agent.reconcile();
    expect(h1.kernel.links.has(vxlanName(42))).toBe(true);
    expect(h1.kernel.links.has(hostIfNameFor(a.id))).toBe(true);

    // Once no local endpoint uses it, it stays for the grace period, then goes.
    await h1.agent.detachEndpoint(a.id);
    await expect.poll(() => h1.kernel.links.has(vxlanName(42)), { timeout: 3000 }).toBe(false);
  });

  it("gives endpoints an egress leg except on internal networks, reports gateway and resolver, and serves their names", async () => {
    const store = new MemoryRegistryStore();
    const net = new MemoryNetwork();
    const zones: Array<Array<{ network: string; listen: string }>> = [];
    let records: DnsRecordSource | undefined;
    const dns = (source: DnsRecordSource) => {
      records = source;
      return { setZones: async (z: readonly { network: string; listen: string }[]) => void zones.push([...z]), close: async () => undefined };
    };
    const h1 = await startNode("h1", 1, store, net, undefined, { dns, egressSubnet: "172.30.0.0/16" });
    const h2 = await startNode("h2", 2, store, net);
    await h1.agent.createNetwork({ name: "blue", subnet: "10.40.0.0/16", vni: 42 });
    await h1.agent.createNetwork({ name: "vault", subnet: "10.50.0.0/16", vni: 7, internal: true });
    expect(h1.agent.listNetworks().map((n) => [n.name, n.internal])).toEqual([["blue", false], ["vault", true]]);

    const a = await h1.agent.attachEndpoint({ network: "blue", netns: "c1", aliases: ["web", "api"] });
    const slice = h1.agent.inspectNetwork("blue").slices.find((s) => s.node === "h1")!.cidr;
    const gateway = slice.replace(/\.0\/24$/, ".1");
    expect(a).toMatchObject({ gateway, mtu: 1450, aliases: ["web", "api"], dns: { nameservers: [gateway], search: ["blue"] } });
    expect(a.interfaces.map((i) => [i.name, i.ip])).toEqual([["eth0", `${a.ip}/16`], ["eth1", "172.30.0.2/16"]]);
    expect(h1.agent.inspectEndpoint("c1")).toEqual(a);

    const v = await h1.agent.attachEndpoint({ network: "vault", netns: "c2" });
    expect(v.interfaces.map((i) => i.name)).toEqual(["eth0"]);
    await expectError(h1.agent.attachEndpoint({ network: "blue", netns: "c3", aliases: ["no such name!"] }), "invalid-argument", "aliases");
    expect(h1.agent.listEndpoints().map((e) => e.name).sort()).toEqual(["c1", "c2"]);

    const b = await h2.agent.attachEndpoint({ network: "blue", netns: "c3" });
    await h1.agent.reconcile();
    expect(zones.at(-1)).toEqual([{ network: "blue", listen: gateway }, { network: "vault", listen: v.gateway }]);
    await expect.poll(() => [...records!.endpoints("blue")].map((e) => e.name).sort()).toEqual(["c1", "c3"]);
    // Gossip carries aliases in canonical (sorted) order, whatever order the attach gave them in.
    expect([...records!.endpoints("blue")].find((e) => e.name === "c1")).toEqual({ name: "c1", aliases: ["api", "web"], ip: a.ip });
    expect(h1.agent.inspectEndpoint(b.id.slice(0, 12))).toMatchObject({ name: "c3", local: false, node: "h2" });

    await h2.agent.detachEndpoint(b.id);
    await expect.poll(() => [...records!.endpoints("blue")].map((e) => e.name)).toEqual(["c1"]);
  });
});
