// The agent: keeps this node registered, turns requests into etcd records and gossip entries, and
// keeps the kernel matching what the controlplane knows. It takes its collaborators as interfaces
// (Registry, Kernel, GossipTransport), so unit tests run it on fakes and weftd on the real things.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { basename } from "node:path";
import type * as prom from "prom-client";
import { isRetryable } from "../controlplane/retryable.js";
import { WeftError } from "../proto/values/index.js";
import type { NetworkSpec } from "../controlplane/network-spec.js";
import type { NetworkRecord, NodeRecord, Registry, RegistryEvent, SubnetLease } from "../controlplane/registry/index.js";
import { allocateAddress } from "../controlplane/ipam/index.js";
import { macForAddress } from "../proto/values/index.js";
import {
  endpointKey,
  GossipNode,
  type EndpointChange,
  type EndpointRecord,
  type GossipConfig,
  type GossipTransport,
  type PeerStatus,
} from "../controlplane/gossip/index.js";
import { Reconciler, vtepMacFor, type Kernel, type ReconcileReport } from "../dataplane/index.js";
import { buildDesiredState } from "./desired-state.js";
import { planEndpointChanges, type PendingEndpointChange } from "./endpoint-change-plan.js";
import { AgentMetrics } from "./metrics.js";
import type { NodeKeyPair } from "./node-identity.js";
import { StateStore, type AgentState, type LocalEndpoint } from "./state-store.js";

export const AGENT_VERSION = "0.1.0";

/** How long a node whose etcd lease expired is still listed, as dead, by `weft peers`. */
const DEAD_PEER_RETENTION_MS = 10 * 60_000;

export interface AgentOptions {
  node: string;
  underlay: { ip: string; mtu: number };
  gossipAddr: string;
  registry: Registry;
  kernel: Kernel;
  transport: GossipTransport;
  keyPair: NodeKeyPair;
  clusterKey?: Uint8Array;
  stateStore: StateStore;
  metrics: prom.Registry;
  log: (level: "debug" | "info" | "warn" | "error", line: string) => void;
  gossipConfig?: Partial<GossipConfig>;
  /** How often the kernel is reconciled even without changes, to repair drift. */
  resyncIntervalMs?: number;
  /** Whether a container namespace exists; default: looks under /run/netns or at the path. */
  namespaceExists?: (netns: string) => boolean;
}

function namespaceExistsOnHost(netns: string): boolean {
  return existsSync(netns.startsWith("/") ? netns : `/run/netns/${netns}`);
}

/** An endpoint as the API shows it: local ones carry their namespace. */
export interface EndpointView {
  id: string;
  name: string;
  network: string;
  node: string;
  ip: string;
  mac: string;
  vtep: string;
  local: boolean;
  netns: string;
}

export interface AgentStatus {
  node: string;
  version: string;
  underlayIp: string;
  gossipAddr: string;
  etcdConnected: boolean;
  networks: number;
  localEndpoints: number;
  remoteEndpoints: number;
  peersAlive: number;
  peersTotal: number;
  lastReconcileMs: number;
  uptimeMs: number;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

export class Agent {
  private gossip!: GossipNode;
  private readonly reconciler: Reconciler;
  private readonly metrics: AgentMetrics;
  private state!: AgentState;
  private readonly startedAt = Date.now();
  private lastReconcileMs = 0;
  private stopped = false;
  private unsubscribers: Array<() => void> = [];
  // Nodes whose etcd record went away, kept a while so `weft peers` can show them as dead.
  private readonly departed = new Map<string, { name: string; gossipAddr: string; underlayIp: string; goneAtMs: number }>();
  private readonly lastNodeRecords = new Map<string, NodeRecord>();
  private resyncTimer: NodeJS.Timeout | undefined;
  // Reconcile coalescing: at most one run in flight and one pending that every caller shares. The
  // pending run is a full one when someone asked for it, else it applies just the gossip changes.
  private pendingRun: Deferred<ReconcileReport> | undefined;
  private currentRun: Promise<ReconcileReport> | undefined;
  private fullRunWanted = false;
  private pendingChanges = new Map<string, PendingEndpointChange>();
  // What the last full run programmed, which the incremental runs build on.
  private programmedVnis = new Map<string, number>();
  private remoteProgrammed = 0;
  private draining = false;
  // Attach and detach change local endpoints and IP allocation: one at a time.
  private endpointLock: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: AgentOptions) {
    this.reconciler = new Reconciler(options.kernel, { log: (line) => options.log("debug", line) });
    this.metrics = new AgentMetrics(options.metrics, options.node, AGENT_VERSION);
  }

