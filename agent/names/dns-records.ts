// The zones weft's DNS server serves: one per network this host programs, on this host's gateway
// address there. (Its records come from the gossip view: agent/dns/gossip-record-source.ts.) Pure.
import type { DnsZone } from "../dns/index.js";
import { gatewayIp } from "../networks/gateway.js";

/** A zone per programmed network whose slice this host knows, listening on its gateway address. */
export function dnsZones(programmed: Iterable<string>, slice: (network: string) => string | undefined): DnsZone[] {
  const zones: DnsZone[] = [];
  for (const network of programmed) {
    const cidr = slice(network);
    if (cidr !== undefined) zones.push({ network, listen: gatewayIp(cidr) });
  }
  return zones.sort((a, b) => (a.network < b.network ? -1 : a.network > b.network ? 1 : 0));
}
