// The IPv4 address a weft device should carry (a bridge's gateway address): pure, shared by the parts.
import { splitHostAddress } from "./address-format.js";
import type { LinkAction, ObservedAddress } from "./kernel.js";

/**
 * The actions that leave `device` with exactly `wanted` ("10.40.3.1/16"): other addresses go first
 * (a replaced gateway), then the wanted one is added if it is missing. With no address wanted, the
 * device's addresses are removed only when `prune` is on. `fresh`: the device is made in this plan.
 */
export function diffDeviceAddress(
  addresses: readonly ObservedAddress[],
  device: string,
  wanted: string | undefined,
  options: { prune: boolean; fresh: boolean },
): LinkAction[] {
  return diffDeviceAddresses(addresses, device, wanted === undefined ? [] : [wanted], options);
}

/**
 * The same for several addresses (a bridge's gateway and its service VIPs as /32): with at least one
 * wanted, every other address goes; with none, they go only when `prune` is on.
 */
export function diffDeviceAddresses(
  addresses: readonly ObservedAddress[],
  device: string,
  wanted: readonly string[],
  options: { prune: boolean; fresh: boolean },
): LinkAction[] {
  const want = wanted.map((w) => splitHostAddress(w)!);
  const on = options.fresh ? [] : addresses.filter((address) => address.device === device);
  const actions: LinkAction[] = [];
  const present = new Set<string>();
  for (const address of on) {
    if (want.some((w) => address.ip === w.ip && address.prefixLen === w.prefixLen)) present.add(address.ip);
    else if (want.length > 0 || options.prune) actions.push({ kind: "delete-address", device, ip: address.ip, prefixLen: address.prefixLen });
  }
  for (const w of want) if (!present.has(w.ip)) actions.push({ kind: "add-address", device, ip: w.ip, prefixLen: w.prefixLen });
  return actions;
}
