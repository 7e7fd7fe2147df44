// A service's backends: the live endpoints of its network whose labels match its selector, from the
// gossip view (pure). Every node computes the same list from the same entries.
import { parseIPv4 } from "../../proto/values/index.js";
import { endpointKey, type EndpointRecord } from "../gossip/endpoint-record.js";
import type { ServiceRecord } from "./service-record.js";
import { selectorMatches } from "./selector.js";

export interface ServiceBackend {
  ip: string;
  endpointId: string;
  /** The node the endpoint lives on. */
  owner: string;
  /** The endpoint's name ("" when it has none). */
  name: string;
}

/**
 * The backends of `service` among `entries`, sorted by IP (numerically) and unique by IP. When two
 * live entries claim one IP (a conflict gossip will settle), the one with the smaller
 * network/owner/endpointId key is kept, so that every node keeps the same one.
 */
export function serviceBackends(service: ServiceRecord, entries: Iterable<EndpointRecord>): ServiceBackend[] {
  const byIp = new Map<string, { record: EndpointRecord; key: string }>();
  for (const record of entries) {
    if (record.tombstone || record.network !== service.network || !selectorMatches(service.selector, record.labels)) continue;
    const key = endpointKey(record);
    const kept = byIp.get(record.ip);
    if (kept === undefined || key < kept.key) byIp.set(record.ip, { record, key });
  }
  return [...byIp.values()]
    .map(({ record }) => ({ ip: record.ip, endpointId: record.endpointId, owner: record.owner, name: record.name, order: parseIPv4(record.ip) }))
    .sort((a, b) => a.order - b.order)
    .map(({ ip, endpointId, owner, name }) => ({ ip, endpointId, owner, name }));
}
