import { errorText, invalidArgument, printable } from "../../proto/values/index.js";
import { systemClock, type Clock } from "../clock.js";
import { AntiEntropy } from "./anti-entropy.js";
import { inProcessVerifier } from "./batch-signature-verifier.js";
import { endpointKey, normalizeAnnouncement, type EndpointAnnouncement, type EndpointRecord } from "./endpoint-record.js";
import { EntryIntake, type IntakeResult } from "./entry-intake.js";
import { policyProblem, type EntryPolicy } from "./entry-policy.js";
import { EntryTable, type EndpointChange } from "./entry-table.js";
import { FrameChannel, type FrameRefusal } from "./frame-channel.js";
import { resolveGossipConfig, type GossipConfig } from "./gossip-config.js";
import { GossipMetrics } from "./gossip-metrics.js";
import { checkNodeOptions, type GossipNodeOptions } from "./gossip-node-options.js";
import { GossipTimers } from "./gossip-timers.js";
import { LogLimiter } from "./log-limiter.js";
import { observePeer } from "./observe-peer.js";
import { PeerSet, type GossipPeer, type PeerRecord, type PeerStatus } from "./peer-set.js";
import { PushQueues } from "./push-queues.js";
import type { RejectionReason } from "./rejection-reason.js";
import { RequestHandler, UNAUTHENTICATED, type ObserveHandler } from "./request-handler.js";
import type { SignatureScheme } from "./signature-scheme.js";
import { encodeAndSignEntry, SignedEntryCache, type DecodedEntry } from "./signed-entry.js";
import type { GossipTransport } from "./transport.js";

export type { GossipNodeOptions } from "./gossip-node-options.js";
export type { EndpointChange } from "./entry-table.js";
export type { ObserveHandler } from "./request-handler.js";
export type { GossipPeer, PeerState, PeerStatus } from "./peer-set.js";

/**
 * One node of the endpoint gossip: holds the signed entries of all owners (EntryTable), pushes its
 * own changes and forwards others' at once (PushQueues), repairs with periodic push-pull anti-entropy
 * (AntiEntropy), and takes in only what passes the frame checks (FrameChannel) and the entry checks
 * (EntryIntake). Everything runs on the event loop; no locks.
 */
export class GossipNode {
  readonly name: string;
  readonly config: GossipConfig;
  readonly #keyPair: { publicKey: Uint8Array; secretKey: Uint8Array };
  readonly #transport: GossipTransport;
  readonly #policy: EntryPolicy;
  readonly #clock: Clock;
  readonly #logs: LogLimiter;
  readonly #log: (line: string) => void;
  readonly #metrics: GossipMetrics;
  readonly #scheme: SignatureScheme;
  readonly #listeners = new Set<(change: EndpointChange) => void>();
  readonly #table: EntryTable;
  readonly #peers: PeerSet;
  readonly #channel: FrameChannel;
  readonly #intake: EntryIntake;
  readonly #antiEntropy: AntiEntropy;
  readonly #queues: PushQueues;
  readonly #requests: RequestHandler;
  readonly #timers: GossipTimers;
  #observer: ObserveHandler | undefined;
  #nextVersion: number;
  #running = false;

