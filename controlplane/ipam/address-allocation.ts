// Choosing an endpoint's address inside this host's slice.
import { WeftError } from "../../proto/values/index.js";
import { formatIPv4, parseIPv4Cidr } from "../../proto/values/index.js";

/**
 * The lowest address of the slice not in `used`, skipping the slice's network address, the address
 * after it (reserved for a gateway) and the last (broadcast).
 */
export function allocateAddress(sliceCidr: string, used: ReadonlySet<string>): string {
  const slice = parseIPv4Cidr(sliceCidr, "slice");
  const size = 2 ** (32 - slice.prefix);
  for (let offset = 2; offset < size - 1; offset++) {
    const ip = formatIPv4(slice.base + offset);
    if (!used.has(ip)) return ip;
  }
  throw new WeftError("resource-exhausted", `ip: subnet slice ${sliceCidr} is full`, { field: "ip" });
}
