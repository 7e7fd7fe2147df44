// ISSUE 7 MERGE SHIM (agent helper). Stand-ins for what the egress (D1), firewall (D2) and DNS (D3)
// helpers deliver, typed exactly as /work/wt/CONTRACTS7.md states, so agent/ compiles before they land.
// At merge: delete this file and import these names from their owners instead:
//   DesiredEgress, DesiredEgressLeg, DesiredFirewall, DesiredUnderlay.iface, DesiredNetwork.gateway
//                                   -> dataplane/desired-state.ts (dataplane/index.ts)
//   egressHostIfNameFor             -> dataplane/link-names.ts
//   FirewallLike, createFirewall    -> dataplane/nftables/ (Firewall, new NftablesFirewall(options))
//   DnsServer, DnsEndpoint, DnsRecordSource, DnsZone, parseResolvConf -> agent/dns/
//   EndpointAnnouncement.aliases, EndpointRecord.aliases -> controlplane/gossip/endpoint-record.ts
import type * as prom from "prom-client";
import type { DesiredNetwork, DesiredState, NetworkNamespaceId } from "../dataplane/index.js";
import { invalidArgument } from "../proto/values/index.js";

export interface DesiredEgress {
  bridge: { name: string; address: string; mtu: number };
  legs: DesiredEgressLeg[];
}

export interface DesiredEgressLeg {
  endpointId: string;
  hostIfName: string;
  netns: string;
  netnsId?: NetworkNamespaceId;
  ifName: string;
  ip: string;
  mac: string;
  gateway: string;
}

export interface DesiredFirewall {
  underlayIface: string;
  egress?: { bridge: string; subnet: string };
  networks: Array<{ name: string; vni: number; bridge: string; subnet: string; gatewayIp: string; internal: boolean }>;
  dnsPort: number;
}

/** DesiredNetwork with D1's `gateway`. */
export type DesiredNetworkWithGateway = DesiredNetwork & { gateway?: string };

/** DesiredState with D1's iface, egress and D2's firewall. */
export type DesiredStateIssue7 = DesiredState & {
  underlay: DesiredState["underlay"] & { iface: string };
  egress?: DesiredEgress;
  firewall?: DesiredFirewall;
};

/** D1's egressHostIfNameFor: "wefg" + 11 hex digits of the endpoint id (15 characters). */
export function egressHostIfNameFor(endpointId: string): string {
  if (typeof endpointId !== "string" || !/^[0-9a-f]{11,}$/i.test(endpointId)) {
    throw invalidArgument("endpointId", `${endpointId} is not a hex id of at least 11 digits`);
  }
  return `wefg${endpointId.slice(0, 11).toLowerCase()}`;
}

export interface DnsEndpoint {
  name: string;
  aliases: readonly string[];
  ip: string;
}
export interface DnsRecordSource {
  endpoints(network: string): Iterable<DnsEndpoint>;
}
export interface DnsZone {
  network: string;
  listen: string;
}
export interface DnsServerOptions {
  records: DnsRecordSource;
  upstreams: string[];
  port?: number;
  ttlSeconds?: number;
  metrics: prom.Registry;
  log: (level: "debug" | "info" | "warn" | "error", line: string) => void;
}
/** What the agent needs of D3's DnsServer. */
export interface DnsServerLike {
  setZones(zones: readonly DnsZone[]): Promise<void>;
  close(): Promise<void>;
}

/** Stand-in for D3's DnsServer.create: answers nothing. At merge: `DnsServer.create(options)`. */
export function createDnsServer(options: DnsServerOptions): DnsServerLike {
  options.log("warn", "dns: this build has no DNS server yet (issue 7 shim)");
  return { setZones: () => Promise.resolve(), close: () => Promise.resolve() };
}

/** Stand-in for D3's parseResolvConf. */
export function parseResolvConf(text: string): { nameservers: string[]; search: string[] } {
  const nameservers: string[] = [];
  const search: string[] = [];
  for (const line of text.split("\n")) {
    const words = line.replace(/[#;].*$/, "").trim().split(/\s+/);
    if (words[0] === "nameserver" && words[1]) nameservers.push(words[1]);
    if ((words[0] === "search" || words[0] === "domain") && words.length > 1) search.splice(0, search.length, ...words.slice(1));
  }
  return { nameservers, search };
}

/** What the Reconciler needs from D2's firewall (dataplane/nftables/nftables-firewall.ts Firewall). */
export interface FirewallLike {
  apply(rendered: string): Promise<boolean>;
  observeTable(): Promise<boolean>;
}

/** Stand-in for D2's `new NftablesFirewall({ onWrite })`: none, so the firewall part is not written. */
export function createFirewall(_options: { onWrite: (durationMs: number) => void }): FirewallLike | undefined {
  return undefined;
}

/** The aliases a gossip entry carries (D3 adds the field to EndpointRecord). */
export function aliasesOf(entry: object): readonly string[] {
  const aliases = (entry as { aliases?: unknown }).aliases;
  return Array.isArray(aliases) ? aliases.filter((a): a is string => typeof a === "string") : [];
}
