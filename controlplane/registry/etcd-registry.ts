// The Registry over etcd (flannel's pkg/subnet/etcd idioms): a cache filled by one prefix listing and
// kept current by one prefix watch from the listing's revision + 1; every write is a compare-and-swap
// transaction retried a bounded number of times; on compaction re-list, diff, and watch again.
import { readFileSync } from "node:fs";
import { Etcd3, type IKeyValue, type IOptions, type ICompare, type IRequestOp, type Lease, type Watcher } from "etcd3";
import { isRetryable } from "../retryable.js";
import { WeftError } from "../../proto/values/index.js";
import type { NetworkSpec } from "../network-spec.js";
import { validateNetworkName } from "../network-spec.js";
import { classifyKey, registryKeys, type RegistryKeys } from "./keys.js";
import { planNetwork } from "./network-plan.js";
import {
  parseNetworkRecord,
  parseNodeRecord,
  parseSubnetLease,
  validateNodeName,
  type NetworkRecord,
  type NodeRecord,
  type SubnetLease,
  type SubnetLeaseValue,
} from "./records.js";
import {
  DEFAULT_NODE_TTL_SECONDS,
  DEFAULT_RECLAIM_AFTER_MS,
  type Registry,
  type RegistryEvent,
  type RegistrySnapshot,
} from "./registry.js";
import { SnapshotCache } from "./snapshot-cache.js";
import { planSubnetClaim } from "./subnet-claim-plan.js";

export interface EtcdRegistryOptions {
  endpoints: string[];
  /** default /weft/v1 */
  prefix?: string;
  /** default 10 */
  nodeTtlSeconds?: number;
  /** How long a node must be gone before its slices may be reclaimed; default 1 h. */
  reclaimAfterMs?: number;
  log?: (line: string) => void;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** Compare-and-swap attempts before giving up with "unavailable"; default 32. */
  maxTxnAttempts?: number;
  random?: () => number;
}

export function createEtcdRegistry(options: EtcdRegistryOptions): Registry {
  return new EtcdRegistry(options);
}

const enc = (s: string): Buffer => Buffer.from(s, "utf8");

/** The first key after every key starting with `prefix` (etcd's range_end for a prefix). */
function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix, "utf8");
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A watch backoff for etcd3's watch manager: 100 ms doubling to 2 s (etcd3's own default reaches 30 s). */
function watchBackoff(duration: number): { duration: number; next(): ReturnType<typeof watchBackoff> } {
  return { duration, next: () => watchBackoff(Math.min(duration * 2, 2000)) };
}

export class EtcdRegistry implements Registry {
  private readonly client: Etcd3;
  private readonly keys: RegistryKeys;
  private readonly cache = new SnapshotCache();
  private readonly listeners = new Set<(event: RegistryEvent) => void>();
  private readonly log: (line: string) => void;
  private readonly ttl: number;
  private readonly reclaimAfterMs: number;
  private readonly maxAttempts: number;
  private readonly random: () => number;
  private readonly startedAt = Date.now();
  /** When each node's record was seen deleted (for reclaiming slices). */
  private readonly goneSince = new Map<string, number>();
  /** `key@modRevision` of invalid values already logged, so each is logged once. */
  private readonly loggedInvalid = new Set<string>();
  private watcher: Watcher | undefined;
  private connected = false;
  private closed = false;
  private started = false;
  // The node this agent registered, and the lease keeping it; replaced when the lease is lost.
  private node: NodeRecord | undefined;
  private lease: Lease | undefined;
  private reacquiring = false;

  constructor(options: EtcdRegistryOptions) {
    if (!Array.isArray(options.endpoints) || options.endpoints.length === 0) {
      throw new WeftError("invalid-argument", "endpoints: at least one etcd endpoint is required", { field: "endpoints" });
    }
    this.keys = registryKeys(options.prefix);
    this.log = options.log ?? (() => undefined);
    this.ttl = options.nodeTtlSeconds ?? DEFAULT_NODE_TTL_SECONDS;
    this.reclaimAfterMs = options.reclaimAfterMs ?? DEFAULT_RECLAIM_AFTER_MS;
    this.maxAttempts = options.maxTxnAttempts ?? 32;
    this.random = options.random ?? Math.random;
    const etcdOptions: IOptions = {
      hosts: options.endpoints,
      dialTimeout: 5000,
      grpcOptions: {
        // A cut link otherwise leaves the connection waiting on the kernel's retransmissions, seconds
        // apart after a long cut: pinging (no more often than etcd's 5 s minimum allows) finds it dead
        // during a cut that outlives the node lease, and reconnects retry at most a second apart.
        "grpc.keepalive_time_ms": 6000,
        "grpc.keepalive_timeout_ms": 1000,
        "grpc.initial_reconnect_backoff_ms": 100,
        "grpc.max_reconnect_backoff_ms": 1000,
      },
      faultHandling: { watchBackoff: watchBackoff(100) as unknown as NonNullable<IOptions["faultHandling"]>["watchBackoff"] },
    };
    if (options.tls?.caFile) {
      etcdOptions.credentials = {
        rootCertificate: readFileSync(options.tls.caFile),
        ...(options.tls.keyFile ? { privateKey: readFileSync(options.tls.keyFile) } : {}),
        ...(options.tls.certFile ? { certChain: readFileSync(options.tls.certFile) } : {}),
      };
    }
    this.client = new Etcd3(etcdOptions);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const revision = await this.relist();
    this.setConnected(true);
    await this.watchFrom(revision + 1);
  }

