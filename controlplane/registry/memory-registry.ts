// An in-memory Registry with the same semantics as the etcd one, for unit tests. Several
// MemoryRegistry instances may share one MemoryRegistryStore to play several agents on one etcd.
import { WeftError, parseName } from "../../proto/values/index.js";
import type { NetworkSpec } from "../network-spec.js";
import { registryKeys, type RegistryKeys } from "./keys.js";
import { planNetwork } from "./network-plan.js";
import { parseNodeRecord, type NetworkRecord, type NodeRecord, type SubnetLease } from "./records.js";
import { RegistryValueReader, type RegistryValueReaderOptions } from "./registry-values.js";
import { DEFAULT_RECLAIM_AFTER_MS, type Registry, type RegistryEvent, type RegistrySnapshot } from "./registry.js";
import { SnapshotCache } from "./snapshot-cache.js";
import { planSubnetClaim } from "./subnet-claim-plan.js";
import { planService } from "./service-plan.js";
import type { ServiceRecord, ServiceSpec } from "../services/service-record.js";
import { serviceSlice } from "../services/vip-allocation.js";

/** The shared "etcd" of a set of MemoryRegistry instances. */
export class MemoryRegistryStore {
  readonly cache = new SnapshotCache();
  /** When each node's record went away (lease expired), for reclaiming its slices. */
  readonly goneSince = new Map<string, number>();
  /** "tcp/8080" -> the service publishing it (etcd's ports/ keys). */
  readonly ports = new Map<string, string>();
  /** "network/ip" -> the service holding the VIP (etcd's vips/ keys). */
  readonly vips = new Map<string, string>();
  readonly createdAt: number;
  /** The key layout under the default prefix, for writeValue. */
  readonly keys: RegistryKeys = registryKeys();
  private readonly values: RegistryValueReader;
  private readonly listeners = new Set<(event: RegistryEvent) => void>();
  private revision = 0;

  constructor(
    readonly now: () => number = Date.now,
    options: RegistryValueReaderOptions = {},
  ) {
    this.createdAt = now();
    this.values = new RegistryValueReader(this.keys, options);
  }

  /**
   * Simulates anyone writing `value` under `key` (e.g. keys.node("h1")), read back as the etcd
   * registry reads its watch: a valid value is applied; an invalid one is logged, counted and
   * skipped, leaving what the key held before.
   */
  writeValue(key: string, value: string): void {
    const read = this.values.read(key, value, String(++this.revision));
    if (read?.value === undefined) return;
    if (read.key.kind === "node") this.goneSince.delete(read.key.name);
    this.emit(this.cache.put(read.value));
  }

  /** Simulates a node's lease expiring: its record is deleted, its slices stay. */
  expireNode(name: string): void {
    this.goneSince.set(name, this.now());
    this.emit(this.cache.deleteNode(name));
  }

