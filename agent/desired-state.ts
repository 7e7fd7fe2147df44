// Where the two halves meet: the controlplane's facts (networks from etcd, endpoints from gossip,
// this node's own endpoints) become the dataplane's desired kernel state. Pure.
import type { NetworkRecord } from "../controlplane/registry/index.js";
import type { EndpointRecord } from "../controlplane/gossip/index.js";
import { hostIfNameFor, vtepMacFor, type DesiredNetwork, type DesiredState } from "../dataplane/index.js";
import type { LocalEndpoint } from "./state-store.js";

/** Encapsulation cost of VXLAN over IPv4: outer IP 20 + UDP 8 + VXLAN 8 + inner Ethernet 14. */
export const VXLAN_OVERHEAD = 50;

export interface DesiredStateInput {
  node: string;
  underlay: { ip: string; mtu: number };
  networks: ReadonlyMap<string, NetworkRecord>;
  localEndpoints: readonly LocalEndpoint[];
  /** Live gossip entries of every owner; this node's own are skipped. */
  entries: readonly EndpointRecord[];
}

export function buildDesiredState(input: DesiredStateInput): DesiredState {
  const byNetwork = new Map<string, DesiredNetwork>();
  for (const endpoint of input.localEndpoints) {
    const network = input.networks.get(endpoint.network);
    // A network removed from etcd while endpoints remain: nothing can be programmed for it.
    if (!network) continue;
    let desired = byNetwork.get(network.name);
    if (!desired) {
      desired = {
        vni: network.vni,
        vtepMac: vtepMacFor(input.node, network.vni),
        mtu: overlayMtu(input.underlay.mtu, network.mtu),
        localEndpoints: [],
        remoteEndpoints: [],
      };
      byNetwork.set(network.name, desired);
    }
    desired.localEndpoints.push({
      id: endpoint.id,
      hostIfName: hostIfNameFor(endpoint.id),
      netns: endpoint.netns,
      ifName: endpoint.ifName,
      mac: endpoint.mac,
      ip: endpoint.ip,
      prefixLen: prefixLengthOf(network.subnet),
    });
  }
  for (const entry of input.entries) {
    if (entry.tombstone || entry.owner === input.node || entry.vtep === input.underlay.ip) continue;
    const desired = byNetwork.get(entry.network);
    if (!desired) continue;
    desired.remoteEndpoints.push({ ip: entry.ip, mac: entry.mac, vtep: entry.vtep });
  }
  const networks = [...byNetwork.values()].sort((a, b) => a.vni - b.vni);
  // Code-unit order, not localeCompare: at 50,000 remote endpoints ICU collation alone took ~0.3 s.
  for (const n of networks) {
    n.localEndpoints.sort((a, b) => byCodeUnits(a.id, b.id));
    n.remoteEndpoints.sort((a, b) => byCodeUnits(a.ip, b.ip));
  }
  return { underlay: { ...input.underlay }, networks };
}

export function overlayMtu(underlayMtu: number, networkMtu: number | undefined): number {
  const fits = underlayMtu - VXLAN_OVERHEAD;
  return networkMtu === undefined ? fits : Math.min(networkMtu, fits);
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function prefixLengthOf(cidr: string): number {
  return Number(cidr.split("/")[1]);
}
