// The agent's composition root: builds its parts and wires them together. Each part has one job:
//   endpoints/   attach, detach, address allocation, withdrawal of endpoints whose namespace changed
//   kernel-sync/ the only scheduler of reconciles (full and incremental runs, the prune gate)
//   peers/       gossip membership from etcd records and gossip liveness; owners' VTEPs
//   networks/    the networks this host programs (etcd's, with a grace period for vanished ones)
//   desired-state/ the desired kernel state, one part per feature
//   services/    services with their backends (registry + gossip labels); the API's service operations
//   status/      what `weft status` shows
// Collaborators come in as interfaces (Registry, Kernel, GossipTransport), so unit tests run the
// agent on fakes and weftd on the real things.
import type * as prom from "prom-client";
import { isRetryable, retry } from "../controlplane/retryable.js";
import { errorText, printable, WeftError } from "../proto/values/index.js";
import type { NetworkSpec } from "../controlplane/network-spec.js";
import type { NetworkRecord, Registry, RegistryEvent, SubnetLease } from "../controlplane/registry/index.js";
import type { BatchSignatureVerifier, GossipConfig, GossipNode, GossipTransport } from "../controlplane/gossip/index.js";
import { hostIfNameFor, Reconciler, vtepMacFor, type Kernel } from "../dataplane/index.js";
import { buildHostDesiredState, DEFAULT_EGRESS_SUBNET } from "./desired-state/index.js";
import { reassignEgressLegs } from "./endpoints/egress-allocation.js";
import type { LocalViewContext } from "./endpoints/endpoint-view.js";
import { egressHostIfNameFor, type Firewall } from "../dataplane/index.js";
import { GossipRecordSource, type DnsRecordSource, type DnsServer } from "./dns/index.js";
import { dnsZones } from "./names/dns-records.js";
import { EndpointLifecycle, type AttachRequest } from "./endpoints/endpoint-lifecycle.js";
import { listEndpointViews, type EndpointView } from "./endpoints/endpoint-view.js";
import { KernelSyncLoop, type FullRunInput, type RunKind } from "./kernel-sync/kernel-sync-loop.js";
import { PruneGate } from "./kernel-sync/prune-gate.js";
import { inspectNetworkNamespace, type NetworkNamespaceId, type ReconcileReport } from "../dataplane/index.js";
import { prefixLength } from "../proto/values/index.js";
import { AgentMetrics } from "./metrics.js";
import { NetworkView } from "./networks/network-view.js";
import { AgentServices } from "./services/agent-services.js";
import type { ServiceOperations } from "./services/service-operations.js";
import type { NodeKeyPair } from "./node-identity.js";
import { createAgentGossip } from "./peers/agent-gossip.js";
import { PeerDirectory, type PeerView } from "./peers/peer-directory.js";
import type { AgentState, StateStore } from "./state-store.js";
import { agentStatus, type AgentStatus } from "./status/agent-status.js";
import { createAgentObserver } from "./trace/agent-observer.js";
import type { ClusterObserver } from "./trace/trace-report.js";

/** What the agent needs of its DNS server: zones to follow the bridges, and a way to stop. */
type NameServer = Pick<DnsServer, "setZones" | "close">;

export const AGENT_VERSION = "0.1.0";
export type { AgentStatus } from "./status/agent-status.js";
export type { EndpointView } from "./endpoints/endpoint-view.js";

export interface AgentOptions {
  node: string;
  /** iface: the underlay interface (egress is masqueraded out of it). */
  underlay: { ip: string; mtu: number; iface: string };
  /** This host's egress subnet (canonical CIDR; DEFAULT_EGRESS_SUBNET by default). */
  egressSubnet?: string;
  /** Writes weft's nftables table (D2's NftablesFirewall in weftd); without it the firewall part is not written. */
  firewall?: Firewall;
  /** Builds the DNS server (D3's DnsServer.create in weftd); without it the agent serves no names. */
  dns?: (records: DnsRecordSource) => NameServer;
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
  /** Verifies peers' entry signatures (weftd: worker threads); default: on the event loop. The caller closes it. */
  signatureVerifier?: BatchSignatureVerifier;
  /** How often the kernel is reconciled even without changes, to repair drift. */
  resyncIntervalMs?: number;
  /** A network namespace's identity (C2's inspectNetworkNamespace by default); tests pass a fake. */
  inspectNetns?: (path: string) => NetworkNamespaceId;
  /** How long full reconciles wait for a gossip sync before pruning (PRUNE_AFTER_MS by default). */
  pruneAfterMs?: number;
  /** How long a network gone from etcd stays programmed (NETWORK_GRACE_MS by default). */
  networkGraceMs?: number;
}

