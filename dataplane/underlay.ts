// Finding the underlay: the interface and IPv4 address VXLAN packets leave from, and its MTU.
import { readFile, writeFile } from "node:fs/promises";
import { WeftError, isIPv4, isInterfaceName } from "../proto/values/index.js";
import { ip } from "./iproute2.js";

export interface UnderlaySelection {
  iface?: string;
  ip?: string;
}

export interface Underlay {
  iface: string;
  ip: string;
  mtu: number;
}

export interface AddressedInterface {
  name: string;
  mtu: number;
  ipv4: string[];
}

type UnderlayFlag = "--underlay-iface" | "--underlay-ip" | "underlay";

/** Bad or unusable underlay selection, naming the flag to change. */
function underlayError(flag: UnderlayFlag, reason: string): WeftError {
  return new WeftError("invalid-argument", `${flag}: ${reason}`, { field: flag });
}

/**
 * iface given: its first IPv4 address and MTU. ip given: the interface holding it. Both: they must agree.
 * Neither: the interface of the default route.
 */
export async function inspectUnderlay(select: UnderlaySelection): Promise<Underlay> {
  const { stdout } = await ip("-j", "addr", "show");
  const interfaces = parseAddressList(stdout);
  let defaultRouteIface: string | undefined;
  if (select.iface === undefined && select.ip === undefined) {
    const routes = JSON.parse((await ip("-j", "-4", "route", "show", "default")).stdout || "[]") as { dev?: string }[];
    defaultRouteIface = routes.find((route) => route.dev !== undefined)?.dev;
  }
  return chooseUnderlay(interfaces, select, defaultRouteIface);
}

/** The pure part of inspectUnderlay. */
export function chooseUnderlay(interfaces: readonly AddressedInterface[], select: UnderlaySelection, defaultRouteIface?: string): Underlay {
  if (select.ip !== undefined) {
    if (!isIPv4(select.ip)) throw underlayError("--underlay-ip", `${select.ip} is not an IPv4 address`);
    const holder = interfaces.find((candidate) => candidate.ipv4.includes(select.ip!));
    if (holder === undefined) throw underlayError("--underlay-ip", `${select.ip} is not assigned to any interface`);
    if (select.iface !== undefined && holder.name !== select.iface) {
      throw underlayError("--underlay-ip", `${select.ip} is on ${holder.name}, not on --underlay-iface ${select.iface}`);
    }
    return { iface: holder.name, ip: select.ip, mtu: holder.mtu };
  }
  if (select.iface !== undefined) {
    const found = interfaces.find((candidate) => candidate.name === select.iface);
    if (found === undefined) throw underlayError("--underlay-iface", `no interface named ${select.iface}`);
    const address = found.ipv4[0];
    if (address === undefined) throw underlayError("--underlay-iface", `${select.iface} has no IPv4 address`);
    return { iface: found.name, ip: address, mtu: found.mtu };
  }
  const fallback = interfaces.find((candidate) => candidate.name === defaultRouteIface);
  const address = fallback?.ipv4[0];
  if (fallback === undefined || address === undefined) {
    throw underlayError("underlay", "no default route with an IPv4 address: pass --underlay-iface or --underlay-ip");
  }
  return { iface: fallback.name, ip: address, mtu: fallback.mtu };
}

export function parseAddressList(json: string): AddressedInterface[] {
  const parsed = JSON.parse(json || "[]") as { ifname?: string; mtu?: number; addr_info?: { family?: string; local?: string }[] }[];
  return parsed
    .filter((entry) => typeof entry.ifname === "string")
    .map((entry) => ({
      name: entry.ifname!,
      mtu: entry.mtu ?? 1500,
      ipv4: (entry.addr_info ?? []).filter((a) => a.family === "inet" && typeof a.local === "string").map((a) => a.local!),
    }));
}

/**
 * Lowers the interface's ARP retransmit time (net.ipv4.neigh.<iface>.retrans_time_ms) to `ms`, never
 * raising it. While a neighbour is unresolved the kernel asks again only this often (1 s by default),
 * and new packets to it just queue: after a partition heals, peers and etcd would stay unreachable for
 * up to that long. Returns the value before and after.
 */
export async function lowerArpRetransmit(iface: string, ms: number): Promise<{ before: number; after: number }> {
  if (!isInterfaceName(iface)) throw underlayError("underlay", `${iface} is not an interface name`);
  const path = `/proc/sys/net/ipv4/neigh/${iface}/retrans_time_ms`;
  const before = Number((await readFile(path, "utf8")).trim());
  if (Number.isInteger(before) && before <= ms) return { before, after: before };
  await writeFile(path, `${ms}\n`);
  return { before, after: ms };
}