  async close(): Promise<void> {
    this.closed = true;
    const watcher = this.watcher;
    this.watcher = undefined;
    // Closing the lease object stops keepalive without revoking it (see Registry.close).
    this.lease?.release();
    this.lease = undefined;
    // Cancelling waits for etcd to confirm; do not let an unreachable etcd hold up shutdown.
    if (watcher) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([watcher.cancel().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, 1000)))]);
      clearTimeout(timer);
    }
    this.client.close();
  }

  snapshot(): RegistrySnapshot {
    return this.cache.snapshot();
  }

  subscribe(listener: (event: RegistryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  isConnected(): boolean {
    return this.connected;
  }

  // ---- nodes -------------------------------------------------------------------------------

  async registerNode(record: NodeRecord): Promise<void> {
    const valid = parseNodeRecord("", record);
    this.node = valid;
    const lease = this.lease;
    if (lease) {
      try {
        await lease.put(this.keys.node(valid.name)).value(JSON.stringify(valid)).exec();
        return;
      } catch (err) {
        if (isRetryable(err)) throw toWeftError(err, "etcd: could not register node");
        // The lease is gone on the server (revoked or expired): take a new one below.
        if (this.lease === lease) this.lease = undefined;
        lease.release();
      }
    }
    await this.acquireLeaseAndPut(valid);
  }

  private async acquireLeaseAndPut(record: NodeRecord): Promise<void> {
    const lease = this.client.lease(this.ttl);
    lease.on("lost", (err) => {
      if (this.lease !== lease || this.closed) return;
      this.log(`node lease lost (${err.message}); re-acquiring and re-registering ${record.name}`);
      this.lease = undefined;
      void this.reacquire();
    });
    try {
      await lease.grant();
      await lease.put(this.keys.node(record.name)).value(JSON.stringify(this.node ?? record)).exec();
    } catch (err) {
      lease.release();
      throw toWeftError(err, "etcd: could not register node");
    }
    if (this.closed) {
      lease.release();
      return;
    }
    this.lease?.release();
    this.lease = lease;
  }

  /** Keeps trying to get a new lease and re-put the node record until it works or the registry closes. */
  private async reacquire(): Promise<void> {
    if (this.reacquiring) return;
    this.reacquiring = true;
    let delay = 200;
    try {
      while (!this.closed && this.node && !this.lease) {
        try {
          await this.acquireLeaseAndPut(this.node);
          this.log(`node ${this.node.name} registered again under a new lease`);
          return;
        } catch (err) {
          this.log(`re-registering node failed (${errorText(err)}); retrying in ${delay} ms`);
          await sleep(delay);
          delay = Math.min(delay * 2, 2000);
        }
      }
    } finally {
      this.reacquiring = false;
    }
  }

  // ---- networks ----------------------------------------------------------------------------

  async createNetwork(spec: NetworkSpec): Promise<NetworkRecord> {
    planNetwork(spec, [], new Date()); // validate before touching etcd
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const listing = await this.etcd(() =>
        this.client.kv.range({ key: enc(this.keys.networks), range_end: prefixEnd(this.keys.networks) }),
      );
      const revision = Number(listing.header.revision);
      const existing: NetworkRecord[] = [];
      for (const kv of listing.kvs) {
        const key = kv.key.toString("utf8");
        if (key === this.keys.network(spec.name)) {
          throw new WeftError("already-exists", `name: network ${JSON.stringify(spec.name)} already exists`, { field: "name" });
        }
        const record = this.parseLogged(kv, parseNetworkRecord);
        if (record) existing.push(record);
      }
      const record = planNetwork(spec, existing, new Date());
      const key = this.keys.network(record.name);
      // No network created or changed since the listing, and the name still free: the VNI and
      // subnet checks above hold at commit time.
      const compare: ICompare[] = [
        { key: enc(this.keys.networks), range_end: prefixEnd(this.keys.networks), target: "Mod", result: "Less", mod_revision: revision + 1 },
        { key: enc(key), target: "Version", result: "Equal", version: 0 },
      ];
      const txn = await this.etcd(() =>
        this.client.kv.txn({ compare, success: [{ request_put: { key: enc(key), value: enc(JSON.stringify(record)) } }], failure: [] }),
      );
      if (txn.succeeded) return record;
      await this.conflictBackoff(attempt);
    }
    throw new WeftError("unavailable", `etcd: creating network ${JSON.stringify(spec.name)} kept conflicting; try again`);
  }

  async removeNetwork(name: string): Promise<void> {
    validateNetworkName(name);
    const key = this.keys.network(name);
    const subnets = this.keys.subnetsOf(name);
    const txn = await this.etcd(() =>
      this.client.kv.txn({
        compare: [{ key: enc(key), target: "Version", result: "Greater", version: 0 }],
        success: [
          { request_delete_range: { key: enc(subnets), range_end: prefixEnd(subnets) } },
          { request_delete_range: { key: enc(key) } },
        ],
        failure: [],
      }),
    );
    if (!txn.succeeded) throw new WeftError("not-found", `name: network ${JSON.stringify(name)} does not exist`, { field: "name" });
  }

  // ---- subnet leases -----------------------------------------------------------------------

  async claimSubnet(network: string, node: string, preferred?: string): Promise<SubnetLease> {
    validateNetworkName(network, "network");
    validateNodeName(node);
    const networkKey = this.keys.network(network);
    const subnetsPrefix = this.keys.subnetsOf(network);
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      // One read transaction: network, its leases and the live nodes at one revision.
      const read: IRequestOp[] = [
        { request_range: { key: enc(networkKey) } },
        { request_range: { key: enc(subnetsPrefix), range_end: prefixEnd(subnetsPrefix) } },
        { request_range: { key: enc(this.keys.nodes), range_end: prefixEnd(this.keys.nodes), keys_only: true } },
      ];
      const state = await this.etcd(() => this.client.kv.txn({ compare: [], success: read, failure: [] }));
      const [networkRange, subnetRange, nodeRange] = state.responses.map((r) => r.response_range);
      const networkKv = networkRange?.kvs[0];
      const record = networkKv && this.parseLogged(networkKv, parseNetworkRecord);
      if (!networkKv || !record) {
        throw new WeftError("not-found", `network: ${JSON.stringify(network)} does not exist`, { field: "network" });
      }
      const leases: SubnetLease[] = [];
      const modRevisions = new Map<string, string>();
      const occupied = new Set<string>();
      for (const kv of subnetRange?.kvs ?? []) {
        const parsed = classifyKey(this.keys, kv.key.toString("utf8"));
        if (parsed?.kind === "subnet") occupied.add(parsed.cidr);
        const lease = this.parseLogged(kv, parseSubnetLease);
        if (!lease) continue;
        leases.push(lease);
        modRevisions.set(lease.cidr, kv.mod_revision);
      }
      // A key holding garbage is still occupied: never overwrite it by accident.
      for (const cidr of occupied) {
        if (!modRevisions.has(cidr)) leases.push({ network, cidr, node: "\u0000invalid", since: new Date().toISOString() });
      }
      const liveNodes = new Set((nodeRange?.kvs ?? []).map((kv) => kv.key.toString("utf8").slice(this.keys.nodes.length)));
      const plan = planSubnetClaim({
        network: record,
        node,
        leases,
        ...(preferred !== undefined ? { preferred } : {}),
        liveNodes,
        absentSince: (n) => this.goneSince.get(n) ?? this.startedAt,
        now: Date.now(),
        reclaimAfterMs: this.reclaimAfterMs,
        random: this.random,
      });
      if (plan.kind === "existing") return plan.lease;
      if (plan.kind === "reclaim" && !modRevisions.has(plan.cidr)) {
        throw new WeftError("resource-exhausted", `subnet: network ${JSON.stringify(network)} has no free slice`, { field: "subnet" });
      }

      const lease: SubnetLease = { network, cidr: plan.cidr, node, since: new Date().toISOString() };
      const value: SubnetLeaseValue = { node: lease.node, since: lease.since };
      const key = this.keys.subnet(network, plan.cidr);
      const compare: ICompare[] = [
        // The same incarnation of the network (not removed and recreated meanwhile).
        { key: enc(networkKey), target: "Create", result: "Equal", create_revision: networkKv.create_revision },
        plan.kind === "claim"
          ? { key: enc(key), target: "Version", result: "Equal", version: 0 }
          : { key: enc(key), target: "Mod", result: "Equal", mod_revision: modRevisions.get(plan.cidr)! },
      ];
      const txn = await this.etcd(() =>
        this.client.kv.txn({ compare, success: [{ request_put: { key: enc(key), value: enc(JSON.stringify(value)) } }], failure: [] }),
      );
      if (txn.succeeded) {
        if (plan.kind === "reclaim") {
          this.log(`reclaimed ${plan.cidr} of network ${network} from node ${plan.previous.node}, gone longer than ${this.reclaimAfterMs} ms`);
        }
        return lease;
      }
      await this.conflictBackoff(attempt);
    }
    throw new WeftError("unavailable", `etcd: claiming a slice of ${JSON.stringify(network)} kept conflicting; try again`);
  }

  async releaseSubnet(network: string, cidr: string, node: string): Promise<void> {
    validateNetworkName(network, "network");
    const key = this.keys.subnet(network, cidr);
    const current = await this.etcd(() => this.client.kv.range({ key: enc(key) }));
    const kv = current.kvs[0];
    if (!kv) throw new WeftError("not-found", `cidr: ${cidr} of network ${JSON.stringify(network)} is not leased`, { field: "cidr" });
    const lease = this.parseLogged(kv, parseSubnetLease);
    if (!lease || lease.node !== node) {
      throw new WeftError(
        "failed-precondition",
        `node: ${cidr} of network ${JSON.stringify(network)} is held by ${lease ? lease.node : "an unreadable lease"}, not ${node}`,
        { field: "node" },
      );
    }
    const txn = await this.etcd(() =>
      this.client.kv.txn({
        compare: [{ key: enc(key), target: "Mod", result: "Equal", mod_revision: kv.mod_revision }],
        success: [{ request_delete_range: { key: enc(key) } }],
        failure: [],
      }),
    );
    if (!txn.succeeded) {
      throw new WeftError("failed-precondition", `cidr: the lease on ${cidr} changed while releasing it`, { field: "cidr" });
    }
  }

  // ---- cache and watch ---------------------------------------------------------------------

  /** Lists everything under the prefix into the cache (emitting the differences); returns the revision. */
  private async relist(): Promise<number> {
    const listing = await this.etcd(() =>
      this.client.kv.range({ key: enc(this.keys.prefix), range_end: prefixEnd(this.keys.prefix) }),
    );
    const next = { nodes: [] as NodeRecord[], networks: [] as NetworkRecord[], subnets: [] as SubnetLease[] };
    for (const kv of listing.kvs) {
      const parsed = classifyKey(this.keys, kv.key.toString("utf8"));
      if (parsed?.kind === "node") {
        const r = this.parseLogged(kv, parseNodeRecord);
        if (r) next.nodes.push(r);
      } else if (parsed?.kind === "network") {
        const r = this.parseLogged(kv, parseNetworkRecord);
        if (r) next.networks.push(r);
      } else if (parsed?.kind === "subnet") {
        const r = this.parseLogged(kv, parseSubnetLease);
        if (r) next.subnets.push(r);
      }
    }
    const present = new Set(next.nodes.map((n) => n.name));
    for (const name of this.cache.nodes.keys()) if (!present.has(name)) this.goneSince.set(name, Date.now());
    for (const event of this.cache.replaceWith(next)) this.emit(event);
    return Number(listing.header.revision);
  }

  private async watchFrom(revision: number): Promise<void> {
    const watcher = this.client.watch().prefix(this.keys.prefix).startRevision(String(revision)).watcher();
    this.watcher = watcher;
    const connected = new Promise<void>((resolve, reject) => {
      watcher.once("connected", () => resolve());
      watcher.once("error", reject);
    });
    watcher.on("connected", () => this.setConnected(true));
    watcher.on("disconnected", (err) => {
      this.log(`lost the etcd watch (${errorText(err)}); reconnecting`);
      this.setConnected(false);
    });
    watcher.on("put", (kv) => this.applyPut(kv));
    watcher.on("delete", (kv) => this.applyDelete(kv));
    watcher.on("error", (err) => {
      if (this.watcher !== watcher || this.closed) return;
      this.watcher = undefined;
      void watcher.cancel().catch(() => undefined);
      const compacted = /compact/i.test(err.message);
      this.log(`watch ended (${err.message}); ${compacted ? "history compacted, " : ""}re-listing`);
      void this.rewatch();
    });
    await connected.catch((err: unknown) => {
      // The error handler above schedules a re-list; start() must not fail for it.
      this.log(`watch failed to start (${errorText(err)})`);
    });
  }

  /** After a cancelled watch: list again (until etcd answers), emit the differences, watch from there. */
  private async rewatch(): Promise<void> {
    let delay = 100;
    while (!this.closed) {
      try {
        const revision = await this.relist();
        if (this.closed) return;
        await this.watchFrom(revision + 1);
        return;
      } catch (err) {
        this.setConnected(false);
        this.log(`re-list failed (${errorText(err)}); retrying in ${delay} ms`);
        await sleep(delay);
        delay = Math.min(delay * 2, 2000);
      }
    }
  }

  private applyPut(kv: IKeyValue): void {
    const key = kv.key.toString("utf8");
    const parsed = classifyKey(this.keys, key);
    if (!parsed) return;
    if (parsed.kind === "node") {
      const r = this.parseLogged(kv, parseNodeRecord);
      this.goneSince.delete(parsed.name);
      this.emit(r ? this.cache.putNode(r) : this.cache.deleteNode(parsed.name));
    } else if (parsed.kind === "network") {
      const r = this.parseLogged(kv, parseNetworkRecord);
      this.emit(r ? this.cache.putNetwork(r) : this.cache.deleteNetwork(parsed.name));
    } else {
      const r = this.parseLogged(kv, parseSubnetLease);
      this.emit(r ? this.cache.putSubnet(r) : this.cache.deleteSubnet(parsed.network, parsed.cidr));
    }
  }

  private applyDelete(kv: IKeyValue): void {
    const parsed = classifyKey(this.keys, kv.key.toString("utf8"));
    if (!parsed) return;
    if (parsed.kind === "node") {
      this.goneSince.set(parsed.name, Date.now());
      this.emit(this.cache.deleteNode(parsed.name));
    } else if (parsed.kind === "network") {
      this.emit(this.cache.deleteNetwork(parsed.name));
    } else {
      this.emit(this.cache.deleteSubnet(parsed.network, parsed.cidr));
    }
  }

  /** Parses a value, logging (once per key and revision) and returning undefined when it is invalid. */
  private parseLogged<T>(kv: IKeyValue, parse: (key: string, value: unknown) => T): T | undefined {
    const key = kv.key.toString("utf8");
    try {
      return parse(key, kv.value.toString("utf8"));
    } catch (err) {
      const id = `${key}@${kv.mod_revision}`;
      if (!this.loggedInvalid.has(id)) {
        this.loggedInvalid.add(id);
        this.log(`skipping invalid value at ${key}: ${errorText(err)}`);
      }
      return undefined;
    }
  }

  private setConnected(connected: boolean): void {
    if (this.connected === connected || this.closed) return;
    this.connected = connected;
    this.emit({ kind: "connection", connected });
    if (connected) void this.checkLeaseNow();
  }

  /**
   * Back in touch with etcd: if the node's lease expired meanwhile (a partition longer than its TTL),
   * re-register at once rather than at the next keepalive, up to TTL/3 later, so peers see the node again.
   */
  private async checkLeaseNow(): Promise<void> {
    const lease = this.lease;
    if (lease === undefined) return;
    try {
      const response = await lease.keepaliveOnce({ deadline: Date.now() + 2000 });
      if (String(response.TTL) !== "0" || this.lease !== lease || this.closed) return;
      this.log("node lease expired while etcd was unreachable; re-registering");
      this.lease = undefined;
      lease.release();
      void this.reacquire();
    } catch {
      // Still unreachable, or the lease is unknown: the keepalive loop reports loss as usual.
    }
  }

  private emit(event: RegistryEvent | undefined): void {
    if (!event) return;
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (err) {
        this.log(`listener failed on ${event.kind} event: ${errorText(err)}`);
      }
    }
  }

  private async conflictBackoff(attempt: number): Promise<void> {
    await sleep(Math.floor(this.random() * Math.min(5 * 2 ** Math.min(attempt, 5), 100)));
  }

  /** Runs an etcd call, turning client failures into WeftError("unavailable"). */
  private async etcd<T>(call: () => Promise<T>): Promise<T> {
    if (this.closed) throw new WeftError("unavailable", "etcd: the registry is closed");
    try {
      return await call();
    } catch (err) {
      throw toWeftError(err, "etcd: request failed");
    }
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function toWeftError(err: unknown, context: string): WeftError {
  if (err instanceof WeftError) return err;
  const code = isRetryable(err) || (err instanceof Error && /circuit|unavailable|connect/i.test(err.message)) ? "unavailable" : "internal";
  return new WeftError(code, `${context}: ${errorText(err)}`, { cause: err });
}