export class Agent {
  private gossip!: GossipNode;
  private state!: AgentState;
  private readonly reconciler: Reconciler;
  private readonly metrics: AgentMetrics;
  private readonly networks: NetworkView;
  private readonly peerDirectory: PeerDirectory;
  private readonly endpoints: EndpointLifecycle;
  private kernelSync!: KernelSyncLoop;
  private readonly agentServices: AgentServices;
  private readonly startedAt = Date.now();
  private stopped = false;
  private unsubscribers: Array<() => void> = [];
  // Veths this agent may remove: those of endpoints in its state at start or attached in this run.
  private readonly ownedVeths = new Set<string>();
  private readonly reportedOrphans = new Set<string>();
  private dns: NameServer | undefined;
  private dnsRecords: GossipRecordSource | undefined;
  // The networks the last full build programmed: the DNS zones follow them after each full run.
  private programmedNetworks: string[] = [];
  /** Traces and per-link traffic across the cluster (weft trace, the topology page); set by start(). */
  observer!: ClusterObserver;

  constructor(private readonly options: AgentOptions) {
    const { node, registry, log } = options;
    // The firewall option as a spread: the Reconciler takes it once D2 lands (issue 7).
    this.reconciler = new Reconciler(options.kernel, { log: (line) => log("debug", line), ...(options.firewall ? { firewall: options.firewall } : {}) });
    this.metrics = new AgentMetrics(options.metrics, node, AGENT_VERSION);
    this.networks = new NetworkView({
      current: () => registry.snapshot().networks,
      localEndpoints: (network) => this.state?.endpoints.filter((e) => e.network === network).length ?? 0,
      log,
      onExpiry: () => void this.reconcile().catch(() => undefined),
      ...(options.networkGraceMs !== undefined ? { graceMs: options.networkGraceMs } : {}),
    });
    this.peerDirectory = new PeerDirectory({
      self: node,
      selfUnderlayIp: options.underlay.ip,
      nodes: () => registry.snapshot().nodes,
      gossipStatus: () => this.gossip.peerStatus(),
      setPeers: (peers) => this.gossip.setPeers(peers),
      log,
    });
    this.endpoints = new EndpointLifecycle({
      node,
      vtep: options.underlay.ip,
      egressSubnet: this.egressSubnet,
      viewContext: () => this.viewContext(),
      registry,
      gossip: () => this.gossip,
      state: () => this.state,
      persist: () => this.persist(),
      requireNetwork: (name, field) => this.requireNetwork(name, field),
      reconcile: () => this.reconcile(),
      inspectNetns: options.inspectNetns ?? inspectNetworkNamespace,
      madeVeth: (name) => this.ownedVeths.add(name),
      keepsSlice: (network) => this.agentServices.slices.keeps(network),
      log,
    });
    this.agentServices = new AgentServices({
      node,
      registry,
      isKnownNetwork: (network) => this.networks.has(network),
      hasLocalEndpoints: (network) => this.state.endpoints.some((e) => e.network === network),
      isProgrammed: (network) => this.programmedNetworks.includes(network),
      subnets: () => this.state.subnets,
      persist: () => this.persist(),
      exclusive: (work) => this.endpoints.exclusive(work),
      reconcile: () => void this.reconcile().catch(() => undefined),
      log,
    });
  }

  /** Services: create, list, inspect, remove (the API's). */
  get services(): ServiceOperations {
    return this.agentServices.operations;
  }

