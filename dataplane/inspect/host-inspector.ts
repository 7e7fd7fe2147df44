// The shell that reads a host's kernel for a trace: iproute2 and nft with JSON output, inside a
// container's namespace through nsenter. Each command that fails is recorded in `errors`; the rest of
// the snapshot is still read. Lists are filtered to what the query names, so a reply stays small
// however many entries the host holds.
import { FIREWALL_FAMILY, FIREWALL_TABLE } from "../nftables/table-name.js";
import { runCommand, type CommandOutput } from "../iproute2.js";
import { netnsPath } from "../network-namespace.js";
import { parseFdb, parseLinks, parseNeighbours, parseRouteGet } from "./iproute-json.js";
import type { HostSnapshot, NamespaceSnapshot, NftSnapshot } from "./kernel-snapshot.js";
import { parseNftChain, parseNftCounters, parseNftMap } from "./nft-json.js";

export interface NamespaceQuery {
  endpointId: string;
  /** The endpoint's namespace as the agent recorded it (a name under /run/netns or a path). */
  netns: string;
  ifName: string;
  /** Where the container sends: `ip route get` inside its namespace. */
  routeTo?: string;
}

export interface InspectQuery {
  links: string[];
  /** Every link of the host (the traffic view), not only those named. */
  allLinks?: boolean;
  /** VXLAN device -> the MACs of interest. */
  fdb: Array<{ device: string; macs: string[] }>;
  /** VXLAN device -> the IPs of interest. */
  neighbours: Array<{ device: string; ips: string[] }>;
  routesTo: string[];
  namespaces: NamespaceQuery[];
  /** Maps and chains of weft's table to list (its counters are always read when nft is asked). */
  nft?: { maps: string[]; chains: string[] };
}

export type CommandRunner = (program: string, args: readonly string[]) => Promise<CommandOutput>;

export async function inspectHost(host: string, query: InspectQuery, run: CommandRunner = runCommand, now: () => number = Date.now): Promise<HostSnapshot> {
  const snapshot: HostSnapshot = { host, readAtMs: now(), links: [], fdb: [], neighbours: [], routes: [], namespaces: {}, errors: [] };
  const attempt = async <T>(what: string, work: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await work();
    } catch (err) {
      snapshot.errors.push(`${what}: ${oneLine(err)}`);
      return undefined;
    }
  };
  for (const dst of query.routesTo) {
    const route = await attempt(`ip route get ${dst}`, async () => parseRouteGet((await run("ip", ["-j", "route", "get", dst])).stdout));
    if (route !== undefined) snapshot.routes.push(route);
  }
  // The links the query names, and those the routes leave by (the underlay interface).
  const wanted = new Set([...query.links, ...snapshot.routes.map((r) => r.dev)]);
  const links = await attempt("ip link", async () => parseLinks((await run("ip", ["-j", "-s", "link", "show"])).stdout));
  snapshot.links = (links ?? []).filter((l) => query.allLinks === true || wanted.has(l.name));
  for (const { device, macs } of query.fdb) {
    const want = new Set(macs.map((m) => m.toLowerCase()));
    const entries = await attempt(`bridge fdb dev ${device}`, async () => parseFdb((await run("bridge", ["-j", "fdb", "show", "dev", device])).stdout, device));
    snapshot.fdb.push(...(entries ?? []).filter((e) => want.has(e.mac)));
  }
  for (const { device, ips } of query.neighbours) {
    for (const ip of ips) {
      const entries = await attempt(`ip neigh ${ip} dev ${device}`, async () => parseNeighbours((await run("ip", ["-j", "neigh", "show", "to", ip, "dev", device])).stdout, device));
      snapshot.neighbours.push(...(entries ?? []));
    }
  }
  for (const ns of query.namespaces) snapshot.namespaces[ns.endpointId] = await inspectNamespace(ns, run);
  if (query.nft !== undefined) snapshot.nft = await inspectNft(query.nft, run, snapshot.errors);
  return snapshot;
}

async function inspectNamespace(query: NamespaceQuery, run: CommandRunner): Promise<NamespaceSnapshot> {
  const enter = ["--net=" + netnsPath(query.netns), "ip", "-j"];
  const result: NamespaceSnapshot = { netns: query.netns };
  try {
    const links = parseLinks((await run("nsenter", [...enter, "-s", "link", "show"])).stdout);
    const link = links.find((l) => l.name === query.ifName);
    if (link !== undefined) result.link = link;
    if (query.routeTo !== undefined) {
      const route = parseRouteGet((await run("nsenter", [...enter, "route", "get", query.routeTo])).stdout);
      if (route !== undefined) result.route = route;
      const routeLink = route === undefined || route.dev === query.ifName ? undefined : links.find((l) => l.name === route.dev);
      if (routeLink !== undefined) result.routeLink = routeLink;
    }
  } catch (err) {
    result.error = oneLine(err);
  }
  return result;
}

async function inspectNft(query: { maps: string[]; chains: string[] }, run: CommandRunner, errors: string[]): Promise<NftSnapshot> {
  const nft: NftSnapshot = { table: true, counters: [], maps: [], rules: [] };
  try {
    nft.counters = parseNftCounters((await run("nft", ["-j", "list", "counters", "table", FIREWALL_FAMILY, FIREWALL_TABLE])).stdout);
  } catch (err) {
    nft.table = false;
    errors.push(`nft list counters: ${oneLine(err)}`);
    return nft;
  }
  for (const name of query.maps) {
    try {
      const map = parseNftMap((await run("nft", ["-j", "list", "map", FIREWALL_FAMILY, FIREWALL_TABLE, name])).stdout);
      if (map !== undefined) nft.maps.push(map);
    } catch (err) {
      errors.push(`nft list map ${name}: ${oneLine(err)}`);
    }
  }
  for (const name of query.chains) {
    try {
      nft.rules.push(...parseNftChain((await run("nft", ["-j", "list", "chain", FIREWALL_FAMILY, FIREWALL_TABLE, name])).stdout));
    } catch (err) {
      errors.push(`nft list chain ${name}: ${oneLine(err)}`);
    }
  }
  return nft;
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s+/g, " ").slice(0, 300);
}