  private createGossip(versionFloor: number): GossipNode {
    const { registry } = this.options;
    return new GossipNode({
      name: this.options.node,
      keyPair: this.options.keyPair,
      transport: this.options.transport,
      clusterKey: this.options.clusterKey,
      config: this.options.gossipConfig,
      metrics: this.options.metrics,
      log: (line) => this.options.log("info", `gossip: ${line}`),
      policy: {
        isKnownNetwork: (network) => registry.snapshot().networks.has(network),
        ownerSlices: (owner, network) =>
          (registry.snapshot().subnets.get(network) ?? []).filter((l) => l.node === owner).map((l) => l.cidr),
      },
      // A restarted agent resumes its gossip versions above everything it announced before.
      versionFloor,
      // Acknowledge a push once the kernel holds what it brought (see GossipNode.confirm).
      beforeAck: () => this.kernelCaughtUp(),
    });
  }

  private get namespaceExists(): (netns: string) => boolean {
    return this.options.namespaceExists ?? namespaceExistsOnHost;
  }

  get node(): string {
    return this.options.node;
  }

  async start(): Promise<void> {
    const { registry, log } = this.options;
    this.state = await this.options.stateStore.load(this.options.node);
    this.gossip = this.createGossip(this.state.gossipVersion);
    await this.startRegistry();
    await registry.registerNode({
      name: this.options.node,
      underlayIP: this.options.underlay.ip,
      vtepMAC: vtepMacFor(this.options.node, 0),
      gossipAddr: this.options.gossipAddr,
      publicKey: Buffer.from(this.options.keyPair.publicKey).toString("base64"),
      agentVersion: AGENT_VERSION,
    });
    this.unsubscribers.push(registry.subscribe((event) => this.onRegistryEvent(event)));
    this.unsubscribers.push(this.gossip.subscribe((change) => this.noteEndpointChange(change)));
    this.updatePeers();
    // Re-announce what this node owns before gossip starts: the new versions win over whatever peers
    // still hold, and a stale copy of its own that arrives first is not mistaken for a deleted one.
    for (const endpoint of this.state.endpoints) this.publish(endpoint);
    await this.gossip.start();
    await this.persist();
    const report = await this.reconcile();
    await this.dropEndpointsWhoseNamespaceIsGone(report);
    this.resyncTimer = setInterval(() => void this.reconcile().catch(() => undefined), this.options.resyncIntervalMs ?? 30_000);
    this.resyncTimer.unref();
    log("info", `agent ${this.options.node} started: underlay ${this.options.underlay.ip}, gossip ${this.options.gossipAddr}, ${this.state.endpoints.length} local endpoints`);
  }

