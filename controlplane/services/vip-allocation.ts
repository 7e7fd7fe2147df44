// Service VIPs come from a slice of the network no node may claim: its last slice (pure).
import { formatIPv4, formatIPv4Cidr, parseIPv4Cidr } from "../../proto/values/index.js";
import type { NetworkRecord } from "../registry/records.js";

/** The network's reserved service slice: its last /hostPrefixLen slice (10.40.255.0/24 of 10.40.0.0/16). */
export function serviceSlice(network: Pick<NetworkRecord, "subnet" | "hostPrefixLen">): string {
  const subnet = parseIPv4Cidr(network.subnet, "subnet");
  const size = 2 ** (32 - subnet.prefix);
  const sliceSize = 2 ** (32 - network.hostPrefixLen);
  return formatIPv4Cidr({ base: subnet.base + size - sliceSize, prefix: network.hostPrefixLen });
}

/**
 * The first address of the network's service slice not in `taken`, skipping the slice's network and
 * broadcast addresses; undefined when every one is taken.
 */
export function chooseVip(network: Pick<NetworkRecord, "subnet" | "hostPrefixLen">, taken: ReadonlySet<string>): string | undefined {
  const slice = parseIPv4Cidr(serviceSlice(network), "slice");
  const size = 2 ** (32 - slice.prefix);
  for (let offset = 1; offset < size - 1; offset++) {
    const ip = formatIPv4(slice.base + offset);
    if (!taken.has(ip)) return ip;
  }
  return undefined;
}