  constructor(options: GossipNodeOptions) {
    const { name, scheme, ed25519, floor } = checkNodeOptions(options);
    this.name = name;
    this.#scheme = scheme;
    const config = (this.config = resolveGossipConfig(options.config));
    this.#keyPair = options.keyPair;
    this.#transport = options.transport;
    this.#policy = options.policy;
    const clock = (this.#clock = options.clock ?? systemClock);
    this.#log = options.log ?? (() => {});
    this.#logs = new LogLimiter(this.#log, clock);
    const metrics = (this.#metrics = new GossipMetrics(options.metrics));
    const random = options.random ?? Math.random;
    this.#nextVersion = Math.max(floor + 1, Math.floor(clock.now()));
    const running = () => this.#running;
    this.#table = new EntryTable((change) => this.#emit(change));
    const peers = (this.#peers = new PeerSet(this.name, config, clock, random, ed25519 ? 32 : undefined));
    const channel = (this.#channel = new FrameChannel({
      name: this.name,
      secretKey: options.keyPair.secretKey,
      scheme: this.#scheme,
      clusterKey: options.clusterKey,
      config,
      clock,
      metrics,
      peers,
      transport: options.transport,
      refused: (refusal) => this.#refused(refusal),
      heard: (peer) => this.#heardFrom(peer),
      unreachable: (peer, kind, detail) => this.#logs.line(peer.peer.name, kind, `gossip: peer ${peer.peer.name} ${printable(detail, 1024)}`),
    }));
    this.#queues = new PushQueues({ config, clock, metrics, peers, channel, running });
    this.#intake = new EntryIntake({
      self: this.name,
      config,
      clock,
      policy: options.policy,
      table: this.#table,
      cache: options.entryCache ?? new SignedEntryCache(),
      verifier: options.verifier ?? inProcessVerifier(this.#scheme),
      publicKeyOf: (owner) => (owner === this.name ? this.#keyPair.publicKey : peers.get(owner)?.peer.publicKey),
      reject: (from, reason, detail) => this.#reject(from, from, reason, detail),
      ownEntry: (entry, held, from) => this.#reannounce(entry, held, from),
      senderBehind: (from, held) => {
        const peer = peers.get(from);
        if (peer !== undefined) this.#queues.enqueue(peer, held);
      },
    });
    this.#antiEntropy = new AntiEntropy({
      config,
      clock,
      random,
      table: this.#table,
      peers,
      channel,
      running,
      ingest: (entries, from, keepDecoded) => this.#ingest(entries, from, keepDecoded),
      enqueue: (peer, entry) => this.#queues.enqueue(peer, entry),
    });
    this.#requests = new RequestHandler({
      config,
      clock,
      channel,
      antiEntropy: this.#antiEntropy,
      logs: this.#logs,
      beforeAck: options.beforeAck,
      ingest: (entries, from) => this.#ingest(entries, from),
      heardFrom: (peer) => this.#heardFrom(peer),
      refused: (refusal) => this.#refused(refusal),
      reject: (key, shown, reason, detail) => this.#reject(key, shown, reason, detail),
      observer: () => this.#observer,
    });
    this.#timers = new GossipTimers({
      config,
      clock,
      random,
      peers,
      table: this.#table,
      channel,
      antiEntropy: this.#antiEntropy,
      log: this.#log,
      reportGauges: () => this.#reportGauges(),
    });
  }

  async start(): Promise<void> {
    if (this.#running) return;
    await this.#transport.serve((frame) => this.#requests.handle(frame));
    this.#running = true;
    if (this.#peers.list.length === 0) this.#antiEntropy.markSynced();
    this.#timers.start();
  }

  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#timers.stop();
    for (const peer of this.#peers.list) peer.queue = undefined;
    await this.#transport.close();
  }

  /**
   * The members other than this node: the list IS membership. A node that leaves the list is gone:
   * its entries are dropped (removals emitted). A new node gets a full anti-entropy sync at once.
   * Throws a WeftError naming the first bad peer, changing nothing.
   */
  setPeers(peers: readonly GossipPeer[]): void {
    const { added, forget } = this.#peers.update(peers);
    for (const address of forget) this.#transport.forget(address);
    for (const owner of [...this.#table.owners()]) {
      if (owner === this.name || this.#peers.get(owner) !== undefined) continue;
      const live = this.#table.dropOwner(owner);
      this.#log(`gossip: node ${owner} left the registry; dropped its ${live} endpoint(s)`);
    }
    if (this.#peers.list.length === 0) this.#antiEntropy.markSynced();
    this.#reportGauges();
    if (this.#running) for (const peer of added) void this.#antiEntropy.syncWith(peer);
  }

  /**
   * True once one push-pull anti-entropy exchange with a peer has completed (truncated follow-ups
   * included), or from the start while this node has no peers. Stays true.
   */
  isSynced(): boolean {
    return this.#antiEntropy.isSynced();
  }

  whenSynced(): Promise<void> {
    return this.#antiEntropy.whenSynced();
  }

  /** Announces (or updates) a local endpoint; pushed at once. Throws a WeftError on bad fields. */
  publish(endpoint: EndpointAnnouncement): EndpointRecord {
    const fields = normalizeAnnouncement(endpoint);
    const key = endpointKey({ ...fields, owner: this.name });
    const held = this.#table.get(key);
    if (held !== undefined && !held.record.tombstone && sameContent(held.record, fields)) return held.record;
    const record: EndpointRecord = { ...fields, owner: this.name, version: this.#nextVersion++, tombstone: false, deletedAtMs: 0 };
    const problem = policyProblem(record, this.#policy);
    if (problem !== undefined) this.#log(`gossip: publishing ${key} although peers will refuse it: ${problem.detail}`);
    return this.#announce(encodeAndSignEntry(record, this.#keyPair.secretKey, this.#scheme)).record;
  }

  /**
   * Pushes one of this node's own entries straight to up to `fanout` alive peers and resolves with how
   * many acknowledged it within `timeoutMs`. With beforeAck wired to the kernel, an acknowledgement
   * means that peer's kernel holds the entry: the agent awaits this before an attach returns, so a
   * container that starts talking at once does not race its own announcement.
   */
  async confirm(network: string, endpointId: string, timeoutMs = 250): Promise<number> {
    const held = this.#table.get(endpointKey({ network, owner: this.name, endpointId }));
    if (held === undefined || !this.#running) return 0;
    const targets = this.#peers.pick(this.config.fanout, new Set());
    const timeout = Math.min(timeoutMs, this.config.callTimeoutMs);
    const acks = await Promise.all(
      targets.map((peer) =>
        this.#channel.exchange(peer, { case: "push", entries: [held.wire], confirm: true }, timeout).then((reply) => reply?.body.case === "pushAck"),
      ),
    );
    return acks.filter(Boolean).length;
  }

  /**
   * Observation requests from peers (a trace's part on this host) go to `handler`; the gossip only
   * routes them, with its frame checks (membership, signature, receiver, clock, replay) and rate limits.
   */
  setObserveHandler(handler: ObserveHandler | undefined): void {
    this.#observer = handler;
  }

  /**
   * Asks the member `peerName` for an observation: its reply's bytes, or a WeftError (unavailable)
   * when it does not answer within `timeoutMs`, refuses, or is not a member.
   */
  observe(peerName: string, query: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    return observePeer(this.#channel, this.#peers.get(peerName), peerName, this.#running, query, timeoutMs);
  }

  /** Deletes a local endpoint with a tombstone of a higher version; pushed at once. */
  withdraw(network: string, endpointId: string): void {
    const held = this.#table.get(endpointKey({ network, owner: this.name, endpointId }));
    if (held?.record.tombstone) return;
    this.#announce(this.#tombstone(network, endpointId));
  }

  /** Live entries of all owners, own included. */
  entries(): EndpointRecord[] {
    const live: EndpointRecord[] = [];
    for (const entry of this.#table.values()) if (!entry.record.tombstone) live.push(entry.record);
    return live;
  }

  /** Number of live entries held (what entries().length would be, without building the array). */
  liveEntryCount(): number {
    return this.#table.liveCount;
  }

  /** Live-view changes: add (next only), update (both), removal (previous only). */
  subscribe(listener: (change: EndpointChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  peerStatus(): PeerStatus[] {
    return this.#peers.list.map((p) => {
      let endpoints = 0;
      for (const entry of this.#table.owned(p.peer.name)?.values() ?? []) if (!entry.record.tombstone) endpoints += 1;
      const status: PeerStatus = { name: p.peer.name, gossipAddr: p.peer.gossipAddr, state: this.#peers.stateOf(p), endpoints };
      if (p.lastSeenMs !== undefined) status.lastSeenMs = p.lastSeenMs;
      return status;
    });
  }

  /** Runs one push-pull anti-entropy exchange with the named peer now (tests, operators). */
  async antiEntropyWith(peerName: string): Promise<void> {
    const peer = this.#peers.get(peerName);
    if (peer === undefined) throw invalidArgument("peerName", `${peerName} is not a known peer`);
    await this.#antiEntropy.syncWith(peer);
  }

  /** Own current version: persist it and pass it back as versionFloor on restart. */
  version(): number {
    return this.#nextVersion - 1;
  }

  /** Held entries including tombstones, for diagnostics and tests. */
  allEntries(): EndpointRecord[] {
    return [...this.#table.values()].map((entry) => entry.record);
  }

  // ---- own entries ---------------------------------------------------------------------------

  #tombstone(network: string, endpointId: string): DecodedEntry {
    const record: EndpointRecord = {
      network,
      endpointId,
      owner: this.name,
      version: this.#nextVersion++,
      tombstone: true,
      ip: "",
      mac: "",
      vtep: "",
      name: "",
      aliases: [],
      labels: {},
      deletedAtMs: Math.max(1, Math.floor(this.#clock.now())),
    };
    return encodeAndSignEntry(record, this.#keyPair.secretKey, this.#scheme);
  }

  #announce(entry: DecodedEntry, alsoTo?: string): DecodedEntry {
    this.#table.store(entry, this.#clock.now());
    const targets = [...this.#peers.targets()];
    const extra = alsoTo === undefined ? undefined : this.#peers.get(alsoTo);
    if (extra !== undefined && !targets.includes(extra)) targets.push(extra);
    for (const peer of targets) this.#queues.enqueue(peer, entry);
    return entry;
  }

  /**
   * Someone holds a version of our own entry that we do not (a previous run's, typically): the owner
   * is authoritative, so announce what we hold now, or a tombstone, above that version.
   */
  #reannounce(stale: DecodedEntry, held: DecodedEntry | undefined, from: string): void {
    this.#nextVersion = Math.max(this.#nextVersion, stale.record.version + 1);
    const { network, endpointId } = stale.record;
    if (held !== undefined && !held.record.tombstone) {
      const record: EndpointRecord = { ...held.record, labels: { ...held.record.labels }, version: this.#nextVersion++ };
      this.#announce(encodeAndSignEntry(record, this.#keyPair.secretKey, this.#scheme), from);
    } else {
      this.#announce(this.#tombstone(network, endpointId), from);
    }
  }

  #emit(change: EndpointChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (err) {
        this.#log(`gossip: subscriber failed: ${errorText(err)}`);
      }
    }
  }

  // ---- incoming ------------------------------------------------------------------------------

  /** Takes in entries received from `from` and forwards what was new to `fanout` other peers. */
  async #ingest(entries: readonly Uint8Array[], from: string, keepDecoded = false): Promise<IntakeResult> {
    const result = await this.#intake.ingest(entries, from, keepDecoded);
    if (result.accepted.length > 0 && this.#running) {
      for (const peer of this.#peers.targets()) {
        if (peer.peer.name === from) continue;
        for (const entry of result.accepted) if (entry.record.owner !== peer.peer.name) this.#queues.enqueue(peer, entry);
      }
    }
    return result;
  }

  // ---- liveness and rejections ---------------------------------------------------------------

  #heardFrom(peer: PeerRecord): void {
    if (this.#peers.heardFrom(peer.peer.name) === undefined) return;
    this.#log(`gossip: peer ${peer.peer.name} is alive again`);
    this.#reportGauges();
    // Back from a partition or a pause: both sides likely missed deltas, so compare digests now
    // instead of waiting for the random anti-entropy pick.
    if (this.#running) void this.#antiEntropy.syncWith(peer);
  }

  #reportGauges(): void {
    let alive = 0;
    for (const peer of this.#peers.list) if (this.#peers.stateOf(peer) === "alive") alive += 1;
    this.#metrics.peers(alive, this.#peers.list.length - alive);
    this.#metrics.entries(this.#table.liveCount);
  }

  #refused(refusal: FrameRefusal): void {
    this.#reject(refusal.authenticated ? refusal.origin : UNAUTHENTICATED, refusal.origin, refusal.reason, refusal.detail);
  }

  /**
   * Counts a rejection and logs it at most once per (key, reason) per minute. `key` is the
   * authenticated peer (or UNAUTHENTICATED); `shown` is what the line names, escaped: it may be a
   * name the frame merely claims.
   */
  #reject(key: string, shown: string, reason: RejectionReason, detail: string): void {
    this.#metrics.rejected(reason);
    this.#logs.line(key, reason, () => `gossip: peer ${printable(shown, 64)}: ${printable(detail, 1024)} (rejected: ${reason})`);
  }
}

function sameContent(record: EndpointRecord, fields: EndpointAnnouncement & { aliases: readonly string[]; labels: Record<string, string> }): boolean {
  if (record.ip !== fields.ip || record.mac !== fields.mac || record.vtep !== fields.vtep || record.name !== fields.name) return false;
  if (record.aliases.length !== fields.aliases.length || record.aliases.some((alias, i) => alias !== fields.aliases[i])) return false;
  const a = Object.entries(record.labels);
  const b = fields.labels;
  return a.length === Object.keys(b).length && a.every(([k, v]) => b[k] === v);
}