  /** etcd may come up after the agent (or be down for a while): keep trying, as flannel does. */
  private async startRegistry(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.options.registry.start();
        return;
      } catch (err) {
        if (this.stopped || !isRetryable(err)) throw err;
        const delay = Math.min(5000, 250 * 2 ** Math.min(attempt, 5));
        this.options.log("warn", `etcd not reachable yet (${errorText(err)}); retrying in ${delay} ms`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Stops talking to etcd and peers; leaves the kernel as it is so containers keep their traffic. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    for (const unsubscribe of this.unsubscribers) unsubscribe();
    this.state.gossipVersion = this.gossip.version();
    await this.options.stateStore.save(this.state).catch(() => undefined);
    await this.gossip.stop();
    await this.options.registry.close();
    this.options.kernel.close();
  }

  // ---- networks ----

  async createNetwork(spec: NetworkSpec): Promise<NetworkRecord> {
    const record = await this.options.registry.createNetwork(spec);
    this.options.log("info", `network ${record.name} created: vni ${record.vni}, subnet ${record.subnet}, slices /${record.hostPrefixLen}`);
    return record;
  }

  listNetworks(): NetworkRecord[] {
    return [...this.options.registry.snapshot().networks.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  inspectNetwork(name: string): { network: NetworkRecord; slices: SubnetLease[]; endpoints: EndpointView[] } {
    const network = this.requireNetwork(name, "name");
    const slices = [...(this.options.registry.snapshot().subnets.get(name) ?? [])].sort((a, b) => a.cidr.localeCompare(b.cidr, undefined, { numeric: true }));
    return { network, slices, endpoints: this.listEndpoints(name) };
  }

  async removeNetwork(name: string): Promise<void> {
    this.requireNetwork(name, "name");
    const inUse = this.listEndpoints(name);
    if (inUse.length > 0) {
      throw new WeftError(
        "failed-precondition",
        `name: network "${name}" has ${inUse.length} active endpoint(s) (${inUse.slice(0, 3).map((e) => `${e.name} on ${e.node}`).join(", ")}): detach them first`,
        { field: "name" },
      );
    }
    await this.options.registry.removeNetwork(name);
    delete this.state.subnets[name];
    await this.persist();
    this.options.log("info", `network ${name} removed`);
  }

  // ---- endpoints ----

  attachEndpoint(request: { network: string; netns: string; name?: string; ifName?: string }): Promise<EndpointView> {
    return this.withEndpointLock(() => this.attachLocked(request));
  }

  detachEndpoint(reference: string): Promise<EndpointView> {
    return this.withEndpointLock(() => this.detachLocked(reference));
  }

  listEndpoints(network?: string): EndpointView[] {
    const views: EndpointView[] = this.state.endpoints.map((e) => this.localView(e));
    const localIds = new Set(views.map((v) => v.id));
    for (const entry of this.gossip.entries()) {
      if (localIds.has(entry.endpointId) || entry.owner === this.options.node) continue;
      views.push(remoteView(entry));
    }
    return views
      .filter((v) => network === undefined || network === "" || v.network === network)
      .sort((a, b) => a.network.localeCompare(b.network) || compareIp(a.ip, b.ip));
  }

  /**
   * Gossip's view of each peer (alive or suspect), with the underlay address from the peer's etcd
   * record, plus nodes whose etcd lease expired in the last DEAD_PEER_RETENTION_MS, shown as dead.
   */
  peers(): Array<PeerStatus & { underlayIp: string }> {
    const nodes = this.options.registry.snapshot().nodes;
    const live = this.gossip.peerStatus().map((p) => ({ ...p, underlayIp: nodes.get(p.name)?.underlayIP ?? "" }));
    const now = Date.now();
    const dead = [...this.departed.values()]
      .filter((d) => now - d.goneAtMs < DEAD_PEER_RETENTION_MS && !nodes.has(d.name))
      .map((d) => ({ name: d.name, gossipAddr: d.gossipAddr, underlayIp: d.underlayIp, state: "dead" as const, endpoints: 0, lastSeenMs: d.goneAtMs }));
    return [...live, ...dead].sort((a, b) => a.name.localeCompare(b.name));
  }

  status(): AgentStatus {
    const peers = this.gossip.peerStatus();
    const entries = this.gossip.entries();
    return {
      node: this.options.node,
      version: AGENT_VERSION,
      underlayIp: this.options.underlay.ip,
      gossipAddr: this.options.gossipAddr,
      etcdConnected: this.options.registry.isConnected(),
      networks: this.options.registry.snapshot().networks.size,
      localEndpoints: this.state.endpoints.length,
      remoteEndpoints: entries.filter((e) => e.owner !== this.options.node).length,
      peersAlive: peers.filter((p) => p.state === "alive").length,
      peersTotal: peers.length,
      lastReconcileMs: this.lastReconcileMs,
      uptimeMs: Date.now() - this.startedAt,
    };
  }

  /** True once the node is registered and the kernel was reconciled at least once. */
  ready(): boolean {
    return !this.stopped && this.lastReconcileMs > 0 && this.options.registry.isConnected();
  }

  /**
   * Makes the kernel match the current facts, observing and diffing all of it. Calls made while a
   * run is in flight share the next run, so a burst of changes costs one reconcile, and a caller
   * always gets a run that started after its call.
   */
  reconcile(): Promise<ReconcileReport> {
    this.fullRunWanted = true;
    return this.scheduleRun();
  }

  /** Resolves once the kernel reflects every gossip change seen so far. */
  private kernelCaughtUp(): Promise<unknown> {
    if (this.pendingRun) return this.pendingRun.promise;
    return this.currentRun ?? Promise.resolve();
  }

  private noteEndpointChange(change: EndpointChange): void {
    const record = change.next ?? change.previous;
    if (record === undefined) return;
    const key = endpointKey(record);
    const held = this.pendingChanges.get(key);
    // Keep what the kernel was last brought to (the first previous) and the latest next.
    if (held === undefined) this.pendingChanges.set(key, { ...(change.previous ? { previous: change.previous } : {}), ...(change.next ? { next: change.next } : {}) });
    else if (change.next) held.next = change.next;
    else delete held.next;
    void this.scheduleRun().catch(() => undefined);
  }

  private scheduleRun(): Promise<ReconcileReport> {
    if (!this.pendingRun) {
      this.pendingRun = deferred<ReconcileReport>();
      if (!this.draining) setImmediate(() => void this.drainReconciles());
    }
    return this.pendingRun.promise;
  }

  private async drainReconciles(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      let previousMs = 0;
      while (this.pendingRun) {
        // Under a burst of changes, rest as long as the last run took before the next one: reconciling
        // then uses at most half the event loop, and gossip keeps answering its peers in time.
        if (previousMs > 5) await new Promise((r) => setTimeout(r, Math.min(previousMs, 1000)));
        const run = this.pendingRun;
        this.pendingRun = undefined;
        this.currentRun = run.promise;
        const full = this.fullRunWanted || this.programmedVnis.size === 0;
        this.fullRunWanted = false;
        // A full run reads the whole table, which already holds every change noted so far.
        const changes = this.pendingChanges;
        this.pendingChanges = new Map();
        const started = performance.now();
        try {
          const report = full ? await this.runFull() : await this.runIncremental(changes.values());
          this.lastReconcileMs = Date.now();
          this.metrics.recordReconcile(report, full ? "full" : "incremental");
          this.metrics.setEndpoints(this.state.endpoints.length, this.remoteProgrammed);
          for (const error of report.errors) this.options.log("warn", `reconcile: ${error.object}: ${error.message}`);
          // What an incremental run could not do, a full one repairs.
          if (!full && report.errors.length > 0) void this.reconcile().catch(() => undefined);
          run.resolve(report);
        } catch (err) {
          this.metrics.recordReconcileFailure();
          this.options.log("error", `reconcile failed: ${errorText(err)}`);
          if (!full) this.fullRunWanted = true;
          run.reject(err);
        }
        this.currentRun = undefined;
        previousMs = performance.now() - started;
      }
    } finally {
      this.draining = false;
    }
  }

  private async runFull(): Promise<ReconcileReport> {
    const networks = this.options.registry.snapshot().networks;
    const desired = buildDesiredState({
      node: this.options.node,
      underlay: this.options.underlay,
      networks,
      localEndpoints: this.state.endpoints,
      entries: this.gossip.entries(),
    });
    const report = await this.reconciler.reconcile(desired);
    const programmed = new Map<string, number>();
    for (const endpoint of this.state.endpoints) {
      const network = networks.get(endpoint.network);
      if (network) programmed.set(network.name, network.vni);
    }
    this.programmedVnis = programmed;
    this.remoteProgrammed = desired.networks.reduce((n, d) => n + d.remoteEndpoints.length, 0);
    return report;
  }

  private async runIncremental(changes: Iterable<PendingEndpointChange>): Promise<ReconcileReport> {
    const plan = planEndpointChanges(changes, {
      node: this.options.node,
      underlayIp: this.options.underlay.ip,
      programmedVnis: this.programmedVnis,
      current: () => this.gossip.entries(),
    });
    const report = await this.reconciler.applyEntryChanges(plan);
    this.remoteProgrammed += report.fdbAdded - report.fdbRemoved;
    return report;
  }

  private async attachLocked(request: { network: string; netns: string; name?: string; ifName?: string }): Promise<EndpointView> {
    if (!request.network) throw new WeftError("invalid-argument", "network: is required", { field: "network" });
    const network = this.requireNetwork(request.network, "network");
    const netns = request.netns;
    if (!netns) throw new WeftError("invalid-argument", "netns: is required (a name under /run/netns or a path)", { field: "netns" });
    const netnsPath = netns.startsWith("/") ? netns : `/run/netns/${netns}`;
    if (!netns.startsWith("/") && !/^[A-Za-z0-9_.-]{1,64}$/.test(netns)) {
      throw new WeftError("invalid-argument", `netns: "${netns}" is neither an absolute path nor a namespace name`, { field: "netns" });
    }
    if (!this.namespaceExists(netns)) {
      throw new WeftError("not-found", `netns: network namespace "${netns}" does not exist (${netnsPath})`, { field: "netns" });
    }
    const ifName = request.ifName || "eth0";
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(ifName)) {
      throw new WeftError("invalid-argument", `if_name: "${ifName}" is not a valid interface name (1-15 characters)`, { field: "if_name" });
    }
    const name = request.name || basename(netns);
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(name)) {
      throw new WeftError("invalid-argument", `name: "${name}" must be 1-63 letters, digits, '.', '_' or '-'`, { field: "name" });
    }
    if (this.endpointNameTaken(network.name, name)) {
      throw new WeftError("already-exists", `name: an endpoint named "${name}" already exists in network "${network.name}"`, { field: "name" });
    }
    if (this.state.endpoints.some((e) => e.netns === netns && e.ifName === ifName)) {
      throw new WeftError("already-exists", `netns: "${netns}" already has a weft interface ${ifName}`, { field: "netns" });
    }

    // A slice this node already holds needs no etcd round trip, so attaching works while etcd is unreachable.
    const heldLease = (this.options.registry.snapshot().subnets.get(network.name) ?? []).find((l) => l.node === this.options.node);
    const hadSlice = heldLease !== undefined;
    const lease = heldLease ?? (await this.options.registry.claimSubnet(network.name, this.options.node, this.state.subnets[network.name]));
    const releaseIfNew = async (): Promise<void> => {
      if (hadSlice || this.state.endpoints.some((e) => e.network === network.name)) return;
      await this.options.registry.releaseSubnet(network.name, lease.cidr, this.options.node).catch((err: unknown) =>
        this.options.log("warn", `could not release slice ${lease.cidr} of ${network.name}: ${errorText(err)}`),
      );
    };
    let ip: string;
    try {
      const used = new Set(this.state.endpoints.filter((e) => e.network === network.name).map((e) => e.ip));
      ip = allocateAddress(lease.cidr, used);
    } catch (err) {
      await releaseIfNew();
      throw err;
    }
    const endpoint: LocalEndpoint = {
      id: randomBytes(16).toString("hex"),
      name,
      network: network.name,
      netns,
      ifName,
      ip,
      mac: macForAddress(ip),
      createdAt: new Date().toISOString(),
    };
    this.state.endpoints.push(endpoint);
    const report = await this.reconcile().catch((err: unknown) => ({ errors: [{ object: "reconcile", endpointId: endpoint.id, message: errorText(err) }] }));
    const failure = report.errors.find((e) => e.endpointId === endpoint.id);
    if (failure) {
      this.state.endpoints = this.state.endpoints.filter((e) => e.id !== endpoint.id);
      await this.reconcile().catch(() => undefined);
      await releaseIfNew();
      throw new WeftError("failed-precondition", `netns: could not attach to "${netns}": ${failure.message}`, { field: "netns" });
    }
    this.state.subnets[network.name] = lease.cidr;
    this.publish(endpoint);
    await this.persist();
    // Return once the peers pushed to have it in their kernels (bounded), so the container can talk at once.
    await this.gossip.confirm(endpoint.network, endpoint.id);
    this.options.log("info", `endpoint ${endpoint.name} (${endpoint.id.slice(0, 12)}) attached to ${network.name}: ${ip} ${endpoint.mac} in ${netns}`);
    return this.localView(endpoint);
  }

