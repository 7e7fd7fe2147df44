// Pure parsers of iproute2's JSON (`ip -j -s link`, `bridge -j fdb`, `ip -j neigh`, `ip -j route get`).
// Foreign input: anything that is not the expected shape is skipped, never trusted.
import type { FdbSnapshot, LinkCounters, LinkSnapshot, NeighbourSnapshot, RouteSnapshot } from "./kernel-snapshot.js";

type Json = Record<string, unknown>;

function list(text: string): Json[] {
  if (text.trim() === "") return [];
  const parsed: unknown = JSON.parse(text);
  return Array.isArray(parsed) ? parsed.filter((x): x is Json => typeof x === "object" && x !== null && !Array.isArray(x)) : [];
}

const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);
const num = (value: unknown): number => (typeof value === "number" && Number.isFinite(value) ? value : 0);
const obj = (value: unknown): Json => (typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {});
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((x): x is string => typeof x === "string") : []);

/** `ip -j -s link show`: every link with its MTU, master, state and 64-bit counters. */
export function parseLinks(text: string): LinkSnapshot[] {
  const links: LinkSnapshot[] = [];
  for (const item of list(text)) {
    const name = str(item["ifname"]);
    if (name === undefined) continue;
    const flags = strings(item["flags"]);
    const operstate = str(item["operstate"]) ?? "UNKNOWN";
    const link: LinkSnapshot = {
      name,
      up: flags.includes("UP") && (flags.includes("LOWER_UP") || operstate === "UP") && operstate !== "DOWN" && operstate !== "LOWERLAYERDOWN",
      operstate,
      mtu: num(item["mtu"]),
      mac: (str(item["address"]) ?? "").toLowerCase(),
      counters: counters(obj(item["stats64"] ?? item["stats"])),
    };
    const master = str(item["master"]);
    if (master !== undefined) link.master = master;
    links.push(link);
  }
  return links;
}

function counters(stats: Json): LinkCounters {
  const rx = obj(stats["rx"]);
  const tx = obj(stats["tx"]);
  return {
    rxBytes: num(rx["bytes"]),
    rxPackets: num(rx["packets"]),
    txBytes: num(tx["bytes"]),
    txPackets: num(tx["packets"]),
    rxDropped: num(rx["dropped"]),
    txDropped: num(tx["dropped"]),
  };
}

/** `bridge -j fdb show dev DEV`: the entries with a remote VTEP (dst); the device's own MAC entries are skipped. */
export function parseFdb(text: string, device: string): FdbSnapshot[] {
  const entries: FdbSnapshot[] = [];
  for (const item of list(text)) {
    const mac = str(item["mac"]);
    const dst = str(item["dst"]);
    if (mac === undefined || dst === undefined) continue;
    entries.push({ device, mac: mac.toLowerCase(), dst, state: str(item["state"]) ?? "" });
  }
  return entries;
}

/** `ip -j neigh show dev DEV`. */
export function parseNeighbours(text: string, device: string): NeighbourSnapshot[] {
  const entries: NeighbourSnapshot[] = [];
  for (const item of list(text)) {
    const ip = str(item["dst"]);
    if (ip === undefined) continue;
    const entry: NeighbourSnapshot = { device, ip, state: strings(item["state"]) };
    const mac = str(item["lladdr"]);
    if (mac !== undefined) entry.mac = mac.toLowerCase();
    entries.push(entry);
  }
  return entries;
}

/** `ip -j route get DST`: the first route, or undefined when the output holds none. */
export function parseRouteGet(text: string): RouteSnapshot | undefined {
  const item = list(text)[0];
  if (item === undefined) return undefined;
  const dst = str(item["dst"]);
  const dev = str(item["dev"]);
  if (dst === undefined || dev === undefined) return undefined;
  const route: RouteSnapshot = { dst, dev };
  const gateway = str(item["gateway"]);
  if (gateway !== undefined) route.gateway = gateway;
  const prefsrc = str(item["prefsrc"]);
  if (prefsrc !== undefined) route.prefsrc = prefsrc;
  return route;
}
