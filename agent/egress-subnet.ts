// Choosing this host's egress subnet: it must not overlap a route the host already has (Docker's
// docker_gwbridge silently took 172.18.0.0/16 over existing routes: moby#24046, #27890). The check is
// pure; weftd feeds it the host's routes (`ip -j -4 route show table main`).
import { cidrsOverlap, parseIPv4Cidr, type IPv4Cidr } from "../proto/values/index.js";
import { EGRESS_BRIDGE } from "./desired-state/egress-part.js";

export interface HostRoute {
  /** "default", an address, or a CIDR. */
  dst: string;
  dev?: string;
}

export const MIN_EGRESS_PREFIX = 8;
export const MAX_EGRESS_PREFIX = 28;

/** The route `subnet` overlaps, or undefined. Default routes and weft's own egress bridge's route do not count. */
export function egressRouteConflict(subnet: string, routes: readonly HostRoute[]): HostRoute | undefined {
  const wanted = parseIPv4Cidr(subnet, "egress-subnet");
  for (const route of routes) {
    if (route.dev === EGRESS_BRIDGE || route.dst === "default") continue;
    const dst = routeCidr(route.dst);
    if (dst && dst.prefix > 0 && cidrsOverlap(wanted, dst)) return route;
  }
  return undefined;
}

/** Parses `ip -j route` output into routes (unknown shapes are skipped). */
export function parseIpRouteJson(text: string): HostRoute[] {
  const value: unknown = JSON.parse(text || "[]");
  if (!Array.isArray(value)) return [];
  return value.flatMap((r: unknown) => {
    const route = r as { dst?: unknown; dev?: unknown };
    return typeof route.dst === "string" ? [{ dst: route.dst, ...(typeof route.dev === "string" ? { dev: route.dev } : {}) }] : [];
  });
}

function routeCidr(dst: string): IPv4Cidr | undefined {
  try {
    return parseIPv4Cidr(dst.includes("/") ? dst : `${dst}/32`, "dst", { canonical: false });
  } catch {
    return undefined;
  }
}
