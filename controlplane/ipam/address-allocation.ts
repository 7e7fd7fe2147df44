// Choosing an endpoint's address inside this host's slice: the lowest free one, or one the caller
// asks for (Docker's IPAM driver hands out addresses before the attach), checked here.
import { WeftError } from "../../proto/values/index.js";
import { formatIPv4, formatIPv4Cidr, maskOf, parseIPv4, parseIPv4Cidr } from "../../proto/values/index.js";

/**
 * The lowest address of the slice not in `used` (the highest with `from: "top"`), skipping the
 * slice's network address, the address after it (reserved for a gateway) and the last (broadcast).
 */
export function allocateAddress(sliceCidr: string, used: ReadonlySet<string>, options: { from?: "bottom" | "top" } = {}): string {
  const slice = parseIPv4Cidr(sliceCidr, "slice");
  const size = 2 ** (32 - slice.prefix);
  for (let i = 2; i < size - 1; i++) {
    const offset = options.from === "top" ? size - i : i;
    const ip = formatIPv4(slice.base + offset);
    if (!used.has(ip)) return ip;
  }
  throw new WeftError("resource-exhausted", `ip: subnet slice ${sliceCidr} is full`, { field: "ip" });
}

/**
 * `requested` when an endpoint may take it: an address of the slice that is neither its network
 * address, its gateway, its broadcast address, nor in `used` (address -> who uses it). Throws a
 * WeftError naming `field` and the reason otherwise.
 */
export function takeRequestedAddress(sliceCidr: string, requested: string, used: ReadonlyMap<string, string>, field = "ip"): string {
  const address = parseIPv4(requested, field);
  const slice = parseIPv4Cidr(sliceCidr, "slice");
  if ((address & maskOf(slice.prefix)) >>> 0 !== slice.base) {
    throw new WeftError("failed-precondition", `${field}: ${requested} is not in this node's slice ${sliceCidr}`, { field });
  }
  const offset = address - slice.base;
  const size = 2 ** (32 - slice.prefix);
  if (offset === 0) throw new WeftError("invalid-argument", `${field}: ${requested} is the network address of slice ${sliceCidr}`, { field });
  if (offset === 1) throw new WeftError("invalid-argument", `${field}: ${requested} is this node's gateway on slice ${sliceCidr}`, { field });
  if (offset === size - 1) throw new WeftError("invalid-argument", `${field}: ${requested} is the broadcast address of slice ${sliceCidr}`, { field });
  const user = used.get(requested);
  if (user !== undefined) throw new WeftError("already-exists", `${field}: ${requested} is in use by ${user}`, { field });
  return requested;
}

/** The slice of length `hostPrefixLen` of `networkCidr` that holds `ip`; undefined when the network does not hold it. */
export function sliceHolding(networkCidr: string, hostPrefixLen: number, ip: string): string | undefined {
  const network = parseIPv4Cidr(networkCidr, "subnet");
  const address = parseIPv4(ip, "ip");
  if ((address & maskOf(network.prefix)) >>> 0 !== network.base || hostPrefixLen < network.prefix || hostPrefixLen > 32) return undefined;
  return formatIPv4Cidr({ base: (address & maskOf(hostPrefixLen)) >>> 0, prefix: hostPrefixLen });
}
