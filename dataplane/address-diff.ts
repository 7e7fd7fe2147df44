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
  const want = wanted === undefined ? undefined : splitHostAddress(wanted);
  const on = options.fresh ? [] : addresses.filter((address) => address.device === device);
  const actions: LinkAction[] = [];
  let present = false;
  for (const address of on) {
    if (want !== undefined && address.ip === want.ip && address.prefixLen === want.prefixLen) present = true;
    else if (want !== undefined || options.prune) actions.push({ kind: "delete-address", device, ip: address.ip, prefixLen: address.prefixLen });
  }
  if (want !== undefined && !present) actions.push({ kind: "add-address", device, ip: want.ip, prefixLen: want.prefixLen });
  return actions;
}
