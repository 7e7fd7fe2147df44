import { describe, expect, it } from "vitest";
import { buildMeshPart, hashSeed, type ServiceWithBackends } from "../../../agent/desired-state/mesh-part.js";
import { remoteGateways } from "../../../agent/desired-state/remote-gateways.js";
import { buildHostDesiredState } from "../../../agent/desired-state/index.js";
import type { EndpointRecord } from "../../../controlplane/gossip/index.js";
import type { NetworkRecord, NodeRecord, SubnetLease } from "../../../controlplane/registry/index.js";
import { maglevTable, maglevTableSize, type ServiceRecord } from "../../../controlplane/services/index.js";
import { macForAddress } from "../../../proto/values/index.js";

const service = (name: string, extra: Partial<ServiceRecord> = {}): ServiceRecord => ({
  name,
  network: "blue",
  selector: { app: name },
  ports: [{ protocol: "tcp", published: 8080, target: 80, publishMode: "ingress" }],
  mode: "vip",
  affinity: "none",
  vip: "10.40.255.1",
  createdAt: "2026-01-01T00:00:00Z",
  ...extra,
});
const backend = (ip: string, owner: string) => ({ ip, owner, endpointId: `id-${ip}`, name: `c-${ip}` });
const network = (name: string, vni: number, subnet: string): NetworkRecord => ({
  name, vni, subnet, hostPrefixLen: 24, internal: false, mode: "overlay", attachable: true, labels: {}, createdAt: "2026-01-01T00:00:00Z",
});
const node = (name: string, underlayIP: string): NodeRecord => ({ name, underlayIP, vtepMAC: "02:00:00:00:00:01", gossipAddr: `${underlayIP}:7946`, publicKey: "", agentVersion: "0.1.0" });
const lease = (network: string, cidr: string, owner: string): SubnetLease => ({ network, cidr, node: owner, since: "2026-01-01T00:00:00Z" });

describe("buildMeshPart", () => {
  const served = new Map([["blue", 42]]);

  it("gives each service of a served network its backends, Maglev tables, seed and ports", () => {
    const web: ServiceWithBackends = { record: service("web"), backends: [backend("10.40.1.2", "h1"), backend("10.40.2.2", "h2"), backend("10.40.3.2", "h1")] };
    const { mesh, serviceIps } = buildMeshPart({ node: "h1", services: [web], served });
    expect(mesh.services).toHaveLength(1);
    const s = mesh.services[0]!;
    expect(s).toMatchObject({ name: "web", bridge: "weft-br42", vip: "10.40.255.1", affinity: "none", hashSeed: hashSeed("web") });
    expect(s.backends).toEqual([{ ip: "10.40.1.2", local: true }, { ip: "10.40.2.2", local: false }, { ip: "10.40.3.2", local: true }]);
    expect(s.table).toEqual(maglevTable(["10.40.1.2", "10.40.2.2", "10.40.3.2"], maglevTableSize(3)));
    // The local table indexes `backends` and names only local ones, in Maglev spread over them.
    expect(s.localTable).toHaveLength(maglevTableSize(2));
    expect(new Set(s.localTable)).toEqual(new Set([0, 2]));
    expect(s.localTable).toEqual(maglevTable(["10.40.1.2", "10.40.3.2"], maglevTableSize(2)).map((i) => [0, 2][i]));
    expect(s.ports).toEqual([{ protocol: "tcp", published: 8080, target: 80, publishMode: "ingress" }]);
    expect(serviceIps).toEqual(new Map([["blue", ["10.40.255.1"]]]));
  });

  it("computes the same tables on every node; only the local flags differ", () => {
    const backends = [backend("10.40.1.2", "h1"), backend("10.40.2.2", "h2")];
    const on = (self: string) => buildMeshPart({ node: self, services: [{ record: service("web"), backends }], served }).mesh.services[0]!;
    expect(on("h1").table).toEqual(on("h2").table);
    expect(on("h1").hashSeed).toBe(on("h2").hashSeed);
    expect(on("h1").backends.map((b) => b.local)).toEqual([true, false]);
    expect(on("h2").backends.map((b) => b.local)).toEqual([false, true]);
    expect(on("h3").localTable).toEqual([]);
  });

  it("keeps a service with no backend, with empty tables (the dataplane rejects its connections)", () => {
    const s = buildMeshPart({ node: "h1", services: [{ record: service("web"), backends: [] }], served }).mesh.services[0]!;
    expect(s.table).toEqual([]);
    expect(s.localTable).toEqual([]);
  });

  it("leaves out services of networks this host does not serve; dnsrr has no VIP; sorted by name", () => {
    const { mesh, serviceIps } = buildMeshPart({
      node: "h1",
      services: [
        { record: service("zeta", { vip: "10.40.255.2" }), backends: [] },
        { record: service("alpha", { mode: "dnsrr", vip: undefined }), backends: [] },
        { record: service("other", { network: "red", vip: "10.50.255.1" }), backends: [] },
      ],
      served,
    });
    expect(mesh.services.map((s) => s.name)).toEqual(["alpha", "zeta"]);
    expect(mesh.services[0]!.vip).toBeUndefined();
    expect(serviceIps).toEqual(new Map([["blue", ["10.40.255.2"]]]));
  });

  it("derives the seed from the name alone (FNV-1a, 32 bits)", () => {
    expect(hashSeed("")).toBe(0x811c9dc5);
    expect(hashSeed("a")).toBe(0xe40c292c);
    expect(hashSeed("web")).not.toBe(hashSeed("api"));
  });
});

