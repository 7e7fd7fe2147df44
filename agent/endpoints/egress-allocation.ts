// Each endpoint of a non-internal network gets a leg on this host's egress bridge: an address from
// the agent's egress subnet (the subnet's first address is the bridge's, the container's default
// gateway) and an interface name not already used in its namespace. Pure.
import { allocateAddress } from "../../controlplane/ipam/index.js";
import { formatIPv4, formatIPv4Cidr, macForAddress, parseIPv4Cidr, sliceContains, WeftError } from "../../proto/values/index.js";
import type { EgressLeg, LocalEndpoint } from "../state-store.js";

export const DEFAULT_EGRESS_IF_NAME = "eth1";

/**
 * The leg for a new endpoint in `netns` whose overlay interface is `ifName`, or undefined when the
 * namespace already has one (one default route per namespace: the first endpoint's leg serves it).
 */
export function allocateEgressLeg(subnet: string, endpoints: readonly LocalEndpoint[], netns: string, ifName: string): EgressLeg | undefined {
  const sameNetns = endpoints.filter((e) => e.netns === netns);
  if (sameNetns.some((e) => e.egress !== undefined)) return undefined;
  const used = new Set(endpoints.flatMap((e) => (e.egress ? [e.egress.ip] : [])));
  let ip: string;
  try {
    ip = allocateAddress(subnet, used);
  } catch (err) {
    throw new WeftError("resource-exhausted", `egress: the egress subnet ${subnet} has no free address`, { field: "egress", cause: err });
  }
  const taken = new Set([ifName, ...sameNetns.map((e) => e.ifName)]);
  let legIfName = DEFAULT_EGRESS_IF_NAME;
  for (let n = 2; taken.has(legIfName); n++) legIfName = `eth${n}`;
  return { ifName: legIfName, ip, mac: macForAddress(ip) };
}

/**
 * Gives a new address to every leg outside `subnet` (the agent's egress subnet changed since they were
 * made), in place; returns how many moved.
 */
export function reassignEgressLegs(subnet: string, endpoints: LocalEndpoint[]): number {
  const canonical = formatIPv4Cidr(parseIPv4Cidr(subnet, "egress-subnet"));
  const inside = (ip: string): boolean => sliceContains(canonical, ip);
  const used = new Set(endpoints.flatMap((e) => (e.egress && inside(e.egress.ip) ? [e.egress.ip] : [])));
  let moved = 0;
  for (const endpoint of endpoints) {
    if (!endpoint.egress || inside(endpoint.egress.ip)) continue;
    const ip = allocateAddress(canonical, used);
    used.add(ip);
    endpoint.egress = { ifName: endpoint.egress.ifName, ip, mac: macForAddress(ip) };
    moved += 1;
  }
  return moved;
}

/** The bridge's address with the subnet's prefix: "172.18.0.0/16" -> "172.18.0.1/16". */
export function egressBridgeAddress(subnet: string): string {
  const cidr = parseIPv4Cidr(subnet, "egress-subnet");
  return `${formatIPv4(cidr.base + 1)}/${cidr.prefix}`;
}