  private endpointNameTaken(network: string, name: string): boolean {
    if (this.state.endpoints.some((e) => e.network === network && e.name === name)) return true;
    const localIds = new Set(this.state.endpoints.map((e) => e.id));
    return this.gossip.entries().some((e) => e.network === network && e.name === name && e.owner !== this.options.node && !localIds.has(e.endpointId));
  }

  private async detachLocked(reference: string): Promise<EndpointView> {
    if (!reference) throw new WeftError("invalid-argument", "endpoint: is required (id, id prefix or name)", { field: "endpoint" });
    const matches = this.state.endpoints.filter((e) => e.id === reference || e.name === reference || (reference.length >= 4 && e.id.startsWith(reference)));
    if (matches.length > 1) {
      throw new WeftError("invalid-argument", `endpoint: "${reference}" matches ${matches.length} endpoints; use the id`, { field: "endpoint" });
    }
    const endpoint = matches[0];
    if (!endpoint) {
      const remote = this.gossip.entries().find((e) => e.endpointId === reference || e.name === reference || (reference.length >= 4 && e.endpointId.startsWith(reference)));
      if (remote) {
        throw new WeftError("failed-precondition", `endpoint: "${reference}" lives on node ${remote.owner}; detach it through that node's agent`, { field: "endpoint" });
      }
      throw new WeftError("not-found", `endpoint: no endpoint "${reference}" on this node`, { field: "endpoint" });
    }
    this.state.endpoints = this.state.endpoints.filter((e) => e.id !== endpoint.id);
    this.gossip.withdraw(endpoint.network, endpoint.id);
    await this.persist();
    await this.reconcile();
    this.options.log("info", `endpoint ${endpoint.name} (${endpoint.id.slice(0, 12)}) detached from ${endpoint.network}`);
    return this.localView(endpoint);
  }

