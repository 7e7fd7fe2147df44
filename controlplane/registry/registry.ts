// The registry seam: durable cluster facts (nodes, networks, subnet leases, services) with a watched cache.
// Implemented over etcd (etcd-registry.ts) and in memory for unit tests (memory-registry.ts).
import type { NetworkSpec } from "../network-spec.js";
import type { ServiceRecord, ServiceSpec } from "../services/service-record.js";
import type { NetworkRecord, NodeRecord, SubnetLease } from "./records.js";

export interface RegistrySnapshot {
  nodes: ReadonlyMap<string, NodeRecord>;
  networks: ReadonlyMap<string, NetworkRecord>;
  /** network name -> its leases, ordered by cidr */
  subnets: ReadonlyMap<string, readonly SubnetLease[]>;
  services: ReadonlyMap<string, ServiceRecord>;
}

export type RegistryEvent =
  | { kind: "node"; type: "put" | "delete"; name: string; record?: NodeRecord }
  | { kind: "network"; type: "put" | "delete"; name: string; record?: NetworkRecord }
  | { kind: "subnet"; type: "put" | "delete"; network: string; cidr: string; lease?: SubnetLease }
  | { kind: "service"; type: "put" | "delete"; name: string; record?: ServiceRecord }
  | { kind: "connection"; connected: boolean };

export interface Registry {
  /** Lists everything under the prefix, then watches from that revision + 1. */
  start(): Promise<void>;
  /** Stops watches and keepalive. Does NOT revoke the node lease: a restarting agent keeps its
   * peers' view, and the lease expires on its own if the agent never returns. */
  close(): Promise<void>;
  /** The cache, kept current by the watch. A value that fails validation is logged, counted and
   * skipped: the cache keeps what the key's last valid value said, and no event is emitted. */
  snapshot(): RegistrySnapshot;
  subscribe(listener: (event: RegistryEvent) => void): () => void;
  isConnected(): boolean;
  /** Puts the record under a lease (TTL ~10 s) kept alive; a lost lease is re-acquired and the record re-put. */
  registerNode(record: NodeRecord): Promise<void>;
  /** Validates; refuses a name, VNI or overlapping subnet already used (already-exists naming the field);
   * an omitted VNI becomes the lowest free one. */
  createNetwork(spec: NetworkSpec): Promise<NetworkRecord>;
  /** Deletes the network and its subnet leases together; not-found if absent; failed-precondition
   * (field "name") while a service uses it or a live node (one whose node record exists) holds a slice of it. */
  removeNetwork(name: string): Promise<void>;
  /** This node's existing lease, else `preferred` if free, else a free slice, else a reclaimed one;
   * resource-exhausted when full. Two callers can never hold the same slice. The network's last slice
   * is never given out: it holds the service VIPs (serviceSlice). */
  claimSubnet(network: string, node: string, preferred?: string): Promise<SubnetLease>;
  /** Deletes the lease if `node` holds it; not-found if it does not exist, failed-precondition if another node holds it. */
  releaseSubnet(network: string, cidr: string, node: string): Promise<void>;
  /** Validates; in one transaction refuses a name already used (already-exists, field "name"), a
   * published port already taken by any service (already-exists, field "ports[i].published", naming the
   * holder) and an unknown network (not-found, field "network"); refuses published ports on an internal
   * network (failed-precondition, field "ports"); vip mode takes a free VIP from the network's reserved
   * service slice (resource-exhausted when none is left; failed-precondition, field "network", while a
   * node holds that slice as its own, claimed before it was reserved). */
  createService(spec: ServiceSpec): Promise<ServiceRecord>;
  /** Deletes the service with its port and VIP reservations (every one holding its name); not-found if absent. */
  removeService(name: string): Promise<void>;
}

export const DEFAULT_NODE_TTL_SECONDS = 10;
export const DEFAULT_RECLAIM_AFTER_MS = 60 * 60 * 1000;