describe("remoteGateways", () => {
  it("lists live other nodes' slice gateways with the MAC of the address and the node's underlay IP", () => {
    const nodes = new Map([["h1", node("h1", "10.251.0.1")], ["h2", node("h2", "10.251.0.2")]]);
    const leases = [lease("blue", "10.40.1.0/24", "h1"), lease("blue", "10.40.2.0/24", "h2"), lease("blue", "10.40.3.0/24", "gone")];
    expect(remoteGateways({ node: "h1", underlayIp: "10.251.0.1", leases, nodes })).toEqual([{ ip: "10.40.2.1", mac: macForAddress("10.40.2.1"), vtep: "10.251.0.2" }]);
  });
});

describe("buildHostDesiredState with services", () => {
  const networks = new Map([["blue", network("blue", 42, "10.40.0.0/16")], ["red", network("red", 7, "10.50.0.0/16")]]);
  const nodes = new Map([["h1", node("h1", "10.251.0.1")], ["h2", node("h2", "10.251.0.2")]]);
  const leases = new Map([
    ["blue", [lease("blue", "10.40.1.0/24", "h1"), lease("blue", "10.40.2.0/24", "h2")]],
    ["red", [lease("red", "10.50.1.0/24", "h1"), lease("red", "10.50.2.0/24", "h2")]],
  ]);
  const h2Backend: EndpointRecord = {
    network: "blue", endpointId: "b1", owner: "h2", version: 1, tombstone: false, ip: "10.40.2.2", mac: macForAddress("10.40.2.2"), vtep: "10.251.0.2", name: "b1", aliases: [], labels: { app: "web" }, deletedAtMs: 0,
  };
  const base = {
    node: "h1",
    underlay: { ip: "10.251.0.1", mtu: 1500, iface: "ul0" },
    egressSubnet: "172.18.0.0/16",
    networks,
    localEndpoints: [{ id: "e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1", name: "c1", network: "red", netns: "c1", ifName: "eth0", ip: "10.50.1.2", mac: macForAddress("10.50.1.2"), createdAt: "" }],
    entries: [h2Backend],
    slice: (n: string) => ({ blue: "10.40.1.0/24", red: "10.50.1.0/24" })[n],
    leases,
    nodes,
  };

  it("serves a network for its published service without local endpoints: gateway, VIP, other nodes' gateways, mesh", () => {
    const built = buildHostDesiredState({ ...base, servedNetworks: ["blue"], services: [{ record: service("web"), backends: [backend("10.40.2.2", "h2")] }] });
    const blue = built.desired.overlay.networks.find((n) => n.vni === 42)!;
    expect(blue.gateway).toBe("10.40.1.1/16");
    expect(blue.serviceIps).toEqual(["10.40.255.1"]);
    expect(blue.localEndpoints).toEqual([]);
    expect(blue.remoteEndpoints).toEqual([
      { ip: "10.40.2.1", mac: macForAddress("10.40.2.1"), vtep: "10.251.0.2" },
      { ip: "10.40.2.2", mac: macForAddress("10.40.2.2"), vtep: "10.251.0.2" },
    ]);
    expect(built.desired.firewall!.networks.map((n) => n.name)).toEqual(["red", "blue"]);
    expect(built.desired.mesh!.services.map((s) => [s.name, s.bridge])).toEqual([["web", "weft-br42"]]);
    // No service in red: no gateway entries there (a slice claimed elsewhere costs no full reconcile).
    const red = built.desired.overlay.networks.find((n) => n.vni === 7)!;
    expect(red.remoteEndpoints).toEqual([]);
    expect(red.serviceIps).toBeUndefined();
  });

  it("does not serve a network without a slice, nor one no service publishes in", () => {
    const noSlice = buildHostDesiredState({ ...base, slice: (n: string) => (n === "red" ? "10.50.1.0/24" : undefined), servedNetworks: ["blue"], services: [{ record: service("web"), backends: [] }] });
    expect(noSlice.desired.overlay.networks.map((n) => n.vni)).toEqual([7]);
    expect(noSlice.desired.mesh!.services).toEqual([]);
    const none = buildHostDesiredState(base);
    expect(none.desired.overlay.networks.map((n) => n.vni)).toEqual([7]);
    expect(none.desired.mesh).toEqual({ services: [] });
  });
});
