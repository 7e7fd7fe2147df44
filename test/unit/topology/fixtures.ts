// A small cluster as the agent sees it, for the topology tests: three hosts (h3 suspect), one
// network, endpoints on h1 and h2, the service web with a backend on each.
import type { NetworkRecord } from "../../../controlplane/registry/index.js";
import type { ServiceWithBackends } from "../../../agent/desired-state/mesh-part.js";
import type { EndpointView } from "../../../agent/endpoints/endpoint-view.js";
import type { PeerView } from "../../../agent/peers/peer-directory.js";
import type { TopologyAgent } from "../../../agent/topology/topology-feed.js";
import type { LinkTraffic } from "../../../agent/trace/trace-report.js";

export const NETWORK: NetworkRecord = { name: "weft-lab", vni: 42, subnet: "10.40.0.0/16", hostPrefixLen: 24, internal: false, mode: "overlay", attachable: true, labels: {}, createdAt: "2026-12-02T00:00:00Z" };

export function endpoint(id: string, name: string, node: string, ip: string, labels: Record<string, string> = {}): EndpointView {
  return { id, name, network: "weft-lab", node, ip, mac: "02:42:0a:28:00:02", vtep: node === "h1" ? "10.251.0.1" : "10.251.0.2", local: node === "h1", netns: "", aliases: [], labels, gateway: "", mtu: 0, interfaces: [], dns: undefined };
}

export const PEERS: PeerView[] = [
  { name: "h2", gossipAddr: "10.251.0.2:7946", underlayIp: "10.251.0.2", state: "alive", endpoints: 2, lastSeenMs: 1000 },
  { name: "h3", gossipAddr: "10.251.0.3:7946", underlayIp: "10.251.0.3", state: "suspect", endpoints: 0, lastSeenMs: 500 },
];

export const ENDPOINTS: EndpointView[] = [
  endpoint("e2h2", "c2", "h2", "10.40.1.2", { app: "web" }),
  endpoint("e1h1", "c1", "h1", "10.40.0.10"),
  endpoint("e3h1", "c3", "h1", "10.40.0.9", { app: "web" }),
];

export const SERVICES: ServiceWithBackends[] = [
  {
    record: { name: "web", network: "weft-lab", selector: { app: "web" }, ports: [{ protocol: "tcp", published: 8080, target: 80, publishMode: "ingress" }], mode: "vip", affinity: "none", vip: "10.40.255.1", createdAt: "" },
    backends: [
      { ip: "10.40.0.9", endpointId: "e3h1", owner: "h1", name: "c3" },
      { ip: "10.40.1.2", endpointId: "e2h2", owner: "h2", name: "c2" },
    ],
  },
];

export function link(host: string, kind: LinkTraffic["kind"], name: string, bytes: number, extra: Partial<LinkTraffic> = {}): LinkTraffic {
  return { host, kind, name, rxBytes: bytes, txBytes: bytes * 2, rxPackets: bytes / 100, txPackets: bytes / 50, ...extra };
}

export function fakeAgent(endpoints: EndpointView[] = ENDPOINTS): TopologyAgent & { endpoints: EndpointView[] } {
  const agent = {
    endpoints,
    peers: () => PEERS,
    listNetworks: () => [NETWORK],
    listEndpoints: () => agent.endpoints,
    services: { list: () => SERVICES },
  };
  return agent;
}