  /** @internal */
  attach(listener: (event: RegistryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** @internal */
  emit(event: RegistryEvent | undefined): void {
    if (!event) return;
    for (const listener of [...this.listeners]) listener(event);
  }
}

export interface MemoryRegistryOptions {
  store?: MemoryRegistryStore;
  reclaimAfterMs?: number;
  random?: () => number;
  log?: (line: string) => void;
}

export class MemoryRegistry implements Registry {
  readonly store: MemoryRegistryStore;
  private readonly listeners = new Set<(event: RegistryEvent) => void>();
  private detach: (() => void) | undefined;
  private connected = true;
  private readonly reclaimAfterMs: number;

  constructor(private readonly options: MemoryRegistryOptions = {}) {
    this.store = options.store ?? new MemoryRegistryStore();
    this.reclaimAfterMs = options.reclaimAfterMs ?? DEFAULT_RECLAIM_AFTER_MS;
  }

  async start(): Promise<void> {
    if (!this.detach) this.detach = this.store.attach((event) => this.deliver(event));
  }

  async close(): Promise<void> {
    this.detach?.();
    this.detach = undefined;
  }

  snapshot(): RegistrySnapshot {
    return this.store.cache.snapshot();
  }

  subscribe(listener: (event: RegistryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  isConnected(): boolean {
    return this.connected;
  }

  /** Test control: simulates losing or regaining etcd. While disconnected every call fails with unavailable. */
  setConnected(connected: boolean): void {
    if (this.connected === connected) return;
    this.connected = connected;
    this.deliver({ kind: "connection", connected });
  }

  async registerNode(record: NodeRecord): Promise<void> {
    const valid = parseNodeRecord("", record);
    this.ensureConnected();
    this.store.goneSince.delete(valid.name);
    this.store.emit(this.store.cache.putNode(valid));
  }

  async createNetwork(spec: NetworkSpec): Promise<NetworkRecord> {
    const record = planNetwork(spec, this.store.cache.networks.values(), new Date(this.store.now()));
    this.ensureConnected();
    this.store.emit(this.store.cache.putNetwork(record));
    return record;
  }

  async removeNetwork(name: string): Promise<void> {
    this.ensureConnected();
    const cache = this.store.cache;
    if (!cache.networks.has(name)) {
      throw new WeftError("not-found", `name: network ${JSON.stringify(name)} does not exist`, { field: "name" });
    }
    const services = [...cache.services.values()].filter((s) => s.network === name).map((s) => s.name).sort();
    if (services.length > 0) {
      throw new WeftError("failed-precondition", `name: network ${JSON.stringify(name)} is in use by service(s) ${services.join(", ")}`, { field: "name" });
    }
    const inUse = [...new Set(cache.leasesOf(name).map((l) => l.node))].filter((node) => cache.nodes.has(node)).sort();
    if (inUse.length > 0) {
      throw new WeftError("failed-precondition", `name: network ${JSON.stringify(name)} is in use: live node(s) ${inUse.join(", ")} hold slices of it`, {
        field: "name",
      });
    }
    for (const key of [...this.store.vips.keys()]) if (key.startsWith(`${name}/`)) this.store.vips.delete(key);
    const events = cache.leasesOf(name).map((l) => cache.deleteSubnet(name, l.cidr));
    events.push(cache.deleteNetwork(name));
    for (const e of events) this.store.emit(e);
  }

  async claimSubnet(network: string, node: string, preferred?: string): Promise<SubnetLease> {
    parseName(node, "node");
    this.ensureConnected();
    const cache = this.store.cache;
    const record = cache.networks.get(network);
    if (!record) throw new WeftError("not-found", `network: ${JSON.stringify(network)} does not exist`, { field: "network" });
    const now = this.store.now();
    const plan = planSubnetClaim({
      network: record,
      node,
      leases: cache.leasesOf(network),
      ...(preferred !== undefined ? { preferred } : {}),
      liveNodes: new Set(cache.nodes.keys()),
      absentSince: (n) => this.store.goneSince.get(n) ?? this.store.createdAt,
      now,
      reclaimAfterMs: this.reclaimAfterMs,
      ...(this.options.random ? { random: this.options.random } : {}),
    });
    if (plan.kind === "existing") return plan.lease;
    if (plan.kind === "reclaim") {
      this.options.log?.(`reclaiming ${plan.cidr} of network ${network} from node ${plan.previous.node}, gone too long`);
    }
    const lease: SubnetLease = { network, cidr: plan.cidr, node, since: new Date(now).toISOString() };
    this.store.emit(cache.putSubnet(lease));
    return lease;
  }

  async releaseSubnet(network: string, cidr: string, node: string): Promise<void> {
    this.ensureConnected();
    const cache = this.store.cache;
    const lease = cache.subnets.get(network)?.get(cidr);
    if (!lease) throw new WeftError("not-found", `cidr: ${cidr} of network ${JSON.stringify(network)} is not leased`, { field: "cidr" });
    if (lease.node !== node) {
      throw new WeftError("failed-precondition", `node: ${cidr} of network ${JSON.stringify(network)} is held by ${lease.node}, not ${node}`, { field: "node" });
    }
    this.store.emit(cache.deleteSubnet(network, cidr));
  }

  private ensureConnected(): void {
    if (!this.connected) throw new WeftError("unavailable", "etcd: not connected (simulated)");
  }

  private deliver(event: RegistryEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (err) {
        (this.options.log ?? console.error)(`listener failed on ${event.kind} event: ${String(err)}`);
      }
    }
  }

  async createService(spec: ServiceSpec): Promise<ServiceRecord> {
    this.ensureConnected();
    const { cache, ports, vips } = this.store;
    const network = typeof spec?.network === "string" ? cache.networks.get(spec.network) : undefined;
    // planService validates the spec first; these look-ups only need to survive a bad one.
    const vipsOfNetwork = `${String(spec?.network)}/`;
    const takenVips = new Set([...vips.keys()].filter((k) => k.startsWith(vipsOfNetwork)).map((k) => k.slice(vipsOfNetwork.length)));
    const record = planService({
      spec,
      nameTaken: typeof spec?.name === "string" && cache.services.has(spec.name),
      network,
      portHolder: (port) => ports.get(`${port.protocol}/${port.published}`),
      takenVips,
      serviceSliceHolder: network && cache.subnets.get(network.name)?.get(serviceSlice(network))?.node,
      now: new Date(this.store.now()),
    });
    for (const port of record.ports) ports.set(`${port.protocol}/${port.published}`, record.name);
    if (record.vip !== undefined) vips.set(`${record.network}/${record.vip}`, record.name);
    this.store.emit(cache.putService(record));
    return record;
  }

  async removeService(name: string): Promise<void> {
    parseName(name, "name");
    this.ensureConnected();
    const { cache, ports, vips } = this.store;
    if (!cache.services.has(name)) throw new WeftError("not-found", `name: service ${JSON.stringify(name)} does not exist`, { field: "name" });
    for (const reservations of [ports, vips]) {
      for (const [key, holder] of [...reservations]) if (holder === name) reservations.delete(key);
    }
    this.store.emit(cache.deleteService(name));
  }
}