  get node(): string {
    return this.options.node;
  }

  async start(): Promise<void> {
    const { registry, log, node } = this.options;
    const loaded = await this.options.stateStore.loadWithSource(node);
    this.state = loaded.state;
    if (loaded.source === "none") log("info", "no state: weft veths found in the kernel are reported, not removed (this agent did not make them)");
    for (const endpoint of this.state.endpoints) {
      this.ownedVeths.add(hostIfNameFor(endpoint.id));
      if (endpoint.egress) this.ownedVeths.add(egressHostIfNameFor(endpoint.id));
    }
    // Legs whose address is outside the egress subnet (it changed since) get a new one.
    const moved = reassignEgressLegs(this.egressSubnet, this.state.endpoints);
    if (moved > 0) log("info", `${moved} egress leg(s) moved into the egress subnet ${this.egressSubnet}`);
    this.gossip = this.createGossip(this.state.gossipVersion);
    this.observer = createAgentObserver({
      node,
      underlay: this.options.underlay,
      gossip: this.gossip,
      localEndpoints: () => this.state.endpoints,
      networks: () => this.listNetworks(),
      endpoints: () => this.listEndpoints(),
      services: () => this.agentServices.list(),
      peers: () => this.peers(),
    });
    // The names follow the gossip view as it changes, so a query costs a lookup, not a scan of every entry.
    this.dnsRecords = new GossipRecordSource(this.gossip);
    const names = this.agentServices.start(this.gossip, this.dnsRecords);
    this.dns = this.options.dns?.(names);
    this.kernelSync = this.createKernelSync();
    await this.startRegistry();
    await registry.registerNode({
      name: node,
      underlayIP: this.options.underlay.ip,
      vtepMAC: vtepMacFor(node, 0),
      gossipAddr: this.options.gossipAddr,
      publicKey: Buffer.from(this.options.keyPair.publicKey).toString("base64"),
      agentVersion: AGENT_VERSION,
    });
    this.unsubscribers.push(registry.subscribe((event) => this.onRegistryEvent(event)));
    this.unsubscribers.push(this.gossip.subscribe((change) => this.kernelSync.noteChange(change)));
    this.peerDirectory.start();
    // Re-announce what this node owns before gossip starts: the new versions win over whatever peers
    // still hold, and a stale copy of its own that arrives first is not mistaken for a deleted one.
    this.endpoints.publishAll();
    await this.gossip.start();
    await this.agentServices.syncSlices();
    await this.persist();
    await this.kernelSync.requestFull();
    this.kernelSync.start();
    log("info", `agent ${node} started: underlay ${this.options.underlay.ip}, gossip ${this.options.gossipAddr}, ${this.state.endpoints.length} local endpoints`);
  }

  /** etcd may come up after the agent (or be down for a while): keep trying, as flannel does. */
  private startRegistry(): Promise<void> {
    return retry(() => this.options.registry.start(), {
      minDelayMs: 250,
      maxDelayMs: 5000,
      shouldRetry: (err) => !this.stopped && isRetryable(err),
      onFailure: (err) => this.options.log("warn", `etcd not reachable yet (${errorText(err)}); retrying`),
    });
  }

  /** Stops talking to etcd and peers; leaves the kernel as it is so containers keep their traffic. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.kernelSync?.stop();
    this.peerDirectory.stop();
    this.networks.stop();
    for (const unsubscribe of this.unsubscribers) unsubscribe();
    this.state.gossipVersion = this.gossip.version();
    await this.options.stateStore.save(this.state).catch(() => undefined);
    await this.dns?.close().catch((err: unknown) => this.options.log("warn", `dns: closing: ${errorText(err)}`));
    this.dnsRecords?.close();
    this.agentServices.close();
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

  /** Refuses while any endpoint of the network exists anywhere (gossip view); the registry refuses while a live node holds a slice. */
  async removeNetwork(name: string): Promise<void> {
    this.requireNetwork(name, "name");
    const inUse = this.listEndpoints(name);
    if (inUse.length > 0) {
      const some = inUse.slice(0, 3).map((e) => `${printable(e.name)} on ${printable(e.node)}`).join(", ");
      throw new WeftError("failed-precondition", `name: network "${name}" has ${inUse.length} active endpoint(s) (${some}): detach them first`, { field: "name" });
    }
    await this.options.registry.removeNetwork(name);
    this.networks.forget(name);
    delete this.state.subnets[name];
    await this.persist();
    this.options.log("info", `network ${name} removed`);
  }

