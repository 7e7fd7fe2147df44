// What the topology page shows, as one JSON value: hosts with their peer state, networks, the
// endpoints on each host, services with their backends, and the traffic of every link. Pure: the
// agent's state and the observer's counters come in as values.
import type { NetworkRecord } from "../../controlplane/registry/index.js";
import type { ServiceMode, ServicePort } from "../../controlplane/services/index.js";
import type { ServiceWithBackends } from "../desired-state/mesh-part.js";
import type { EndpointView } from "../endpoints/endpoint-view.js";
import type { PeerView } from "../peers/peer-directory.js";
import type { LinkTraffic } from "../trace/trace-report.js";
import { linkKey, linkRates, type LinkRate, type TrafficSample } from "./link-rates.js";

/** self: the agent serving the page; unknown: a node only known as the owner of endpoints. */
export type HostState = "self" | "alive" | "suspect" | "dead" | "unknown";

export interface TopologyHost {
  name: string;
  underlayIp: string;
  state: HostState;
  /** When this agent last heard from it (ms since the epoch), when known. */
  lastSeenMs?: number;
  endpoints: number;
  /** The observer asked it for its counters and it did not answer. */
  trafficUnreachable: boolean;
}

export interface TopologyNetwork {
  name: string;
  vni: number;
  subnet: string;
  internal: boolean;
  /** Hosts with endpoints in it, sorted. */
  hosts: string[];
}

export interface TopologyEndpoint {
  id: string;
  name: string;
  network: string;
  host: string;
  ip: string;
  mac: string;
  labels: Record<string, string>;
}

export interface TopologyBackend {
  endpointId: string;
  name: string;
  ip: string;
  host: string;
}

export interface TopologyService {
  name: string;
  network: string;
  mode: ServiceMode;
  vip?: string;
  ports: ServicePort[];
  backends: TopologyBackend[];
}

export type TopologyLink = LinkTraffic & Partial<LinkRate> & { key: string };

export interface TopologySnapshot {
  /** The agent that built it. */
  node: string;
  atMs: number;
  hosts: TopologyHost[];
  networks: TopologyNetwork[];
  endpoints: TopologyEndpoint[];
  services: TopologyService[];
  links: TopologyLink[];
  traffic: {
    /** Hosts whose counters could not be read. */
    unreachable: string[];
    /** Why there are no counters at all (the observer failed), in plain words. */
    error?: string;
  };
  /** What was left out to keep the snapshot bounded (counts of the whole). */
  omitted?: { endpoints?: number; links?: number };
}

export interface TopologyInput {
  self: { name: string; underlayIp: string };
  nowMs: number;
  peers: readonly PeerView[];
  networks: readonly NetworkRecord[];
  endpoints: readonly EndpointView[];
  services: readonly ServiceWithBackends[];
  /** This reading of the counters; undefined with `trafficError` when the observer failed. */
  traffic?: TrafficSample & { unreachable: readonly string[] };
  /** The reading before it, for rates. */
  previousTraffic?: TrafficSample;
  trafficError?: string;
  /** Defaults: MAX_SNAPSHOT_ENDPOINTS and MAX_SNAPSHOT_LINKS. */
  limits?: { endpoints?: number; links?: number };
}

/** A page of boxes stops being readable long before this; the bound keeps each event small. */
export const MAX_SNAPSHOT_ENDPOINTS = 2000;
export const MAX_SNAPSHOT_LINKS = 4000;

// Plain code-unit order: names are ASCII (the one name rule), and Intl collation costs ~100x more at thousands of endpoints.
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const byName = (a: { name: string }, b: { name: string }): number => compare(a.name, b.name);

