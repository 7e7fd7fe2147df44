// An endpoint as the API shows it: local ones carry their namespace, interfaces, gateway, MTU and
// resolver (the attach result: the shape a CNI plugin returns); remote ones come from gossip.
import type { EndpointRecord } from "../../controlplane/gossip/index.js";
import type { NetworkRecord } from "../../controlplane/registry/index.js";
import { parseIPv4, prefixLength } from "../../proto/values/index.js";
import { overlayMtu } from "../desired-state/overlay-part.js";
import { gatewayIp } from "../networks/gateway.js";
import type { LocalEndpoint } from "../state-store.js";

export interface EndpointInterfaceView {
  name: string;
  mac: string;
  /** CIDR form. */
  ip: string;
}

export interface EndpointView {
  id: string;
  name: string;
  network: string;
  node: string;
  ip: string;
  mac: string;
  vtep: string;
  local: boolean;
  netns: string;
  aliases: string[];
  labels: Record<string, string>;
  /** Local endpoints: this host's address on the network's bridge; "" when unknown. */
  gateway: string;
  /** Local endpoints: the overlay MTU; 0 when unknown. */
  mtu: number;
  interfaces: EndpointInterfaceView[];
  dns: { nameservers: string[]; search: string[] } | undefined;
}

/** What a local endpoint's full view needs besides the endpoint. */
export interface LocalViewContext {
  node: string;
  vtep: string;
  underlayMtu: number;
  /** Prefix length of the egress subnet. */
  egressPrefix: number;
  network(name: string): NetworkRecord | undefined;
  /** This host's slice of the network, if it holds (or held) one. */
  slice(network: string): string | undefined;
}

export function localView(endpoint: LocalEndpoint, context: LocalViewContext): EndpointView {
  const network = context.network(endpoint.network);
  const slice = context.slice(endpoint.network);
  const gateway = slice === undefined ? "" : gatewayIp(slice);
  const interfaces: EndpointInterfaceView[] = [];
  if (network) interfaces.push({ name: endpoint.ifName, mac: endpoint.mac, ip: `${endpoint.ip}/${prefixLength(network.subnet)}` });
  if (endpoint.egress) interfaces.push({ name: endpoint.egress.ifName, mac: endpoint.egress.mac, ip: `${endpoint.egress.ip}/${context.egressPrefix}` });
  return {
    id: endpoint.id,
    name: endpoint.name,
    network: endpoint.network,
    node: context.node,
    ip: endpoint.ip,
    mac: endpoint.mac,
    vtep: context.vtep,
    local: true,
    netns: endpoint.netns,
    aliases: [...(endpoint.aliases ?? [])],
    labels: { ...(endpoint.labels ?? {}) },
    gateway,
    mtu: network ? overlayMtu(context.underlayMtu, network.mtu) : 0,
    interfaces,
    dns: gateway === "" ? undefined : { nameservers: [gateway], search: [endpoint.network] },
  };
}

export function remoteView(entry: EndpointRecord): EndpointView {
  return {
    id: entry.endpointId,
    name: entry.name,
    network: entry.network,
    node: entry.owner,
    ip: entry.ip,
    mac: entry.mac,
    vtep: entry.vtep,
    local: false,
    netns: "",
    aliases: [...entry.aliases],
    labels: { ...entry.labels },
    gateway: "",
    mtu: 0,
    interfaces: [],
    dns: undefined,
  };
}

/** Every endpoint this node knows: its own, then the live gossip entries of other owners; by network, then IP. */
export function listEndpointViews(input: {
  context: LocalViewContext;
  local: readonly LocalEndpoint[];
  entries: readonly EndpointRecord[];
  network?: string;
}): EndpointView[] {
  const views = input.local.map((e) => localView(e, input.context));
  const localIds = new Set(views.map((v) => v.id));
  for (const entry of input.entries) {
    if (localIds.has(entry.endpointId) || entry.owner === input.context.node) continue;
    views.push(remoteView(entry));
  }
  return views
    .filter((v) => input.network === undefined || input.network === "" || v.network === input.network)
    .sort((a, b) => (a.network < b.network ? -1 : a.network > b.network ? 1 : ipOrder(a.ip) - ipOrder(b.ip)));
}

function ipOrder(ip: string): number {
  try {
    return parseIPv4(ip);
  } catch {
    return -1;
  }
}
