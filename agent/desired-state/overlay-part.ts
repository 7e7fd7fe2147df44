// The overlay part of the desired kernel state: the controlplane's facts (networks, this node's own
// endpoints, every other node's endpoints from gossip) become bridges, VXLAN devices, veths, FDB and
// neighbour entries to have. Pure. A gossip entry that cannot be programmed is skipped on its own and
// listed, so one bad entry never costs the rest.
import type { NetworkRecord } from "../../controlplane/registry/index.js";
import type { EndpointRecord } from "../../controlplane/gossip/index.js";
import { hostIfNameFor, vtepMacFor } from "../../dataplane/index.js";
import { isIPv4, isMac, isMulticastMac, prefixLength } from "../../proto/values/index.js";
import type { DesiredNetwork, DesiredOverlay, DesiredRemoteEndpoint } from "../../dataplane/index.js";
import type { LocalEndpoint } from "../state-store.js";
import { gatewayCidr } from "../networks/gateway.js";

/** Encapsulation cost of VXLAN over IPv4: outer IP 20 + UDP 8 + VXLAN 8 + inner Ethernet 14. */
export const VXLAN_OVERHEAD = 50;

export interface OverlayInput {
  node: string;
  underlay: { ip: string; mtu: number };
  networks: ReadonlyMap<string, NetworkRecord>;
  localEndpoints: readonly LocalEndpoint[];
  /** Live gossip entries of every owner; this node's own are skipped. */
  entries: readonly EndpointRecord[];
  /** This node's slice of a network: its first address becomes the bridge's (the gateway). */
  slice?: (network: string) => string | undefined;
  /** Networks programmed although no local endpoint uses them (they have services with published ports). */
  servedNetworks?: Iterable<string>;
  /** Other nodes' gateway addresses on a programmed network, as remote entries (see remote-gateways.ts). */
  remoteGateways?: (network: string) => DesiredRemoteEndpoint[];
}

export interface SkippedEntry {
  /** network/owner/endpointId */
  entry: string;
  reason: string;
}

export interface OverlayPart {
  overlay: DesiredOverlay;
  /** Networks programmed (those with local endpoints, and those served for their services): name -> VNI. The incremental path builds on it. */
  programmedVnis: Map<string, number>;
  skipped: SkippedEntry[];
  remoteEndpoints: number;
}

export function buildOverlayPart(input: OverlayInput): OverlayPart {
  const byNetwork = new Map<string, DesiredNetwork>();
  const programmedVnis = new Map<string, number>();
  const program = (network: NetworkRecord): DesiredNetwork => {
    let desired = byNetwork.get(network.name);
    if (desired) return desired;
    desired = {
      vni: network.vni,
      vtepMac: vtepMacFor(input.node, network.vni),
      mtu: overlayMtu(input.underlay.mtu, network.mtu),
      localEndpoints: [],
      remoteEndpoints: [],
    };
    const slice = input.slice?.(network.name);
    if (slice !== undefined) desired.gateway = gatewayCidr(slice, network.subnet);
    byNetwork.set(network.name, desired);
    programmedVnis.set(network.name, network.vni);
    return desired;
  };
  for (const endpoint of input.localEndpoints) {
    const network = input.networks.get(endpoint.network);
    // A network gone from the view while endpoints remain: nothing can be programmed for it.
    if (!network) continue;
    program(network).localEndpoints.push({
      id: endpoint.id,
      hostIfName: hostIfNameFor(endpoint.id),
      netns: endpoint.netns,
      ...(endpoint.netnsId ? { netnsId: endpoint.netnsId } : {}),
      ifName: endpoint.ifName,
      mac: endpoint.mac,
      ip: endpoint.ip,
      prefixLen: prefixLength(network.subnet),
    });
  }
  for (const name of input.servedNetworks ?? []) {
    const network = input.networks.get(name);
    // Served for its services only through a gateway: without a slice there is nothing to serve with.
    if (network && input.slice?.(name) !== undefined) program(network);
  }
  const skipped: SkippedEntry[] = [];
  let remoteEndpoints = 0;
  for (const entry of input.entries) {
    if (entry.tombstone || entry.owner === input.node) continue;
    const desired = byNetwork.get(entry.network);
    if (!desired) continue;
    const problem = remoteEntryProblem(entry, input.underlay.ip);
    if (problem !== undefined) {
      skipped.push({ entry: `${entry.network}/${entry.owner}/${entry.endpointId}`, reason: problem });
      continue;
    }
    desired.remoteEndpoints.push({ ip: entry.ip, mac: entry.mac, vtep: entry.vtep });
    remoteEndpoints += 1;
  }
  if (input.remoteGateways) {
    for (const [name, desired] of byNetwork) {
      const taken = new Set(desired.remoteEndpoints.map((e) => e.ip));
      for (const gateway of input.remoteGateways(name)) {
        if (taken.has(gateway.ip)) continue;
        taken.add(gateway.ip);
        desired.remoteEndpoints.push(gateway);
        remoteEndpoints += 1;
      }
    }
  }
  const networks = [...byNetwork.values()].sort((a, b) => a.vni - b.vni);
  // Code-unit order, not localeCompare: at 50,000 remote endpoints ICU collation alone took ~0.3 s.
  for (const n of networks) {
    n.localEndpoints.sort((a, b) => byCodeUnits(a.id, b.id));
    n.remoteEndpoints.sort((a, b) => byCodeUnits(a.ip, b.ip));
  }
  return { overlay: { networks }, programmedVnis, skipped, remoteEndpoints };
}

/** Why a remote entry cannot become FDB and neighbour entries here, or undefined. */
export function remoteEntryProblem(entry: Pick<EndpointRecord, "ip" | "mac" | "vtep">, underlayIp: string): string | undefined {
  if (!isIPv4(entry.ip)) return "ip is not an IPv4 address";
  if (!isMac(entry.mac) || isMulticastMac(entry.mac)) return "mac is not a unicast MAC address";
  if (!isIPv4(entry.vtep)) return "vtep is not an IPv4 address";
  if (entry.vtep === underlayIp) return "vtep is this node's own underlay address";
  return undefined;
}

export function overlayMtu(underlayMtu: number, networkMtu: number | undefined): number {
  const fits = underlayMtu - VXLAN_OVERHEAD;
  return networkMtu === undefined ? fits : Math.min(networkMtu, fits);
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
