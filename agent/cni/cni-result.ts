// The ADD (and CHECK) result for an endpoint, shaped for the configuration's cniVersion. Pure.
// 0.3.x/0.4.0 results mark each address with "version": "4"; 1.x results do not.
import { formatIPv4, parseIPv4Cidr } from "../../proto/values/index.js";
import { versionAtLeast } from "./cni-request.js";
import type { CniEndpoint } from "./cni-agent.js";

export interface CniResult {
  cniVersion: string;
  interfaces: Array<{ name: string; mac: string; mtu?: number; sandbox?: string }>;
  ips: Array<{ address: string; gateway?: string; interface: number; version?: "4" }>;
  routes: Array<{ dst: string; gw?: string }>;
  dns: { nameservers?: string[]; domain?: string; search?: string[]; options?: string[] };
}

/** The bridge's address on an interface's subnet: its first address ("172.18.0.2/16" -> "172.18.0.1"). */
export function firstAddress(cidr: string): string {
  return formatIPv4(parseIPv4Cidr(cidr, "ip", { canonical: false }).base + 1);
}

/**
 * `prevResult` (a chain where weft is not first) keeps its interfaces and addresses; weft's follow,
 * with interface indexes shifted past them.
 */
export function endpointResult(cniVersion: string, endpoint: CniEndpoint, sandbox: string, prevResult?: Record<string, unknown>): CniResult {
  const legacy = !versionAtLeast(cniVersion, "1.0.0");
  const previous = (prevResult ?? {}) as Partial<CniResult>;
  const interfaces = [...(previous.interfaces ?? [])];
  const ips = [...(previous.ips ?? [])];
  const routes = [...(previous.routes ?? [])];
  const [overlay, egress] = endpoint.interfaces;
  const add = (iface: { name: string; mac: string; ip: string }, gateway: string): void => {
    interfaces.push({ name: iface.name, mac: iface.mac, ...(endpoint.mtu > 0 ? { mtu: endpoint.mtu } : {}), sandbox });
    ips.push({ address: iface.ip, gateway, interface: interfaces.length - 1, ...(legacy ? { version: "4" as const } : {}) });
  };
  if (overlay) add(overlay, endpoint.gateway);
  if (egress) {
    const gateway = firstAddress(egress.ip);
    add(egress, gateway);
    routes.push({ dst: "0.0.0.0/0", gw: gateway });
  }
  const dns = endpoint.dns && endpoint.dns.nameservers.length > 0 ? { nameservers: endpoint.dns.nameservers, ...(endpoint.dns.search.length > 0 ? { search: endpoint.dns.search } : {}) } : (previous.dns ?? {});
  return { cniVersion, interfaces, ips, routes, dns };
}
