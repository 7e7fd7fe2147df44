// The whole desired state of this host, part by part: overlay (with this host's gateway on each
// bridge), egress (the gwbridge and each endpoint's leg), firewall (isolation, DNS-only gateway,
// masquerade). Pure.
import type { EndpointRecord } from "../../controlplane/gossip/index.js";
import type { NetworkRecord } from "../../controlplane/registry/index.js";
import type { DesiredState } from "../../dataplane/index.js";
import type { LocalEndpoint } from "../state-store.js";
import { buildEgressPart, EGRESS_BRIDGE } from "./egress-part.js";
import { buildFirewallPart } from "./firewall-part.js";
import { buildOverlayPart, overlayMtu, type SkippedEntry } from "./overlay-part.js";

export interface HostDesiredInput {
  node: string;
  underlay: { ip: string; mtu: number; iface: string };
  egressSubnet: string;
  networks: ReadonlyMap<string, NetworkRecord>;
  localEndpoints: readonly LocalEndpoint[];
  entries: readonly EndpointRecord[];
  slice: (network: string) => string | undefined;
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
  const part = buildOverlayPart({ node: input.node, underlay, networks, localEndpoints, entries: input.entries, slice });
  const programmed = [...part.programmedVnis.keys()].flatMap((name) => networks.get(name) ?? []);
  const desired: DesiredState = {
    underlay,
    overlay: part.overlay,
    egress: buildEgressPart({ subnet: input.egressSubnet, mtu: overlayMtu(underlay.mtu, undefined), networks, localEndpoints }),
    firewall: buildFirewallPart({ underlayIface: underlay.iface, egress: { bridge: EGRESS_BRIDGE, subnet: input.egressSubnet }, networks: programmed, slice }),
  };
  return { desired, programmedVnis: part.programmedVnis, remoteEndpoints: part.remoteEndpoints, skipped: part.skipped };
}
