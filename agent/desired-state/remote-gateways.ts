// Other nodes' gateway addresses on a network, as remote entries of the overlay part. The mesh DNATs
// a connection to a backend on another host and masquerades it to this host's gateway; the backend's
// replies come back to that address over the overlay, so every node must reach every other node's
// gateway: ip = the first address of its slice, mac = macForAddress(ip) (the MAC its bridge carries),
// vtep = its registered underlay IP. Only live nodes (with a node record) count. Pure.
import type { NodeRecord, SubnetLease } from "../../controlplane/registry/index.js";
import type { DesiredRemoteEndpoint } from "../../dataplane/index.js";
import { macForAddress } from "../../proto/values/index.js";
import { gatewayIp } from "../networks/gateway.js";
import { remoteEntryProblem } from "./overlay-part.js";

export interface GatewayInput {
  node: string;
  underlayIp: string;
  /** The network's slice leases. */
  leases: readonly SubnetLease[];
  nodes: ReadonlyMap<string, NodeRecord>;
}

export function remoteGateways(input: GatewayInput): DesiredRemoteEndpoint[] {
  const out: DesiredRemoteEndpoint[] = [];
  for (const lease of input.leases) {
    if (lease.node === input.node) continue;
    const owner = input.nodes.get(lease.node);
    if (owner === undefined) continue;
    const ip = gatewayIp(lease.cidr);
    const entry = { ip, mac: macForAddress(ip), vtep: owner.underlayIP };
    if (remoteEntryProblem(entry, input.underlayIp) === undefined) out.push(entry);
  }
  return out;
}
