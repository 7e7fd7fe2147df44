// A two-host trace on fake snapshots: h1's container a (10.40.1.2) to h2's container b (10.40.2.2) on
// network lab (VNI 42), every kernel object as weft programs it. Tests break one thing each.
import type { HostSnapshot, LinkSnapshot } from "../../../dataplane/inspect/index.js";
import type { EndpointFact, HostPart, NetworkFact, PeerFact, TraceFacts } from "../../../agent/trace/trace-facts.js";

export const A: EndpointFact = { id: "a1a1a1a1a1a1a1a1", name: "a", network: "lab", node: "h1", ip: "10.40.1.2", mac: "02:42:0a:28:01:02", vtep: "10.251.0.1" };
export const B: EndpointFact = { id: "b2b2b2b2b2b2b2b2", name: "b", network: "lab", node: "h2", ip: "10.40.2.2", mac: "02:42:0a:28:02:02", vtep: "10.251.0.2" };
export const LAB: NetworkFact = { name: "lab", vni: 42, subnet: "10.40.0.0/16", mtu: 1450, internal: false };
export const ISO: NetworkFact = { name: "iso", vni: 43, subnet: "10.41.0.0/16", mtu: 1450, internal: false };

export function link(name: string, extra: Partial<LinkSnapshot> = {}): LinkSnapshot {
  return { name, up: true, operstate: "UP", mtu: 1450, mac: "02:00:00:00:00:01", counters: { rxBytes: 100, rxPackets: 1, txBytes: 100, txPackets: 1, rxDropped: 0, txDropped: 0 }, ...extra };
}

function host(name: string, local: EndpointFact, remote: EndpointFact | undefined, peerVtep: string | undefined): HostSnapshot {
  const vx = "weft-vx42";
  return {
    host: name,
    readAtMs: 1,
    links: [link("weft-br42"), link(vx, { master: "weft-br42", operstate: "UNKNOWN" }), link(`weft${local.id.slice(0, 11)}`, { master: "weft-br42" }), link("ul0", { mtu: 1500 })],
    fdb: remote ? [{ device: vx, mac: remote.mac, dst: remote.vtep, state: "permanent" }] : [],
    neighbours: remote ? [{ device: vx, ip: remote.ip, mac: remote.mac, state: ["PERMANENT"] }] : [],
    routes: peerVtep ? [{ dst: peerVtep, dev: "ul0" }] : [],
    namespaces: { [local.id]: { link: link("eth0"), route: { dst: remote?.ip ?? "10.40.255.254", dev: "eth0" } } },
    nft: {
      table: true,
      counters: [{ name: "mesh_no_backend", packets: 0, bytes: 0 }],
      maps: [],
      rules: [
        { chain: "forward", handle: 5, text: "ip saddr @internal_subnets iifname . oifname != @same_bridge drop" },
        { chain: "forward", handle: 7, text: "oifname @overlay_bridges iifname . oifname != @same_bridge drop" },
      ],
    },
    errors: [],
  };
}

export type MutableFacts = TraceFacts & { hosts: Map<string, HostPart>; peers: Map<string, PeerFact> };

export function healthyFacts(): MutableFacts {
  const h1: HostPart = { host: "h1", snapshot: host("h1", A, B, B.vtep) };
  const h2: HostPart = { host: "h2", snapshot: host("h2", B, undefined, undefined) };
  const peers = new Map<string, PeerFact>([
    ["h1", { name: "h1", state: "self", underlayIp: A.vtep }],
    ["h2", { name: "h2", state: "alive", underlayIp: B.vtep }],
  ]);
  return {
    from: A,
    to: { kind: "endpoint", endpoint: B },
    proto: "icmp",
    networks: new Map([["lab", LAB], ["iso", ISO]]),
    peers,
    underlayMtu: 1500,
    hosts: new Map([["h1", h1], ["h2", h2]]),
  };
}
