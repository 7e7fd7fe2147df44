// The egress part of the desired state: this host's egress bridge (weft_gwbridge) with the egress
// subnet's first address, and a leg per local endpoint that has one (endpoints of internal networks
// have none). Each leg carries the container's default route via the bridge's address. Pure.
import type { NetworkRecord } from "../../controlplane/registry/index.js";
import { parseIPv4Cidr } from "../../proto/values/index.js";
import { egressBridgeAddress } from "../endpoints/egress-allocation.js";
import { egressHostIfNameFor, type DesiredEgress, type DesiredEgressLeg } from "../../dataplane/index.js";
import type { LocalEndpoint } from "../state-store.js";

export const EGRESS_BRIDGE = "weft_gwbridge";
export const DEFAULT_EGRESS_SUBNET = "172.18.0.0/16";

export interface EgressInput {
  /** Canonical CIDR, e.g. 172.18.0.0/16. */
  subnet: string;
  /** The bridge's and every leg's MTU. */
  mtu: number;
  networks: ReadonlyMap<string, NetworkRecord>;
  localEndpoints: readonly LocalEndpoint[];
}

export function buildEgressPart(input: EgressInput): DesiredEgress {
  const address = egressBridgeAddress(input.subnet);
  const gateway = address.slice(0, address.indexOf("/"));
  const prefix = parseIPv4Cidr(input.subnet, "egress-subnet").prefix;
  const legs: DesiredEgressLeg[] = [];
  for (const endpoint of input.localEndpoints) {
    const network = input.networks.get(endpoint.network);
    if (!endpoint.egress || !network || network.internal) continue;
    legs.push({
      endpointId: endpoint.id,
      hostIfName: egressHostIfNameFor(endpoint.id),
      netns: endpoint.netns,
      ...(endpoint.netnsId ? { netnsId: endpoint.netnsId } : {}),
      ifName: endpoint.egress.ifName,
      ip: `${endpoint.egress.ip}/${prefix}`,
      mac: endpoint.egress.mac,
      gateway,
    });
  }
  legs.sort((a, b) => (a.endpointId < b.endpointId ? -1 : a.endpointId > b.endpointId ? 1 : 0));
  return { bridge: { name: EGRESS_BRIDGE, address, mtu: input.mtu }, legs };
}
