// The firewall part of the desired state: what weft's nftables table must say for the networks this
// host serves (their bridges, subnets, this host's gateway address on each, internal or not) and for
// the egress bridge (masquerade out of the underlay interface). Rendering it is the dataplane's. Pure.
import type { NetworkRecord } from "../../controlplane/registry/index.js";
import { bridgeName } from "../../dataplane/index.js";
import type { DesiredFirewall } from "../../dataplane/index.js";
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
}

export function buildFirewallPart(input: FirewallInput): DesiredFirewall {
  const networks: DesiredFirewall["networks"] = [];
  for (const network of input.networks) {
    const slice = input.slice(network.name);
    if (slice === undefined) continue;
    networks.push({ name: network.name, vni: network.vni, bridge: bridgeName(network.vni), subnet: network.subnet, gatewayIp: gatewayIp(slice), internal: network.internal });
  }
  networks.sort((a, b) => a.vni - b.vni);
  return { underlayIface: input.underlayIface, ...(input.egress ? { egress: { ...input.egress } } : {}), networks, dnsPort: DNS_PORT };
}
