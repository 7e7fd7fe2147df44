// The Registry over etcd. Its parts: the cache and its watch (registry-watch.ts), this node's
// lease-bound record (node-lease-keeper.ts), and the writes, each a transaction over what it read
// (network-transactions.ts, subnet-claims.ts, service-transactions.ts); this file puts them together.
import { Etcd3, type IOptions } from "etcd3";
import type { Registry as MetricsRegistry } from "prom-client";
import { WeftError, errorText } from "../../proto/values/index.js";
import type { NetworkSpec } from "../network-spec.js";
import { EtcdRequests } from "./etcd-requests.js";
import { registryKeys } from "./keys.js";
import { createNetwork, removeNetwork } from "./network-transactions.js";
import { NodeLeaseKeeper } from "./node-lease-keeper.js";
import type { NetworkRecord, NodeRecord, SubnetLease } from "./records.js";
import { RegistryValueReader } from "./registry-values.js";
import { RegistryWatch } from "./registry-watch.js";
import { createService, removeService } from "./service-transactions.js";
import {
  DEFAULT_NODE_TTL_SECONDS,
  DEFAULT_RECLAIM_AFTER_MS,
  type Registry,
  type RegistryEvent,
  type RegistrySnapshot,
} from "./registry.js";
import { claimSubnet, releaseSubnet, type ClaimPolicy } from "./subnet-claims.js";
import type { ServiceRecord, ServiceSpec } from "../services/service-record.js";

export interface EtcdRegistryOptions {
  /** etcd3's client options: hosts and TLS credentials (weftd builds them with etcdClientOptions). */
  client: IOptions;
  /** default /weft/v1 */
  prefix?: string;
  /** default 10 */
  nodeTtlSeconds?: number;
  /** How long a node must be gone before its slices may be reclaimed; default 1 h. */
  reclaimAfterMs?: number;
  log?: (line: string) => void;
  /** Where the registry's series (weft_registry_invalid_values_total) are registered. */
  metrics?: MetricsRegistry;
  /** Compare-and-swap attempts before giving up with "unavailable"; default 32. */
  maxTxnAttempts?: number;
  random?: () => number;
}

export function createEtcdRegistry(options: EtcdRegistryOptions): Registry {
  return new EtcdRegistry(options);
}

/** A watch backoff for etcd3's watch manager: 100 ms doubling to 2 s (etcd3's own default reaches 30 s). */
function watchBackoff(duration: number): { duration: number; next(): ReturnType<typeof watchBackoff> } {
  return { duration, next: () => watchBackoff(Math.min(duration * 2, 2000)) };
}

/** The registry's tuning of the etcd client, under the caller's options. */
function tunedClientOptions(client: IOptions): IOptions {
  return {
    dialTimeout: 5000,
    faultHandling: { watchBackoff: watchBackoff(100) as unknown as NonNullable<IOptions["faultHandling"]>["watchBackoff"] },
    ...client,
    grpcOptions: {
      // A cut link otherwise leaves the connection waiting on the kernel's retransmissions, seconds
      // apart after a long cut: pinging (no more often than etcd's 5 s minimum allows) finds it dead
      // during a cut that outlives the node lease, and reconnects retry at most a second apart.
      "grpc.keepalive_time_ms": 6000,
      "grpc.keepalive_timeout_ms": 1000,
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 1000,
      ...client.grpcOptions,
    },
  };
}

export class EtcdRegistry implements Registry {
  private readonly client: Etcd3;
  private readonly etcd: EtcdRequests;
  private readonly watch: RegistryWatch;
  private readonly nodeLease: NodeLeaseKeeper;
  private readonly claimPolicy: ClaimPolicy;
  private readonly listeners = new Set<(event: RegistryEvent) => void>();
  private readonly log: (line: string) => void;
  private connected = false;
  private closed = false;
  private started = false;

  constructor(options: EtcdRegistryOptions) {
    const hosts = options.client?.hosts;
    if (hosts === undefined || hosts.length === 0) {
      throw new WeftError("invalid-argument", "endpoints: at least one etcd endpoint is required", { field: "endpoints" });
    }
    const keys = registryKeys(options.prefix);
    this.log = options.log ?? (() => undefined);
    this.client = new Etcd3(tunedClientOptions(options.client));
    const values = new RegistryValueReader(keys, { log: this.log, ...(options.metrics ? { metrics: options.metrics } : {}) });
    this.etcd = new EtcdRequests(this.client, keys, values, this.log, options.maxTxnAttempts ?? 32);
    this.watch = new RegistryWatch(this.etcd, { emit: (event) => this.emit(event), connected: (c) => this.setConnected(c) });
    this.nodeLease = new NodeLeaseKeeper(this.etcd, options.nodeTtlSeconds ?? DEFAULT_NODE_TTL_SECONDS);
    this.claimPolicy = {
      reclaimAfterMs: options.reclaimAfterMs ?? DEFAULT_RECLAIM_AFTER_MS,
      absentSince: (node) => this.watch.absentSince(node),
      random: options.random ?? Math.random,
    };
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.watch.start();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.nodeLease.close();
    await this.watch.close();
    this.etcd.close();
    this.client.close();
  }

  snapshot(): RegistrySnapshot {
    return this.watch.cache.snapshot();
  }

  subscribe(listener: (event: RegistryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  isConnected(): boolean {
    return this.connected;
  }

  registerNode(record: NodeRecord): Promise<void> {
    return this.nodeLease.register(record);
  }

  createNetwork(spec: NetworkSpec): Promise<NetworkRecord> {
    return createNetwork(this.etcd, spec);
  }

  removeNetwork(name: string): Promise<void> {
    return removeNetwork(this.etcd, name);
  }

  claimSubnet(network: string, node: string, preferred?: string): Promise<SubnetLease> {
    return claimSubnet(this.etcd, this.claimPolicy, network, node, preferred);
  }

  releaseSubnet(network: string, cidr: string, node: string): Promise<void> {
    return releaseSubnet(this.etcd, network, cidr, node);
  }

  createService(spec: ServiceSpec): Promise<ServiceRecord> {
    return createService(this.etcd, spec);
  }

  removeService(name: string): Promise<void> {
    return removeService(this.etcd, name);
  }

  private setConnected(connected: boolean): void {
    if (this.connected === connected || this.closed) return;
    this.connected = connected;
    this.emit({ kind: "connection", connected });
    if (connected) void this.nodeLease.checkNow();
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
}
