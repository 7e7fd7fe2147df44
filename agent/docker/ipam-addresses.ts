// What weft's Docker IPAM decides (pure): which slice this host hands addresses out from, which
// address a request gets, and which reservations are stale. Docker asks for an address before it
// creates the endpoint, so the address is reserved here until Docker releases it; the attach then
// asks weft for exactly that address (AttachEndpointRequest.ip). Docker's addresses count down from
// the top of the slice while weft's own attaches count up from the bottom, so a CNI or CLI attach
// between Docker's request and its attach rarely meets a reserved address.
import { allocateAddress, chooseSubnetSlice, isSliceOf, takeRequestedAddress } from "../../controlplane/ipam/index.js";
import { serviceSlice } from "../../controlplane/services/index.js";
import { invalidArgument, printable, sliceContains, WeftError } from "../../proto/values/index.js";
import { gatewayIp } from "../networks/gateway.js";

/** A weft network's slices as this host sees them. */
export interface SliceView {
  network: string;
  subnet: string;
  hostPrefixLen: number;
  /** This host's node name. */
  node: string;
  slices: ReadonlyArray<{ cidr: string; node: string }>;
}

/**
 * This host's slice of the network: the one it holds; else the one it handed out from before
 * (`remembered`), while no other node holds it; else a free one. A slice not held yet is claimed
 * by the first attach, which asks for an address in it (the agent prefers the slice of the address).
 */
export function hostSlice(view: SliceView, remembered?: string, random?: () => number): string {
  const own = view.slices.find((s) => s.node === view.node && isSliceOf(view.subnet, view.hostPrefixLen, s.cidr));
  if (own) return own.cidr;
  const taken = new Set([...view.slices.map((s) => s.cidr), serviceSlice(view)]);
  if (remembered !== undefined && isSliceOf(view.subnet, view.hostPrefixLen, remembered) && !taken.has(remembered)) return remembered;
  const free = chooseSubnetSlice(view.subnet, view.hostPrefixLen, taken, random);
  if (free === undefined) throw new WeftError("resource-exhausted", `PoolID: every slice of weft network "${printable(view.network)}" is held by another node`, { field: "PoolID" });
  return free;
}

export interface AddressChoice {
  view: SliceView;
  slice: string;
  /** The preferred address, if Docker gave one. */
  address?: string;
  gateway: boolean;
  /** Addresses in use on this host -> by whom: weft endpoints and Docker's reservations. */
  used: ReadonlyMap<string, string>;
}

/** The address Docker gets; throws a WeftError naming `Address` when the preferred one cannot be. */
export function chooseAddress(choice: AddressChoice): string {
  const { view, slice, address } = choice;
  if (choice.gateway) {
    const gateway = gatewayIp(slice);
    if (address !== undefined && address !== gateway) throw invalidArgument("Address", `weft's gateway on this host is ${gateway}, not ${address} (leave out --gateway)`);
    return gateway;
  }
  if (address === undefined) return allocateAddress(slice, new Set(choice.used.keys()), { from: "top" });
  if (!sliceContains(slice, address)) {
    const holder = view.slices.find((s) => s.node !== view.node && sliceContains(s.cidr, address));
    const where = holder ? `node ${printable(holder.node)}'s slice ${holder.cidr}` : sliceContains(view.subnet, address) ? "another slice" : `outside weft network "${printable(view.network)}" (${view.subnet})`;
    throw new WeftError("failed-precondition", `Address: ${address} is in ${where}; this host hands out ${slice}`, { field: "Address" });
  }
  return takeRequestedAddress(slice, address, choice.used, "Address");
}

/** How long an address Docker asked for stays reserved with no Docker endpoint holding it. */
export const RESERVATION_TTL_MS = 10 * 60_000;

/**
 * The reservations to keep: those held by a Docker endpoint (`held`) or a weft endpoint, and those
 * younger than the TTL (Docker creates the endpoint right after asking). Older ones were asked for
 * by a dockerd that never created the endpoint nor released the address (it died in between).
 */
export function liveReservations(reserved: Readonly<Record<string, number>>, held: ReadonlySet<string>, now: number, ttlMs = RESERVATION_TTL_MS): Record<string, number> {
  return Object.fromEntries(Object.entries(reserved).filter(([ip, at]) => held.has(ip) || now - at < ttlMs));
}
