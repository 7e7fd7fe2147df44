// What weft's DNS server answers from: the live gossip view (every owner's entries, this node's own
// local endpoints included) as names, aliases and addresses per network, and the zones it serves: one
// per network this host programs, on this host's gateway address there. Pure.
import type { EndpointRecord } from "../../controlplane/gossip/index.js";
import type { DnsEndpoint, DnsRecordSource, DnsZone } from "../dns/index.js";
import { gatewayIp } from "../networks/gateway.js";
import type { LocalEndpoint } from "../state-store.js";

export interface DnsRecordInput {
  node: string;
  localEndpoints: () => readonly LocalEndpoint[];
  entries: () => readonly EndpointRecord[];
}

/** Reads the view at each query, so a name answers as soon as its entry arrived and goes with it. */
export function dnsRecordSource(input: DnsRecordInput): DnsRecordSource {
  return {
    *endpoints(network: string): Iterable<DnsEndpoint> {
      const local = input.localEndpoints().filter((e) => e.network === network);
      const localIds = new Set(local.map((e) => e.id));
      for (const e of local) yield { name: e.name, aliases: e.aliases ?? [], ip: e.ip };
      for (const entry of input.entries()) {
        if (entry.network !== network || entry.tombstone || entry.owner === input.node || localIds.has(entry.endpointId)) continue;
        yield { name: entry.name, aliases: entry.aliases, ip: entry.ip };
      }
    },
  };
}

/** A zone per programmed network whose slice this host knows, listening on its gateway address. */
export function dnsZones(programmed: Iterable<string>, slice: (network: string) => string | undefined): DnsZone[] {
  const zones: DnsZone[] = [];
  for (const network of programmed) {
    const cidr = slice(network);
    if (cidr !== undefined) zones.push({ network, listen: gatewayIp(cidr) });
  }
  return zones.sort((a, b) => (a.network < b.network ? -1 : a.network > b.network ? 1 : 0));
}
