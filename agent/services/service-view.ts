// The service view: each service of the registry with its backends, the live endpoints of its network
// whose gossip labels match its selector, on any host. Kept per network from gossip's changes, so a
// service's backends cost a pass over its own network's entries, and only after something changed.
// A gossip change that adds, removes or moves a backend of some service is reported (onBackendsChange),
// so the agent reconciles the mesh as it does the FDB for an entry change.
import { endpointKey, type EndpointChange, type EndpointKey, type EndpointRecord } from "../../controlplane/gossip/index.js";
import type { ServiceWithBackends } from "../desired-state/mesh-part.js";
import { selectorMatches, serviceBackends, type ServiceRecord } from "../../controlplane/services/index.js";

/** What the view needs of the gossip node: its live entries and their changes. */
export interface LiveEntries {
  entries(): readonly EndpointRecord[];
  subscribe(listener: (change: EndpointChange) => void): () => void;
}

export interface ServiceViewOptions {
  /** The registry's services (its snapshot): a new map whenever a service changes, never one mutated in place. */
  services: () => ReadonlyMap<string, ServiceRecord>;
  gossip: LiveEntries;
  /** Some services' backends changed (names, sorted). */
  onBackendsChange: (services: string[]) => void;
}

export class ServiceView {
  readonly #byNetwork = new Map<string, Map<EndpointKey, EndpointRecord>>();
  /** name -> the record the backends were computed for, and them; dropped when a backend may have moved. */
  readonly #cache = new Map<string, ServiceWithBackends>();
  readonly #unsubscribe: () => void;
  #revision = 0;
  /** The registry's services by network, rebuilt when its map is replaced (the snapshot changed). */
  #indexed: { of: ReadonlyMap<string, ServiceRecord>; byNetwork: Map<string, ServiceRecord[]> } | undefined;

  constructor(private readonly options: ServiceViewOptions) {
    this.#unsubscribe = options.gossip.subscribe((change) => this.#onChange(change));
    for (const record of options.gossip.entries()) this.#add(record);
  }

  /** Every service with its backends, sorted by name. */
  list(): ServiceWithBackends[] {
    const services = [...this.options.services().values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return services.map((record) => this.withBackends(record));
  }

  get(name: string): ServiceWithBackends | undefined {
    const record = this.options.services().get(name);
    return record === undefined ? undefined : this.withBackends(record);
  }

  /** Services of one network, with their backends (the DNS zone's). */
  inNetwork(network: string): ServiceWithBackends[] {
    return this.#servicesIn(network).map((record) => this.withBackends(record));
  }

  /** Networks with a service that publishes ports: every node serves them (see agent/networks/). */
  publishingNetworks(): Set<string> {
    const out = new Set<string>();
    for (const service of this.options.services().values()) if (service.ports.length > 0) out.add(service.network);
    return out;
  }

  /** Networks with a service: there the mesh needs other nodes' gateways. */
  networks(): Set<string> {
    return new Set([...this.options.services().values()].map((s) => s.network));
  }

  /** Moves whenever some service's backends may have changed (gossip side; registry changes replace records). */
  revision(): number {
    return this.#revision;
  }

  /** A service record changed in the registry: its answers change too. */
  noteServicesChanged(): void {
    this.#revision += 1;
  }

  close(): void {
    this.#unsubscribe();
  }

  /** The record with its backends now (cached until one of them may have moved). */
  withBackends(record: ServiceRecord): ServiceWithBackends {
    const held = this.#cache.get(record.name);
    if (held !== undefined && held.record === record) return held;
    const computed = { record, backends: serviceBackends(record, this.#byNetwork.get(record.network)?.values() ?? []) };
    this.#cache.set(record.name, computed);
    return computed;
  }

  #onChange(change: EndpointChange): void {
    if (change.previous !== undefined) this.#remove(change.previous);
    if (change.next !== undefined) this.#add(change.next);
    const network = (change.next ?? change.previous)!.network;
    const touched: string[] = [];
    for (const service of this.#servicesIn(network)) {
      if (!matches(service, change.previous) && !matches(service, change.next)) continue;
      this.#cache.delete(service.name);
      touched.push(service.name);
    }
    if (touched.length === 0) return;
    this.#revision += 1;
    this.options.onBackendsChange(touched.sort());
  }

  #servicesIn(network: string): readonly ServiceRecord[] {
    const services = this.options.services();
    if (this.#indexed?.of !== services) {
      const byNetwork = new Map<string, ServiceRecord[]>();
      for (const service of services.values()) byNetwork.set(service.network, [...(byNetwork.get(service.network) ?? []), service]);
      this.#indexed = { of: services, byNetwork };
    }
    return this.#indexed.byNetwork.get(network) ?? [];
  }

  #add(record: EndpointRecord): void {
    if (record.tombstone) return;
    let entries = this.#byNetwork.get(record.network);
    if (entries === undefined) this.#byNetwork.set(record.network, (entries = new Map()));
    entries.set(endpointKey(record), record);
  }

  #remove(record: EndpointRecord): void {
    const entries = this.#byNetwork.get(record.network);
    if (entries === undefined) return;
    entries.delete(endpointKey(record));
    if (entries.size === 0) this.#byNetwork.delete(record.network);
  }
}

function matches(service: ServiceRecord, record: EndpointRecord | undefined): boolean {
  return record !== undefined && !record.tombstone && selectorMatches(service.selector, record.labels);
}
