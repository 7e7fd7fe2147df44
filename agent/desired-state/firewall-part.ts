// The firewall part of the desired state: what weft's nftables table must say for the networks this
// host serves (their bridges, subnets, this host's gateway address on each, internal or not) and for
// the egress bridge (masquerade out of the underlay interface). Rendering it is the dataplane's. Pure.
import type { NetworkRecord, NodeRecord } from "../../controlplane/registry/index.js";
import { bridgeName } from "../../dataplane/index.js";
import type { DesiredFirewall } from "../../dataplane/index.js";
import { isIPv4, isName } from "../../proto/values/index.js";
import { gatewayIp } from "../networks/gateway.js";

/** The only port containers may reach on their gateway address: weft's DNS. */
export const DNS_PORT = 53;

export interface FirewallInput {
  underlayIface: string;
  egress?: { bridge: string; subnet: string };
  /** The networks this host programs (those with local endpoints). */
  networks: readonly NetworkRecord[];
  /** This host's slice of a network. */
  slice: (network: string) => string | undefined;
  /** Live node records (the peer directory's members): VXLAN to and from each other one is counted. */
  nodes?: Iterable<NodeRecord>;
  /** This node, left out of the peers, as is any record with its underlay address. */
  self?: { node: string; underlayIp: string };
}

export function buildFirewallPart(input: FirewallInput): DesiredFirewall {
  const networks: DesiredFirewall["networks"] = [];
  for (const network of input.networks) {
    const slice = input.slice(network.name);
    if (slice === undefined) continue;
    networks.push({ name: network.name, vni: network.vni, bridge: bridgeName(network.vni), subnet: network.subnet, gatewayIp: gatewayIp(slice), internal: network.internal });
  }
  networks.sort((a, b) => a.vni - b.vni);
  const peers = underlayPeers(input.nodes ?? [], input.self);
  return {
    underlayIface: input.underlayIface,
    ...(input.egress ? { egress: { ...input.egress } } : {}),
    networks,
    dnsPort: DNS_PORT,
    ...(peers.length > 0 ? { peers } : {}),
  };
}

/** One peer per underlay address (a stale record sharing an address loses to the first name), by name. */
function underlayPeers(nodes: Iterable<NodeRecord>, self: FirewallInput["self"]): NonNullable<DesiredFirewall["peers"]> {
  const byIp = new Map<string, string>();
  const sorted = [...nodes].filter((n) => isName(n.name) && isIPv4(n.underlayIP)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const n of sorted) {
    if (n.name === self?.node || n.underlayIP === self?.underlayIp || byIp.has(n.underlayIP)) continue;
    byIp.set(n.underlayIP, n.name);
  }
  return [...byIp].map(([underlayIp, node]) => ({ node, underlayIp }));
}