  private async dropEndpointsWhoseNamespaceIsGone(report: ReconcileReport): Promise<void> {
    const gone = this.state.endpoints.filter(
      (e) => report.errors.some((err) => err.endpointId === e.id) && !this.namespaceExists(e.netns),
    );
    if (gone.length === 0) return;
    for (const endpoint of gone) {
      this.options.log("warn", `endpoint ${endpoint.name}: namespace ${endpoint.netns} is gone; removing the endpoint`);
      this.gossip.withdraw(endpoint.network, endpoint.id);
    }
    const ids = new Set(gone.map((e) => e.id));
    this.state.endpoints = this.state.endpoints.filter((e) => !ids.has(e.id));
    await this.persist();
    await this.reconcile();
  }

  private publish(endpoint: LocalEndpoint): void {
    this.gossip.publish({
      network: endpoint.network,
      endpointId: endpoint.id,
      ip: endpoint.ip,
      mac: endpoint.mac,
      vtep: this.options.underlay.ip,
      name: endpoint.name,
    });
  }

  private onRegistryEvent(event: RegistryEvent): void {
    if (event.kind === "node") {
      if (event.type === "delete" && event.name !== this.options.node) {
        const known = this.lastNodeRecords.get(event.name);
        this.departed.set(event.name, { name: event.name, gossipAddr: known?.gossipAddr ?? "", underlayIp: known?.underlayIP ?? "", goneAtMs: Date.now() });
        this.options.log("warn", `node ${event.name} is gone (its etcd lease expired): removing its endpoints`);
      }
      if (event.type === "put") this.departed.delete(event.name);
      this.updatePeers();
    }
    if (event.kind === "connection") {
      this.metrics.setEtcdConnected(event.connected);
      this.options.log(event.connected ? "info" : "warn", event.connected ? "etcd connection restored" : "etcd unreachable; gossip and the kernel keep working");
    }
    if (event.kind === "network") void this.reconcile().catch(() => undefined);
  }

