// Choosing a host's slice of a network's subnet (flannel's subnet lease idea).
import { WeftError } from "../../proto/values/index.js";
import { cidrContainsCidr, formatIPv4Cidr, parseIPv4Cidr } from "../../proto/values/index.js";

/** Every slice of `networkCidr` with prefix `hostPrefixLen`, in address order. */
export function* subnetSlices(networkCidr: string, hostPrefixLen: number): Generator<string> {
  const network = parseIPv4Cidr(networkCidr, "subnet");
  checkHostPrefix(network.prefix, hostPrefixLen);
  const count = 2 ** (hostPrefixLen - network.prefix);
  const step = 2 ** (32 - hostPrefixLen);
  for (let i = 0; i < count; i++) yield formatIPv4Cidr({ base: network.base + i * step, prefix: hostPrefixLen });
}

/**
 * A slice of `networkCidr` of length `hostPrefixLen` that is not in `taken`, or undefined when all
 * are taken. Without `random` the lowest free slice; with it, the scan starts at a random slice so
 * that agents racing for slices rarely pick the same one.
 */
export function chooseSubnetSlice(
  networkCidr: string,
  hostPrefixLen: number,
  taken: ReadonlySet<string>,
  random?: () => number,
): string | undefined {
  const network = parseIPv4Cidr(networkCidr, "subnet");
  checkHostPrefix(network.prefix, hostPrefixLen);
  const count = 2 ** (hostPrefixLen - network.prefix);
  const step = 2 ** (32 - hostPrefixLen);
  const start = random ? Math.min(count - 1, Math.floor(random() * count)) : 0;
  for (let i = 0; i < count; i++) {
    const index = (start + i) % count;
    const slice = formatIPv4Cidr({ base: network.base + index * step, prefix: hostPrefixLen });
    if (!taken.has(slice)) return slice;
  }
  return undefined;
}

/** True when `slice` is a canonical slice of `networkCidr` of exactly `hostPrefixLen`. */
export function isSliceOf(networkCidr: string, hostPrefixLen: number, slice: string): boolean {
  try {
    const network = parseIPv4Cidr(networkCidr, "subnet");
    const candidate = parseIPv4Cidr(slice, "slice");
    return candidate.prefix === hostPrefixLen && cidrContainsCidr(network, candidate);
  } catch {
    return false;
  }
}

function checkHostPrefix(networkPrefix: number, hostPrefixLen: number): void {
  if (!Number.isInteger(hostPrefixLen) || hostPrefixLen < networkPrefix || hostPrefixLen > 30) {
    throw new WeftError(
      "invalid-argument",
      `hostPrefixLen: ${hostPrefixLen} must be an integer between the subnet prefix (${networkPrefix}) and 30`,
      { field: "hostPrefixLen" },
    );
  }
}
