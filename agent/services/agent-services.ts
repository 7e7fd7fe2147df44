// The agent's services part, built once and wired by agent.ts: the service view (backends from gossip
// labels), the slices of networks served for their published ports, the API's operations, and how
// registry events move them. What it cannot do itself (reconcile, persist, the endpoints' lock) comes in
// as functions.
import type { GossipNode } from "../../controlplane/gossip/index.js";
import type { Registry, RegistryEvent } from "../../controlplane/registry/index.js";
import type { ServiceRecord } from "../../controlplane/services/index.js";
import { errorText } from "../../proto/values/index.js";
import type { DnsRecordSource, GossipRecordSource } from "../dns/index.js";
import type { ServiceWithBackends } from "../desired-state/mesh-part.js";
import { withServiceNames } from "../names/service-names.js";
import { ServiceSlices } from "../networks/service-slices.js";
import { ServiceOperations } from "./service-operations.js";
import { ServiceView } from "./service-view.js";

export interface AgentServicesOptions {
  node: string;
  registry: Registry;
  /** Whether the network is known (etcd's, or kept by the network view). */
  isKnownNetwork: (network: string) => boolean;
  hasLocalEndpoints: (network: string) => boolean;
  /** Whether this host programs the network now (the last full run did): only there does the mesh follow backends. */
  isProgrammed: (network: string) => boolean;
  subnets: () => Record<string, string>;
  persist: () => Promise<void>;
  exclusive: <T>(work: () => Promise<T>) => Promise<T>;
  reconcile: () => void;
  log: (level: "info" | "warn", line: string) => void;
}

export class AgentServices {
  readonly slices: ServiceSlices;
  private view: ServiceView | undefined;
  private ops: ServiceOperations | undefined;

  constructor(private readonly options: AgentServicesOptions) {
    this.slices = new ServiceSlices({
      node: options.node,
      registry: options.registry,
      wanted: () => new Set([...(this.view?.publishingNetworks() ?? [])].filter(options.isKnownNetwork)),
      hasLocalEndpoints: options.hasLocalEndpoints,
      subnets: options.subnets,
      persist: options.persist,
      exclusive: options.exclusive,
      changed: options.reconcile,
      log: options.log,
    });
  }

  /** Follows gossip from now on; the DNS's records get the services' names. */
  start(gossip: GossipNode, endpointNames: GossipRecordSource): DnsRecordSource {
    const { registry, log } = this.options;
    // A change of the backends of a service this host forwards to reconciles the mesh, as an entry
    // change does the FDB. (A network programmed later is built by a full run, with the backends of then.)
    const services = (): ReadonlyMap<string, ServiceRecord> => registry.snapshot().services;
    const onBackendsChange = (names: string[]): void => {
      if (names.some((name) => this.options.isProgrammed(services().get(name)?.network ?? ""))) this.options.reconcile();
    };
    this.view = new ServiceView({ services, gossip, onBackendsChange });
    this.ops = new ServiceOperations({ registry, view: this.view, log });
    return withServiceNames(endpointNames, this.view);
  }

  /** The API's service operations (after start). */
  get operations(): ServiceOperations {
    if (this.ops === undefined) throw new Error("services: not started");
    return this.ops;
  }

  list(): ServiceWithBackends[] {
    return this.view?.list() ?? [];
  }

  /** Claims and releases slices for published services; failures are logged and retried on the next call. */
  syncSlices(): Promise<void> {
    return this.slices.sync().catch((err: unknown) => this.options.log("warn", `service slices: ${errorText(err)}`));
  }

  /** Reacts to a registry event; true when the mesh or the gateways it needs moved (a full reconcile is due). */
  onRegistryEvent(event: RegistryEvent): boolean {
    if (this.view === undefined) return false;
    if (event.kind === "service") this.view.noteServicesChanged();
    if (event.kind === "service" || event.kind === "network") void this.syncSlices();
    // Slices and nodes move gateways where services are (other nodes' are remote entries there).
    if (event.kind === "subnet") {
      this.slices.noteLeaseChange(event.network);
      return this.view.networks().has(event.network);
    }
    if (event.kind === "node") return this.view.networks().size > 0;
    return event.kind === "service";
  }

  close(): void {
    this.view?.close();
  }
}