  private updatePeers(): void {
    for (const node of this.options.registry.snapshot().nodes.values()) this.lastNodeRecords.set(node.name, node);
    const peers = [...this.options.registry.snapshot().nodes.values()]
      .filter((n) => n.name !== this.options.node)
      .map((n) => ({ name: n.name, gossipAddr: n.gossipAddr, publicKey: new Uint8Array(Buffer.from(n.publicKey, "base64")) }));
    this.gossip.setPeers(peers);
  }

  private requireNetwork(name: string, field: string): NetworkRecord {
    const network = this.options.registry.snapshot().networks.get(name);
    if (!network) throw new WeftError("not-found", `${field}: no network named "${name}"`, { field });
    return network;
  }

  private localView(endpoint: LocalEndpoint): EndpointView {
    return {
      id: endpoint.id,
      name: endpoint.name,
      network: endpoint.network,
      node: this.options.node,
      ip: endpoint.ip,
      mac: endpoint.mac,
      vtep: this.options.underlay.ip,
      local: true,
      netns: endpoint.netns,
    };
  }

  private async persist(): Promise<void> {
    this.state.gossipVersion = this.gossip.version();
    await this.options.stateStore.save(this.state);
  }

  private withEndpointLock<T>(work: () => Promise<T>): Promise<T> {
    const run = this.endpointLock.then(work, work);
    this.endpointLock = run.catch(() => undefined);
    return run;
  }
}

function remoteView(entry: EndpointRecord): EndpointView {
  return {
    id: entry.endpointId,
    name: entry.name,
    network: entry.network,
    node: entry.owner,
    ip: entry.ip,
    mac: entry.mac,
    vtep: entry.vtep,
    local: false,
    netns: "",
  };
}

function compareIp(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
