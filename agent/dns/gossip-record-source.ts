import { endpointKey, type EndpointChange, type EndpointKey, type EndpointRecord } from "../../controlplane/gossip/index.js";
import type { DnsEndpoint, DnsRecordSource } from "./zone-index.js";

/** What the DNS needs of the gossip node: its live entries and their changes. */
export interface LiveEndpointView {
  entries(): readonly EndpointRecord[];
  subscribe(listener: (change: EndpointChange) => void): () => void;
}

/**
 * The DNS's records straight from gossip: live entries by network, kept current by the gossip's
 * change events (own entries included), with a revision that moves on every change so the server
 * rebuilds a network's index only when something changed. No etcd in the path: a name answers as
 * soon as its entry has arrived, and is gone as soon as its tombstone has.
 */
export class GossipRecordSource implements DnsRecordSource {
  readonly #byNetwork = new Map<string, Map<EndpointKey, DnsEndpoint>>();
  readonly #unsubscribe: () => void;
  #revision = 0;

  constructor(view: LiveEndpointView) {
    this.#unsubscribe = view.subscribe((change) => {
      if (change.previous !== undefined) this.#remove(change.previous);
      if (change.next !== undefined) this.#add(change.next);
      this.#revision += 1;
    });
    for (const record of view.entries()) this.#add(record);
  }

  endpoints(network: string): Iterable<DnsEndpoint> {
    return this.#byNetwork.get(network)?.values() ?? [];
  }

  revision(): number {
    return this.#revision;
  }

  close(): void {
    this.#unsubscribe();
  }

  #add(record: EndpointRecord): void {
    if (record.tombstone) return;
    let endpoints = this.#byNetwork.get(record.network);
    if (endpoints === undefined) this.#byNetwork.set(record.network, (endpoints = new Map()));
    endpoints.set(endpointKey(record), { name: record.name, aliases: record.aliases, ip: record.ip });
  }

  #remove(record: EndpointRecord): void {
    const endpoints = this.#byNetwork.get(record.network);
    if (endpoints === undefined) return;
    endpoints.delete(endpointKey(record));
    if (endpoints.size === 0) this.#byNetwork.delete(record.network);
  }
}
