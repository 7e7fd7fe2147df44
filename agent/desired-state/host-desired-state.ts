// The whole desired state of this host, part by part: overlay (with this host's gateway on each
// bridge, the service VIPs, other nodes' gateways), egress (the gwbridge and each endpoint's leg),
// firewall (isolation, DNS-only gateway, masquerade), mesh (services and published ports). Pure.
import type { EndpointRecord } from "../../controlplane/gossip/index.js";
import type { NetworkRecord, NodeRecord, SubnetLease } from "../../controlplane/registry/index.js";
import type { DesiredRemoteEndpoint, DesiredState } from "../../dataplane/index.js";
import type { LocalEndpoint } from "../state-store.js";
import { buildEgressPart, EGRESS_BRIDGE } from "./egress-part.js";
import { buildFirewallPart } from "./firewall-part.js";
import { buildMeshPart, type ServiceWithBackends } from "./mesh-part.js";
import { buildOverlayPart, overlayMtu, type SkippedEntry } from "./overlay-part.js";
import { remoteGateways } from "./remote-gateways.js";

export interface HostDesiredInput {
  node: string;
  underlay: { ip: string; mtu: number; iface: string };
  egressSubnet: string;
  networks: ReadonlyMap<string, NetworkRecord>;
  localEndpoints: readonly LocalEndpoint[];
  entries: readonly EndpointRecord[];
  slice: (network: string) => string | undefined;
  /** Networks served for their published services although no local endpoint uses them. */
  servedNetworks?: Iterable<string>;
  /** Services with their backends (the service view's). */
  services?: readonly ServiceWithBackends[];
  /** Slice leases by network and live node records: other nodes' gateways (in networks with a service). */
  leases?: ReadonlyMap<string, readonly SubnetLease[]>;
  nodes?: ReadonlyMap<string, NodeRecord>;
}

export interface HostDesired {
  desired: DesiredState;
  programmedVnis: Map<string, number>;
  remoteEndpoints: number;
  skipped: SkippedEntry[];
}

export function buildHostDesiredState(input: HostDesiredInput): HostDesired {
  const { networks, localEndpoints, slice } = input;
  const underlay = { ...input.underlay };
  const { leases, nodes } = input;
  // Other nodes' gateways matter only where the mesh may masquerade to them: networks with a service.
  const serviceNetworks = new Set((input.services ?? []).map((s) => s.record.network));
  const gateways = (network: string): DesiredRemoteEndpoint[] =>
    leases && nodes && serviceNetworks.has(network) ? remoteGateways({ node: input.node, underlayIp: underlay.ip, leases: leases.get(network) ?? [], nodes }) : [];
  const part = buildOverlayPart({
    node: input.node,
    underlay,
    networks,
    localEndpoints,
    entries: input.entries,
    slice,
    ...(input.servedNetworks ? { servedNetworks: input.servedNetworks } : {}),
    remoteGateways: gateways,
  });
  const programmed = [...part.programmedVnis.keys()].flatMap((name) => networks.get(name) ?? []);
  const firewall = buildFirewallPart({ underlayIface: underlay.iface, egress: { bridge: EGRESS_BRIDGE, subnet: input.egressSubnet }, networks: programmed, slice, ...(nodes ? { nodes: nodes.values(), self: { node: input.node, underlayIp: underlay.ip } } : {}) });
  // The mesh forwards only into networks whose bridge has this host's gateway (the firewall's networks).
  const served = new Map(firewall.networks.map((n) => [n.name, n.vni]));
  const mesh = buildMeshPart({ node: input.node, services: input.services ?? [], served });
  for (const network of part.overlay.networks) {
    const name = programmed.find((n) => n.vni === network.vni)?.name;
    const ips = name === undefined ? undefined : mesh.serviceIps.get(name);
    if (ips !== undefined) network.serviceIps = ips;
  }
  const desired: DesiredState = {
    underlay,
    overlay: part.overlay,
    egress: buildEgressPart({ subnet: input.egressSubnet, mtu: overlayMtu(underlay.mtu, undefined), networks, localEndpoints }),
    firewall,
    mesh: mesh.mesh,
  };
  return { desired, programmedVnis: part.programmedVnis, remoteEndpoints: part.remoteEndpoints, skipped: part.skipped };
}