  // ---- endpoints ----

  attachEndpoint(request: AttachRequest): Promise<EndpointView> {
    return this.endpoints.attach(request);
  }

  detachEndpoint(reference: string): Promise<EndpointView> {
    return this.endpoints.detach(reference);
  }

  inspectEndpoint(reference: string): EndpointView {
    return this.endpoints.inspect(reference);
  }

  listEndpoints(network?: string): EndpointView[] {
    return listEndpointViews({ context: this.viewContext(), local: this.state.endpoints, entries: this.gossip.entries(), ...(network !== undefined ? { network } : {}) });
  }

  // ---- peers and status ----

  peers(): PeerView[] {
    return this.peerDirectory.view();
  }

  status(): AgentStatus {
    return agentStatus({
      node: this.options.node,
      version: AGENT_VERSION,
      underlayIp: this.options.underlay.ip,
      gossipAddr: this.options.gossipAddr,
      etcdConnected: this.options.registry.isConnected(),
      networks: this.options.registry.snapshot().networks.size,
      localEndpoints: this.state.endpoints.length,
      liveEntries: this.gossip.entries(),
      peers: this.gossip.peerStatus(),
      lastReconcileMs: this.kernelSync.lastRunAtMs,
      startedAtMs: this.startedAt,
      nowMs: Date.now(),
    });
  }

  /** True once the node is registered and the kernel was reconciled at least once. */
  ready(): boolean {
    return !this.stopped && this.kernelSync?.lastRunAtMs > 0 && this.options.registry.isConnected();
  }

  /** A full reconcile that starts after this call (shared with other callers meanwhile). */
  reconcile(): Promise<ReconcileReport> {
    return this.kernelSync.requestFull();
  }

  // ---- wiring ----

  private createGossip(versionFloor: number): GossipNode {
    const o = this.options;
    return createAgentGossip({
      node: o.node,
      keyPair: o.keyPair,
      transport: o.transport,
      ...(o.clusterKey ? { clusterKey: o.clusterKey } : {}),
      ...(o.gossipConfig ? { config: o.gossipConfig } : {}),
      ...(o.signatureVerifier ? { verifier: o.signatureVerifier } : {}),
      metrics: o.metrics,
      log: (line) => o.log("info", line),
      registry: o.registry,
      isKnownNetwork: (network) => this.networks.has(network),
      peerDirectory: this.peerDirectory,
      versionFloor,
      beforeAck: () => this.kernelSync.caughtUp(),
    });
  }

  private createKernelSync(): KernelSyncLoop {
    return new KernelSyncLoop({
      node: this.options.node,
      underlayIp: this.options.underlay.ip,
      reconciler: this.reconciler,
      buildDesired: () => this.buildDesired(),
      entries: () => this.gossip.entries(),
      pruneGate: new PruneGate(() => this.gossip.isSynced(), Date.now(), Date.now, this.options.pruneAfterMs),
      ownsVeth: (hostIfName) => this.ownedVeths.has(hostIfName),
      onReport: (report, kind, remote) => this.onReport(report, kind, remote),
      onFailure: () => this.metrics.recordReconcileFailure(),
      log: this.options.log,
      resyncIntervalMs: this.options.resyncIntervalMs ?? 30_000,
    });
  }

  private get egressSubnet(): string {
    return this.options.egressSubnet ?? DEFAULT_EGRESS_SUBNET;
  }

  /** This host's slice of a network while it has local endpoints there or serves it for its services (its gateway is the slice's first address). */
  private slice(network: string): string | undefined {
    const cidr = this.state.subnets[network];
    if (cidr === undefined) return undefined;
    return this.state.endpoints.some((e) => e.network === network) || this.agentServices.slices.holds(network, cidr) ? cidr : undefined;
  }

