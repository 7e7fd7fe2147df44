// CHECK: does the container really have what ADD gave it? The comparison is pure; the look into the
// namespace (`nsenter --net=PATH ip -j ...`) is a thin shell behind an interface.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { firstAddress } from "./cni-result.js";
import type { CniEndpoint } from "./cni-agent.js";

export interface ObservedNamespace {
  /** Interface name -> its IPv4 addresses in CIDR form. */
  addresses: Map<string, string[]>;
  /** IPv4 routes: "default" or a CIDR, with the gateway if any. */
  routes: Array<{ dst: string; gateway?: string; dev: string }>;
}

export interface NamespaceInspector {
  inspect(netnsPath: string): Promise<ObservedNamespace>;
}

/** What is missing in the namespace compared to the endpoint; empty when all is there. */
export function missingInNamespace(endpoint: CniEndpoint, observed: ObservedNamespace): string[] {
  const problems: string[] = [];
  for (const iface of endpoint.interfaces) {
    const addresses = observed.addresses.get(iface.name);
    if (addresses === undefined) problems.push(`interface ${iface.name} is missing`);
    else if (!addresses.includes(iface.ip)) problems.push(`interface ${iface.name} lacks address ${iface.ip}`);
  }
  const egress = endpoint.interfaces[1];
  if (egress) {
    const gateway = firstAddress(egress.ip);
    const present = observed.routes.some((r) => r.dst === "default" && r.gateway === gateway && r.dev === egress.name);
    if (!present) problems.push(`default route via ${gateway} dev ${egress.name} is missing`);
  }
  return problems;
}

const run = promisify(execFile);

export const nsenterInspector: NamespaceInspector = {
  async inspect(netnsPath) {
    const ip = async (...args: string[]): Promise<unknown> => {
      const { stdout } = await run("nsenter", [`--net=${netnsPath}`, "ip", "-j", ...args], { timeout: 5000 });
      return JSON.parse(stdout || "[]");
    };
    // Not `ip -4 addr`: it leaves out links without an IPv4 address, which CHECK must tell apart.
    const links = (await ip("addr", "show")) as Array<{ ifname: string; addr_info?: Array<{ family: string; local: string; prefixlen: number }> }>;
    const routes = (await ip("-4", "route", "show")) as Array<{ dst: string; gateway?: string; dev: string }>;
    return {
      addresses: new Map(links.map((l) => [l.ifname, (l.addr_info ?? []).filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`)])),
      routes: routes.map((r) => ({ dst: r.dst, dev: r.dev, ...(r.gateway ? { gateway: r.gateway } : {}) })),
    };
  },
};