export function buildTopologySnapshot(input: TopologyInput): TopologySnapshot {
  const maxEndpoints = input.limits?.endpoints ?? MAX_SNAPSHOT_ENDPOINTS;
  const maxLinks = input.limits?.links ?? MAX_SNAPSHOT_LINKS;
  const unreachable = new Set(input.traffic?.unreachable ?? []);

  const allEndpoints = input.endpoints
    .map((e) => ({ order: ipOrder(e.ip), endpoint: { id: e.id, name: e.name, network: e.network, host: e.node, ip: e.ip, mac: e.mac, labels: { ...e.labels } } as TopologyEndpoint }))
    .sort(({ order: x, endpoint: a }, { order: y, endpoint: b }) => compare(a.host, b.host) || compare(a.network, b.network) || x - y || compare(a.id, b.id))
    .map(({ endpoint }) => endpoint);
  const endpointsPerHost = new Map<string, number>();
  for (const e of allEndpoints) endpointsPerHost.set(e.host, (endpointsPerHost.get(e.host) ?? 0) + 1);

  const hosts = new Map<string, TopologyHost>();
  const addHost = (host: Omit<TopologyHost, "endpoints" | "trafficUnreachable">): void => {
    hosts.set(host.name, { ...host, endpoints: endpointsPerHost.get(host.name) ?? 0, trafficUnreachable: unreachable.has(host.name) });
  };
  addHost({ name: input.self.name, underlayIp: input.self.underlayIp, state: "self" });
  for (const peer of input.peers) {
    if (peer.name === input.self.name) continue;
    addHost({ name: peer.name, underlayIp: peer.underlayIp, state: peer.state, ...(peer.lastSeenMs !== undefined ? { lastSeenMs: peer.lastSeenMs } : {}) });
  }
  for (const e of input.endpoints) {
    if (!hosts.has(e.node)) addHost({ name: e.node, underlayIp: e.vtep, state: "unknown" });
  }

  const hostsOfNetwork = new Map<string, Set<string>>();
  for (const e of allEndpoints) {
    if (!hostsOfNetwork.has(e.network)) hostsOfNetwork.set(e.network, new Set());
    hostsOfNetwork.get(e.network)!.add(e.host);
  }
  const networks = input.networks
    .map((n): TopologyNetwork => ({
      name: n.name,
      vni: n.vni,
      subnet: n.subnet,
      internal: n.internal,
      hosts: [...(hostsOfNetwork.get(n.name) ?? [])].sort(compare),
    }))
    .sort(byName);

  const endpointHost = new Map(allEndpoints.map((e) => [e.id, e.host]));
  const services = input.services
    .map(({ record, backends }): TopologyService => ({
      name: record.name,
      network: record.network,
      mode: record.mode,
      ...(record.vip !== undefined ? { vip: record.vip } : {}),
      ports: record.ports.map((p) => ({ ...p })),
      backends: backends.map((b) => ({ endpointId: b.endpointId, name: b.name, ip: b.ip, host: endpointHost.get(b.endpointId) ?? b.owner })),
    }))
    .sort(byName);

  const links = trafficLinks(input);
  const snapshot: TopologySnapshot = {
    node: input.self.name,
    atMs: input.nowMs,
    hosts: [...hosts.values()].sort((a, b) => (a.state === "self" ? -1 : b.state === "self" ? 1 : compare(a.name, b.name))),
    networks,
    endpoints: allEndpoints.slice(0, maxEndpoints),
    services,
    links: links.slice(0, maxLinks),
    traffic: { unreachable: [...unreachable].sort(), ...(input.trafficError !== undefined ? { error: input.trafficError } : {}) },
  };
  const omitted = {
    ...(allEndpoints.length > maxEndpoints ? { endpoints: allEndpoints.length } : {}),
    ...(links.length > maxLinks ? { links: links.length } : {}),
  };
  if (Object.keys(omitted).length > 0) snapshot.omitted = omitted;
  return snapshot;
}

function trafficLinks(input: TopologyInput): TopologyLink[] {
  if (input.traffic === undefined) return [];
  const rates = linkRates(input.previousTraffic, input.traffic);
  return (
    input.traffic.links
      // Fields one by one: object spread here cost ~20 µs a link (2000 links: 40 ms on every reading).
      .map((link): TopologyLink => {
        const key = linkKey(link);
        const out: TopologyLink = { key, host: link.host, kind: link.kind, name: link.name, rxBytes: link.rxBytes, txBytes: link.txBytes, rxPackets: link.rxPackets, txPackets: link.txPackets };
        if (link.network !== undefined) out.network = link.network;
        if (link.endpointId !== undefined) out.endpointId = link.endpointId;
        if (link.peer !== undefined) out.peer = link.peer;
        const rate = rates.get(key);
        if (rate !== undefined) {
          out.rxBytesPerSec = rate.rxBytesPerSec;
          out.txBytesPerSec = rate.txBytesPerSec;
          out.rxPacketsPerSec = rate.rxPacketsPerSec;
          out.txPacketsPerSec = rate.txPacketsPerSec;
        }
        return out;
      })
      // The key is host, kind, name and peer joined by NUL: its order is theirs.
      .sort((a, b) => compare(a.key, b.key))
  );
}

/** A dotted IPv4 address as a number, for sorting (0 for anything else). */
function ipOrder(ip: string): number {
  const octets = ip.split(".");
  if (octets.length !== 4) return 0;
  return octets.reduce((n, octet) => n * 256 + (Number(octet) || 0), 0);
}