  private viewContext(): LocalViewContext {
    return {
      node: this.options.node,
      vtep: this.options.underlay.ip,
      underlayMtu: this.options.underlay.mtu,
      egressPrefix: prefixLength(this.egressSubnet),
      network: (name) => this.networks.get(name),
      slice: (network) => this.slice(network),
    };
  }

  private buildDesired(): FullRunInput {
    const snapshot = this.options.registry.snapshot();
    const services = this.agentServices.list();
    this.metrics.setServices(services);
    const built = buildHostDesiredState({
      node: this.options.node,
      underlay: this.options.underlay,
      egressSubnet: this.egressSubnet,
      networks: this.networks.networks(),
      localEndpoints: this.state.endpoints,
      entries: this.gossip.entries(),
      slice: (network) => this.slice(network),
      servedNetworks: this.agentServices.slices.served(),
      services,
      leases: snapshot.subnets,
      nodes: snapshot.nodes,
    });
    this.metrics.recordSkipped("build", built.skipped.length);
    for (const s of built.skipped.slice(0, 5)) this.options.log("debug", `desired state: skipped ${printable(s.entry)}: ${s.reason}`);
    this.programmedNetworks = [...built.programmedVnis.keys()];
    return { desired: built.desired, programmedVnis: built.programmedVnis, remoteEndpoints: built.remoteEndpoints };
  }

  private async onReport(report: ReconcileReport, kind: RunKind, remoteProgrammed: number): Promise<void> {
    this.metrics.recordReconcile(report, kind);
    this.metrics.setEndpoints(this.state.endpoints.length, remoteProgrammed);
    this.metrics.setLocalEndpointsByNetwork(this.state.endpoints);
    this.metrics.recordSkipped("reconcile", report.skipped.length);
    for (const error of report.errors) this.options.log("warn", `reconcile: ${printable(error.object)}: ${printable(error.message)}`);
    if (kind !== "full") return;
    // Claims a slice a published service needs (or retries a failed claim), releases one no longer needed.
    void this.agentServices.syncSlices();
    // Each network's DNS listens on this host's gateway address there, which the run just programmed;
    // awaited, so an attach returns with its network's resolver listening.
    await this.dns?.setZones(dnsZones(this.programmedNetworks, (network) => this.slice(network))).catch((err: unknown) => this.options.log("warn", `dns: ${errorText(err)}`));
    this.metrics.setOrphanVeths(report.orphanVeths.length);
    for (const veth of report.orphanVeths) {
      if (this.reportedOrphans.has(veth)) continue;
      this.reportedOrphans.add(veth);
      this.options.log("warn", `veth ${printable(veth)} looks like weft's but no endpoint of this agent owns it: left in place (delete it by hand if it is stale)`);
    }
    // Not awaited: withdrawing reconciles again, which this run's caller must not wait on.
    void this.endpoints.withdrawBroken(report).catch((err: unknown) => this.options.log("warn", `withdrawing broken endpoints: ${errorText(err)}`));
  }

  private onRegistryEvent(event: RegistryEvent): void {
    if (event.kind === "node") this.peerDirectory.refresh();
    if (event.kind === "connection") {
      this.metrics.setEtcdConnected(event.connected);
      this.options.log(event.connected ? "info" : "warn", event.connected ? "etcd connection restored" : "etcd unreachable; gossip and the kernel keep working");
    }
    const meshMoved = this.agentServices.onRegistryEvent(event);
    if (event.kind === "network" || meshMoved) void this.reconcile().catch(() => undefined);
  }

  private requireNetwork(name: string, field: string): NetworkRecord {
    const network = this.networks.get(name);
    if (!network) throw new WeftError("not-found", `${field}: no network named "${printable(name)}"`, { field });
    return network;
  }

  private async persist(): Promise<void> {
    this.state.gossipVersion = this.gossip.version();
    await this.options.stateStore.save(this.state);
  }
}
