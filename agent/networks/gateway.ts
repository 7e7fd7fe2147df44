// A host's address on a network's bridge: the first address of its slice (allocation starts at the
// second, see controlplane/ipam). Containers reach weft's DNS there; the attach result reports it.
import { formatIPv4, parseIPv4Cidr, prefixLength } from "../../proto/values/index.js";

/** "10.40.3.0/24" -> "10.40.3.1". */
export function gatewayIp(sliceCidr: string): string {
  return formatIPv4(parseIPv4Cidr(sliceCidr, "slice").base + 1);
}

/** The gateway with the NETWORK's prefix length, as the bridge carries it: "10.40.3.1/16". */
export function gatewayCidr(sliceCidr: string, networkSubnet: string): string {
  return `${gatewayIp(sliceCidr)}/${prefixLength(networkSubnet)}`;
}
