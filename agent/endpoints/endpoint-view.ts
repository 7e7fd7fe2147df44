// An endpoint as the API shows it: local ones carry their namespace, remote ones come from gossip.
import type { EndpointRecord } from "../../controlplane/gossip/index.js";
import { parseIPv4 } from "../../proto/values/index.js";
import type { LocalEndpoint } from "../state-store.js";

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
}

export function localView(endpoint: LocalEndpoint, node: string, vtep: string): EndpointView {
  return { id: endpoint.id, name: endpoint.name, network: endpoint.network, node, ip: endpoint.ip, mac: endpoint.mac, vtep, local: true, netns: endpoint.netns };
}

export function remoteView(entry: EndpointRecord): EndpointView {
  return { id: entry.endpointId, name: entry.name, network: entry.network, node: entry.owner, ip: entry.ip, mac: entry.mac, vtep: entry.vtep, local: false, netns: "" };
}

/** Every endpoint this node knows: its own, then the live gossip entries of other owners; by network, then IP. */
export function listEndpointViews(input: {
  node: string;
  vtep: string;
  local: readonly LocalEndpoint[];
  entries: readonly EndpointRecord[];
  network?: string;
}): EndpointView[] {
  const views = input.local.map((e) => localView(e, input.node, input.vtep));
  const localIds = new Set(views.map((v) => v.id));
  for (const entry of input.entries) {
    if (localIds.has(entry.endpointId) || entry.owner === input.node) continue;
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
