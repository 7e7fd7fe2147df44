import { create } from "@bufbuild/protobuf";
import type { Registry } from "prom-client";
import {
  PushAckSchema,
  PongSchema,
  PingSchema,
  RefusalSchema,
  SyncDigestSchema,
} from "../../proto/gen/weft/v1/gossip_pb.js";
import { systemClock, type Clock } from "../clock.js";
import {
  endpointKey,
  GossipInputError,
  normalizeAnnouncement,
  type EndpointAnnouncement,
  type EndpointKey,
  type EndpointRecord,
} from "./endpoint-record.js";
import { policyProblem, type EntryPolicy } from "./entry-policy.js";
import { resolveGossipConfig, type GossipConfig } from "./gossip-config.js";
import { encodeFrame, openFrame, CLUSTER_KEY_BYTES } from "./gossip-frame.js";
import { GossipMetrics } from "./gossip-metrics.js";
import { encodeGossipMessage, type OutgoingBody, type WireMessage } from "./gossip-wire.js";
import { decideMerge } from "./merge-entry.js";
import {
  emptySummary,
  fromOwnerDigest,
  sameSummary,
  summaryAdd,
  summaryRemove,
  toOwnerDigest,
  type OwnerSummary,
} from "./owner-digest.js";
import { windowTargets } from "./push-targets.js";
import type { RejectionReason } from "./rejection-reason.js";
import { ed25519Signatures, type SignatureScheme } from "./signature-scheme.js";
import { encodeAndSignEntry, SignedEntryCache, type DecodedEntry } from "./signed-entry.js";
import type { GossipTransport } from "./transport.js";

export interface GossipPeer {
  name: string;
  gossipAddr: string;
  publicKey: Uint8Array;
}

export type PeerState = "alive" | "suspect" | "dead";

export interface PeerStatus {
  name: string;
  gossipAddr: string;
  state: PeerState;
  lastSeenMs?: number;
  /** Live entries this node holds that the peer owns. */
  endpoints: number;
}

export interface EndpointChange {
  previous?: EndpointRecord;
  next?: EndpointRecord;
}

export interface GossipNodeOptions {
  name: string;
  keyPair: { publicKey: Uint8Array; secretKey: Uint8Array };
  transport: GossipTransport;
  policy: EntryPolicy;
  clock?: Clock;
  /** 32 bytes; when set every frame is sealed with it and unsealed frames are refused. */
  clusterKey?: Uint8Array;
  /** The last version() of a previous run; own versions start above it. */
  versionFloor?: number;
  config?: Partial<GossipConfig>;
  log?: (line: string) => void;
  metrics?: Registry;
  random?: () => number;
  /** Signature scheme; ed25519 unless a simulator swaps it. */
  signatures?: SignatureScheme;
  /** Decoded/verified entry cache; the simulator shares one between nodes. */
  entryCache?: SignedEntryCache;
  /**
   * Awaited (at most ACK_WAIT_MS) after a push brought something new, before it is acknowledged: the
   * agent passes "reconcile the kernel", so an acknowledged push means the entry is programmed here.
   */
  beforeAck?: () => Promise<unknown>;
}

interface PeerRecord {
  peer: GossipPeer;
  addedAtMs: number;
  lastSeenMs: number | undefined;
  reportedState: PeerState;
  /**
   * Deltas waiting to be pushed, newest version per key, in arrival order. Created on first use: at
   * 1,000 nodes most of a node's peers never get a push from it.
   */
  queue: Map<EndpointKey, DecodedEntry> | undefined;
  flushScheduled: boolean;
  sending: boolean;
  followUpSyncs: number;
}

type IngestOutcome = { kind: "accepted"; entry: DecodedEntry } | { kind: "ignored" } | { kind: "rejected" };

const IGNORED: IngestOutcome = Object.freeze({ kind: "ignored" });
const FRAME_OVERHEAD_BYTES = 64 * 1024;
const MAX_FOLLOW_UP_SYNCS = 8;
const PUSH_RETRY_MS = 500;
/** The longest a push's acknowledgement waits for beforeAck, so bursts keep flowing. */
const ACK_WAIT_MS = 100;
const GOSSIP_TARGET_WINDOW_MS = 200;
/**
 * Suspect peers are pinged this often (each such ping given SUSPECT_PING_TIMEOUT_MS), so a peer back
 * from a partition is heard from, and synced with, soon after its link heals, not a ping interval later.
 */
const SUSPECT_PING_MS = 200;
const SUSPECT_PING_TIMEOUT_MS = 600;
const LOG_EVERY_MS = 60_000;
const NODE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/;

/**
 * One node of the endpoint gossip: holds the table of signed entries of all owners, pushes its own
 * changes and forwards others' at once, repairs with periodic push-pull anti-entropy, and checks
 * every frame and entry against the keys and slices the registry knows.
 *
 * Everything runs on the event loop; no locks. The table maps are only written by #store/#drop.
 */
export class GossipNode {
  readonly name: string;
  readonly config: GossipConfig;
  readonly #keyPair: { publicKey: Uint8Array; secretKey: Uint8Array };
  readonly #transport: GossipTransport;
  readonly #policy: EntryPolicy;
  readonly #clock: Clock;
  readonly #clusterKey: Uint8Array | undefined;
  readonly #log: (line: string) => void;
  readonly #metrics: GossipMetrics;
  readonly #random: () => number;
  readonly #beforeAck: (() => Promise<unknown>) | undefined;
  readonly #scheme: SignatureScheme;
  readonly #cache: SignedEntryCache;

  readonly #table = new Map<EndpointKey, DecodedEntry>();
  readonly #byOwner = new Map<string, Map<EndpointKey, DecodedEntry>>();
  readonly #summaries = new Map<string, OwnerSummary>();
  /** Tombstones by key with the owner's deletion time, so reaping does not scan the table. */
  readonly #tombstones = new Map<EndpointKey, number>();
  #liveCount = 0;

  readonly #peers = new Map<string, PeerRecord>();
  #peerList: PeerRecord[] = [];
  /** Peer names and our own, sorted: the list push-target permutations are drawn over. */
  #members: string[] = [];
  readonly #listeners = new Set<(change: EndpointChange) => void>();
  readonly #lastLogged = new Map<string, number>();
  #nextVersion: number;
  #targets: PeerRecord[] = [];
  #targetsUntil = 0;
  #running = false;
  #antiEntropyTimer: unknown;
  #pingTimer: unknown;

  constructor(options: GossipNodeOptions) {
    if (typeof options.name !== "string" || !NODE_NAME_PATTERN.test(options.name))
      throw new GossipInputError("name", `${JSON.stringify(options.name)} is not a valid node name`);
    this.#scheme = options.signatures ?? ed25519Signatures;
    this.#beforeAck = options.beforeAck;
    if (this.#scheme === ed25519Signatures) {
      if (options.keyPair?.publicKey?.length !== 32) throw new GossipInputError("keyPair.publicKey", "must be 32 bytes (ed25519)");
      if (options.keyPair.secretKey?.length !== 64) throw new GossipInputError("keyPair.secretKey", "must be 64 bytes (ed25519)");
    }
    if (options.clusterKey !== undefined && options.clusterKey.length !== CLUSTER_KEY_BYTES)
      throw new GossipInputError("clusterKey", `must be ${CLUSTER_KEY_BYTES} bytes, got ${options.clusterKey.length}`);
    const floor = options.versionFloor ?? 0;
    if (!Number.isSafeInteger(floor) || floor < 0) throw new GossipInputError("versionFloor", "must be a non-negative safe integer");
    this.config = resolveGossipConfig(options.config);
    this.name = options.name;
    this.#keyPair = options.keyPair;
    this.#transport = options.transport;
    this.#policy = options.policy;
    this.#clock = options.clock ?? systemClock;
    this.#clusterKey = options.clusterKey;
    this.#log = options.log ?? (() => {});
    this.#metrics = new GossipMetrics(options.metrics);
    this.#random = options.random ?? Math.random;
    this.#cache = options.entryCache ?? new SignedEntryCache();
    this.#nextVersion = Math.max(floor + 1, Math.floor(this.#clock.now()));
  }

  async start(): Promise<void> {
    if (this.#running) return;
    await this.#transport.serve((frame) => this.#handleFrame(frame));
    this.#running = true;
    this.#scheduleAntiEntropy(0);
    if (this.config.pingIntervalMs > 0) this.#schedulePing();
  }

  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#clock.clearTimeout(this.#antiEntropyTimer);
    this.#clock.clearTimeout(this.#pingTimer);
    for (const peer of this.#peerList) peer.queue = undefined;
    await this.#transport.close();
  }

  /**
   * Every node known in etcd except this one. A node that leaves the list is gone: its entries are
   * dropped (removals emitted). A new node gets a full anti-entropy sync at once.
   */
  setPeers(peers: readonly GossipPeer[]): void {
    const next = new Map<string, GossipPeer>();
    peers.forEach((peer, i) => {
      if (typeof peer.name !== "string" || !NODE_NAME_PATTERN.test(peer.name))
        throw new GossipInputError(`peers[${i}].name`, `${JSON.stringify(peer.name)} is not a valid node name`);
      if (typeof peer.gossipAddr !== "string" || peer.gossipAddr.length === 0)
        throw new GossipInputError(`peers[${i}].gossipAddr`, "must be a non-empty address");
      if (!(peer.publicKey instanceof Uint8Array) || (this.#scheme === ed25519Signatures && peer.publicKey.length !== 32))
        throw new GossipInputError(`peers[${i}].publicKey`, "must be a 32-byte ed25519 public key");
      if (peer.name !== this.name) next.set(peer.name, { ...peer });
    });
    const added: PeerRecord[] = [];
    for (const [name, record] of [...this.#peers]) {
      if (next.has(name)) continue;
      this.#peers.delete(name);
      this.#transport.forget(record.peer.gossipAddr);
    }
    for (const [name, peer] of next) {
      const existing = this.#peers.get(name);
      if (existing !== undefined) {
        if (existing.peer.gossipAddr !== peer.gossipAddr) this.#transport.forget(existing.peer.gossipAddr);
        existing.peer = peer;
        continue;
      }
      this.#transport.forget(peer.gossipAddr);
      const record: PeerRecord = {
        peer,
        addedAtMs: this.#clock.now(),
        lastSeenMs: undefined,
        reportedState: "alive",
        queue: undefined,
        flushScheduled: false,
        sending: false,
        followUpSyncs: 0,
      };
      this.#peers.set(name, record);
      added.push(record);
    }
    this.#peerList = [...this.#peers.values()];
    this.#members = [...this.#peers.keys(), this.name].sort();
    this.#targetsUntil = 0;
    for (const owner of [...this.#byOwner.keys()]) {
      if (owner !== this.name && !this.#peers.has(owner)) this.#dropOwner(owner);
    }
    this.#reportGauges();
    if (this.#running) for (const peer of added) void this.#syncWith(peer);
  }

  /** Announces (or updates) a local endpoint; pushed at once. Throws GossipInputError on bad fields. */
  publish(endpoint: EndpointAnnouncement): EndpointRecord {
    const fields = normalizeAnnouncement(endpoint);
    const key = endpointKey(fields);
    const held = this.#table.get(key);
    if (held !== undefined && held.record.owner !== this.name)
      throw new GossipInputError("endpointId", `${key} is owned by ${held.record.owner}`);
    if (held !== undefined && !held.record.tombstone && sameContent(held.record, fields)) return held.record;
    const record: EndpointRecord = { ...fields, owner: this.name, version: this.#takeVersion(), tombstone: false, deletedAtMs: 0 };
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
    const held = this.#table.get(endpointKey({ network, endpointId }));
    if (held === undefined || held.record.owner !== this.name) return 0;
    const targets = this.#pickPeers(this.config.fanout, new Set());
    const timeout = Math.min(timeoutMs, this.config.callTimeoutMs);
    const acks = await Promise.all(
      targets.map((peer) =>
        this.#exchange(peer, { case: "push", entries: [held.wire], confirm: true }, timeout).then((reply) => reply?.body.case === "pushAck"),
      ),
    );
    return acks.filter(Boolean).length;
  }

  /** Deletes a local endpoint with a tombstone of a higher version; pushed at once. */
  withdraw(network: string, endpointId: string): void {
    const key = endpointKey({ network, endpointId });
    const held = this.#table.get(key);
    if (held !== undefined && held.record.owner !== this.name)
      throw new GossipInputError("endpointId", `${key} is owned by ${held.record.owner}`);
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
    return this.#liveCount;
  }

  /** Live-view changes: add (next only), update (both), removal (previous only). */
  subscribe(listener: (change: EndpointChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  peerStatus(): PeerStatus[] {
    return this.#peerList.map((p) => {
      let endpoints = 0;
      for (const entry of this.#byOwner.get(p.peer.name)?.values() ?? []) if (!entry.record.tombstone) endpoints += 1;
      const status: PeerStatus = { name: p.peer.name, gossipAddr: p.peer.gossipAddr, state: this.#stateOf(p), endpoints };
      if (p.lastSeenMs !== undefined) status.lastSeenMs = p.lastSeenMs;
      return status;
    });
  }

  /** Runs one push-pull anti-entropy exchange with the named peer now (tests, operators). */
  async antiEntropyWith(peerName: string): Promise<void> {
    const peer = this.#peers.get(peerName);
    if (peer === undefined) throw new GossipInputError("peerName", `${peerName} is not a known peer`);
    await this.#syncWith(peer);
  }

  /** Own current version: persist it and pass it back as versionFloor on restart. */
  version(): number {
    return this.#nextVersion - 1;
  }

  /** Held entries including tombstones, for diagnostics and tests. */
  allEntries(): EndpointRecord[] {
    return [...this.#table.values()].map((entry) => entry.record);
  }

  // ---- local changes -------------------------------------------------------------------------

  #takeVersion(): number {
    return this.#nextVersion++;
  }

  #tombstone(network: string, endpointId: string): DecodedEntry {
    const record: EndpointRecord = {
      network,
      endpointId,
      owner: this.name,
      version: this.#takeVersion(),
      tombstone: true,
      ip: "",
      mac: "",
      vtep: "",
      name: "",
      labels: {},
      deletedAtMs: Math.max(1, Math.floor(this.#clock.now())),
    };
    return encodeAndSignEntry(record, this.#keyPair.secretKey, this.#scheme);
  }

  #announce(entry: DecodedEntry, alsoTo?: string): DecodedEntry {
    this.#store(entry);
    const targets = [...this.#gossipTargets()];
    if (alsoTo !== undefined && this.#peers.has(alsoTo) && !targets.some((p) => p.peer.name === alsoTo)) targets.push(this.#peers.get(alsoTo)!);
    for (const peer of targets) this.#enqueue(peer, entry);
    return entry;
  }

  // ---- the table -----------------------------------------------------------------------------

  #store(entry: DecodedEntry): void {
    const previous = this.#table.get(entry.key);
    if (previous !== undefined) this.#unindex(previous);
    this.#table.set(entry.key, entry);
    let owned = this.#byOwner.get(entry.record.owner);
    if (owned === undefined) {
      owned = new Map();
      this.#byOwner.set(entry.record.owner, owned);
    }
    owned.set(entry.key, entry);
    let summary = this.#summaries.get(entry.record.owner);
    if (summary === undefined) {
      summary = emptySummary();
      this.#summaries.set(entry.record.owner, summary);
    }
    summaryAdd(summary, entry.record.version, entry.hash);
    if (entry.record.tombstone) this.#tombstones.set(entry.key, entry.record.deletedAtMs);
    else this.#liveCount += 1;
    this.#emit(previous?.record, entry.record);
  }

  #drop(entry: DecodedEntry): void {
    this.#table.delete(entry.key);
    this.#unindex(entry);
    this.#emit(entry.record, undefined);
  }

  #unindex(entry: DecodedEntry): void {
    const owner = entry.record.owner;
    const owned = this.#byOwner.get(owner);
    owned?.delete(entry.key);
    const summary = this.#summaries.get(owner);
    if (summary !== undefined) summaryRemove(summary, entry.hash);
    if (owned !== undefined && owned.size === 0) {
      this.#byOwner.delete(owner);
      this.#summaries.delete(owner);
    }
    if (entry.record.tombstone) this.#tombstones.delete(entry.key);
    else this.#liveCount -= 1;
  }

  #dropOwner(owner: string): void {
    const owned = this.#byOwner.get(owner);
    if (owned === undefined) return;
    let live = 0;
    for (const entry of [...owned.values()]) {
      if (!entry.record.tombstone) live += 1;
      this.#drop(entry);
    }
    this.#log(`gossip: node ${owner} left the registry; dropped its ${live} endpoint(s)`);
  }

  #emit(previous: EndpointRecord | undefined, next: EndpointRecord | undefined): void {
    const before = previous !== undefined && !previous.tombstone ? previous : undefined;
    const after = next !== undefined && !next.tombstone ? next : undefined;
    if ((before === undefined && after === undefined) || this.#listeners.size === 0) return;
    const change: EndpointChange = {};
    if (before !== undefined) change.previous = before;
    if (after !== undefined) change.next = after;
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (err) {
        this.#log(`gossip: subscriber failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  #reapTombstones(): void {
    const expiry = this.#clock.now() - this.config.tombstoneTtlMs;
    for (const [key, deletedAtMs] of [...this.#tombstones]) {
      if (deletedAtMs > expiry) continue;
      const entry = this.#table.get(key);
      if (entry !== undefined) this.#drop(entry);
      else this.#tombstones.delete(key);
    }
  }

  // ---- incoming ------------------------------------------------------------------------------

  async #handleFrame(bytes: Uint8Array): Promise<Uint8Array> {
    try {
      const decoded = openFrame(bytes, this.#frameCheck());
      if (!decoded.ok) {
        this.#reject(decoded.origin, decoded.reason, decoded.detail);
        // Unauthenticated input gets an empty reply: no signing work for whoever sends garbage.
        return new Uint8Array();
      }
      const message = decoded.message;
      const from = message.origin;
      this.#metrics.received();
      this.#heardFrom(from);
      switch (message.body.case) {
        case "push": {
          const { accepted, rejected } = this.#ingestAll(message.body.entries, from);
          if (this.#beforeAck !== undefined && (accepted > 0 || message.body.confirm)) await this.#waitBeforeAck(this.#beforeAck);
          return this.#frame({ case: "pushAck", value: create(PushAckSchema, { accepted, rejected }) });
        }
        case "sync":
          return this.#frame(this.#syncReply(message.body.value.owners.map((d) => [d.owner, fromOwnerDigest(d)])));
        case "ping":
          return this.#frame({ case: "pong", value: create(PongSchema, { nonce: message.body.value.nonce }) });
        default:
          return this.#frame({ case: "refusal", value: create(RefusalSchema, { reason: `unexpected ${message.body.case ?? "empty"} request` }) });
      }
    } catch (err) {
      this.#logLimited("unknown", "internal", `gossip: failed to handle a frame: ${err instanceof Error ? err.message : String(err)}`);
      try {
        return this.#frame({ case: "refusal", value: create(RefusalSchema, { reason: "internal error" }) });
      } catch {
        return new Uint8Array();
      }
    }
  }

  async #waitBeforeAck(hook: () => Promise<unknown>): Promise<void> {
    let timer: unknown;
    const limit = new Promise<void>((resolve) => (timer = this.#clock.setTimeout(resolve, ACK_WAIT_MS)));
    try {
      await Promise.race([hook().catch(() => undefined), limit]);
    } finally {
      this.#clock.clearTimeout(timer);
    }
  }

  /** Ingests entries received from `from` and forwards what was new to `fanout` other peers. */
  #ingestAll(entries: readonly Uint8Array[], from: string): { accepted: number; rejected: number } {
    const fresh: DecodedEntry[] = [];
    let rejected = 0;
    for (const signed of entries) {
      const outcome = this.#ingest(signed, from);
      if (outcome.kind === "accepted") fresh.push(outcome.entry);
      else if (outcome.kind === "rejected") rejected += 1;
    }
    if (fresh.length > 0) {
      for (const peer of this.#gossipTargets()) {
        if (peer.peer.name === from) continue;
        for (const entry of fresh) if (entry.record.owner !== peer.peer.name) this.#enqueue(peer, entry);
      }
    }
    return { accepted: fresh.length, rejected };
  }

  #ingest(encoded: Uint8Array, from: string): IngestOutcome {
    const decoded = this.#cache.decodeWire(encoded);
    if (!decoded.ok) return this.#rejectEntry(from, decoded.reason, decoded.detail);
    const entry = decoded.entry;
    // The very object we hold (the cache hands out one per signed entry): the common duplicate.
    if (this.#table.get(entry.key) === entry) return IGNORED;
    const record = entry.record;
    const publicKey = this.#publicKeyOf(record.owner);
    if (publicKey === undefined) return this.#rejectEntry(from, "unknown-owner", `entry ${entry.key} claims unknown owner ${record.owner}`);
    const held = this.#table.get(entry.key);
    const merge = decideMerge(held?.record, record);
    switch (merge.kind) {
      case "owner-conflict":
        return this.#rejectEntry(from, "owner-conflict", `${record.owner} may not change ${entry.key}, owned by ${merge.held.owner}`);
      case "duplicate":
        return { kind: "ignored" };
      case "stale": {
        // The sender is behind on this key: give it what we hold.
        const peer = this.#peers.get(from);
        if (peer !== undefined && held !== undefined) this.#enqueue(peer, held);
        return { kind: "ignored" };
      }
      case "accepted":
        break;
    }
    if (!this.#cache.verify(entry, publicKey, this.#scheme))
      return this.#rejectEntry(from, "bad-entry-signature", `entry ${entry.key} is not signed by its owner ${record.owner}`);
    if (record.owner === this.name) {
      this.#reannounce(entry, held, from);
      return { kind: "ignored" };
    }
    const problem = policyProblem(record, this.#policy);
    if (problem !== undefined) return this.#rejectEntry(from, problem.reason, problem.detail);
    if (record.tombstone && held === undefined && record.deletedAtMs <= this.#clock.now() - this.config.tombstoneTtlMs)
      return { kind: "ignored" };
    this.#store(entry);
    return { kind: "accepted", entry };
  }

  /**
   * Someone holds a version of our own entry that we do not (a previous run's, typically): the owner
   * is authoritative, so announce what we hold now, or a tombstone, above that version.
   */
  #reannounce(stale: DecodedEntry, held: DecodedEntry | undefined, from: string): void {
    this.#nextVersion = Math.max(this.#nextVersion, stale.record.version + 1);
    const { network, endpointId } = stale.record;
    if (held !== undefined && !held.record.tombstone) {
      const record: EndpointRecord = { ...held.record, labels: { ...held.record.labels }, version: this.#takeVersion() };
      this.#announce(encodeAndSignEntry(record, this.#keyPair.secretKey, this.#scheme), from);
    } else {
      this.#announce(this.#tombstone(network, endpointId), from);
    }
  }

  #syncReply(theirs: [string, OwnerSummary][]): OutgoingBody {
    const theirSummaries = new Map(theirs);
    const owners = [...this.#byOwner.keys()].filter((owner) => !sameSummary(this.#summaries.get(owner), theirSummaries.get(owner)));
    shuffle(owners, this.#random);
    const entries: Uint8Array[] = [];
    let bytes = 0;
    let truncated = false;
    outer: for (const owner of owners) {
      for (const entry of replyOrder(this.#byOwner.get(owner)!, theirSummaries.get(owner), this.#random)) {
        if (entries.length >= this.config.maxEntriesPerMessage || bytes + entry.wireBytes > this.config.maxMessageBytes) {
          truncated = true;
          break outer;
        }
        entries.push(entry.wire);
        bytes += entry.wireBytes;
      }
    }
    return { case: "syncReply", entries, owners: this.#digest(), truncated };
  }

  // ---- outgoing ------------------------------------------------------------------------------

  #enqueue(peer: PeerRecord, entry: DecodedEntry): void {
    if (!this.#running) return;
    const queue = (peer.queue ??= new Map());
    queue.delete(entry.key);
    queue.set(entry.key, entry);
    if (queue.size > this.config.maxQueuePerPeer) {
      queue.delete(queue.keys().next().value!);
      this.#metrics.queueDropped();
    }
    if (peer.flushScheduled || peer.sending) return;
    peer.flushScheduled = true;
    queueMicrotask(() => {
      peer.flushScheduled = false;
      void this.#flush(peer);
    });
  }

  async #flush(peer: PeerRecord): Promise<void> {
    if (peer.sending) return;
    peer.sending = true;
    try {
      for (let queue = peer.queue; this.#running && queue !== undefined && queue.size > 0 && this.#peers.get(peer.peer.name) === peer; queue = peer.queue) {
        const batch: DecodedEntry[] = [];
        let bytes = 0;
        for (const entry of queue.values()) {
          if (batch.length >= this.config.maxEntriesPerMessage || (batch.length > 0 && bytes + entry.wireBytes > this.config.maxMessageBytes)) break;
          batch.push(entry);
          bytes += entry.wireBytes;
        }
        if (batch.length === queue.size) queue.clear();
        else {
          let left = batch.length;
          for (const key of queue.keys()) {
            if (left-- === 0) break;
            queue.delete(key);
          }
        }
        const reply = await this.#exchange(peer, { case: "push", entries: batch.map((e) => e.wire) });
        if (reply === undefined) {
          // A busy or unreachable peer: keep the batch (behind anything newer queued meanwhile) and
          // retry after a pause. The queue stays bounded; what overflows, anti-entropy repairs.
          for (const entry of batch) if (!peer.queue?.has(entry.key)) this.#requeue(peer, entry);
          this.#clock.setTimeout(() => {
            if (this.#running && this.#peers.get(peer.peer.name) === peer) void this.#flush(peer);
          }, PUSH_RETRY_MS);
          return;
        }
      }
    } finally {
      peer.sending = false;
      if (peer.queue?.size === 0) peer.queue = undefined;
    }
  }

  #requeue(peer: PeerRecord, entry: DecodedEntry): void {
    const queue = (peer.queue ??= new Map());
    queue.set(entry.key, entry);
    if (queue.size > this.config.maxQueuePerPeer) {
      queue.delete(queue.keys().next().value!);
      this.#metrics.queueDropped();
    }
  }

  /** Push-pull anti-entropy with one peer: digest out, differing owners' entries back, our surplus pushed. */
  async #syncWith(peer: PeerRecord): Promise<void> {
    const reply = await this.#exchange(peer, { case: "sync", value: create(SyncDigestSchema, { owners: this.#digest() }) });
    if (reply?.body.case !== "syncReply" || !this.#running) return;
    const { entries, owners, truncated } = reply.body;
    this.#ingestAll(entries, peer.peer.name);
    // What the replier holds, per key, for the owners it sent completely.
    const theirVersions = new Map<EndpointKey, number>();
    const covered = new Set<string>();
    let lastOwner: string | undefined;
    for (const signed of entries) {
      const decoded = this.#cache.decodeWire(signed);
      if (!decoded.ok) continue;
      theirVersions.set(decoded.entry.key, decoded.entry.record.version);
      covered.add(decoded.entry.record.owner);
      lastOwner = decoded.entry.record.owner;
    }
    if (truncated && lastOwner !== undefined) covered.delete(lastOwner);
    const theirSummaries = new Map(owners.map((d) => [d.owner, fromOwnerDigest(d)]));
    for (const [owner, owned] of this.#byOwner) {
      if (owner === peer.peer.name) continue;
      const theirs = theirSummaries.get(owner);
      if (sameSummary(this.#summaries.get(owner), theirs)) continue;
      const knowsNothing = theirs === undefined || theirs.count === 0;
      if (!knowsNothing && !covered.has(owner)) continue;
      for (const entry of owned.values()) {
        const version = theirVersions.get(entry.key);
        if (version === undefined || version < entry.record.version) this.#enqueue(peer, entry);
      }
    }
    if (truncated && peer.followUpSyncs < MAX_FOLLOW_UP_SYNCS) {
      peer.followUpSyncs += 1;
      this.#clock.setTimeout(() => {
        if (this.#running && this.#peers.get(peer.peer.name) === peer) void this.#syncWith(peer);
      }, 0);
    }
  }

  async #exchange(peer: PeerRecord, body: OutgoingBody, timeoutMs = this.config.callTimeoutMs): Promise<WireMessage | undefined> {
    if (!this.#running) return undefined;
    const frame = this.#frame(body);
    let response: Uint8Array;
    try {
      response = await this.#transport.call(peer.peer.gossipAddr, frame, timeoutMs);
    } catch (err) {
      this.#logLimited(peer.peer.name, "unreachable", `gossip: peer ${peer.peer.name} unreachable: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
    if (response.length === 0) {
      this.#logLimited(peer.peer.name, "refused", `gossip: peer ${peer.peer.name} refused our frame (it could not authenticate it: check the cluster key and that both nodes are registered)`);
      return undefined;
    }
    const decoded = openFrame(response, this.#frameCheck());
    if (!decoded.ok) {
      this.#reject(decoded.origin === "unknown" ? peer.peer.name : decoded.origin, decoded.reason, decoded.detail);
      return undefined;
    }
    if (decoded.message.origin !== peer.peer.name) {
      this.#reject(peer.peer.name, "unexpected-responder", `reply signed by ${decoded.message.origin}`);
      return undefined;
    }
    this.#metrics.received();
    this.#heardFrom(peer.peer.name);
    if (decoded.message.body.case === "refusal") {
      this.#logLimited(peer.peer.name, "refused", `gossip: peer ${peer.peer.name} refused our frame: ${decoded.message.body.value.reason}`);
      return undefined;
    }
    return decoded.message;
  }

  #frame(body: OutgoingBody): Uint8Array {
    const message = encodeGossipMessage(this.name, BigInt(Math.max(0, Math.floor(this.#clock.now()))), body);
    const secrets = { secretKey: this.#keyPair.secretKey, scheme: this.#scheme, ...(this.#clusterKey ? { clusterKey: this.#clusterKey } : {}) };
    const bytes = encodeFrame(message, secrets);
    this.#metrics.sent(bytes.length);
    return bytes;
  }

  #frameCheck() {
    return {
      scheme: this.#scheme,
      maxFrameBytes: this.config.maxMessageBytes + FRAME_OVERHEAD_BYTES,
      publicKeyOf: (origin: string) => (origin === this.name ? undefined : this.#peers.get(origin)?.peer.publicKey),
      ...(this.#clusterKey ? { clusterKey: this.#clusterKey } : {}),
    };
  }

  #digest() {
    const owners = [];
    for (const [owner, summary] of this.#summaries) if (summary.count > 0) owners.push(toOwnerDigest(owner, summary));
    return owners;
  }

  #publicKeyOf(owner: string): Uint8Array | undefined {
    return owner === this.name ? this.#keyPair.publicKey : this.#peers.get(owner)?.peer.publicKey;
  }

  // ---- membership and timers -----------------------------------------------------------------

  #heardFrom(name: string): void {
    const peer = this.#peers.get(name);
    if (peer === undefined) return;
    peer.lastSeenMs = this.#clock.now();
    if (peer.reportedState === "suspect") {
      peer.reportedState = "alive";
      this.#log(`gossip: peer ${name} is alive again`);
      this.#reportGauges();
      // Back from a partition or a pause: both sides likely missed deltas, so compare digests now
      // instead of waiting for the random anti-entropy pick.
      if (this.#running) void this.#syncWith(peer);
    }
  }

  #stateOf(peer: PeerRecord): PeerState {
    const heard = peer.lastSeenMs ?? peer.addedAtMs;
    return this.#clock.now() - heard >= this.config.suspectAfterMs ? "suspect" : "alive";
  }

  /**
   * The `fanout` peers deltas go to, redrawn every GOSSIP_TARGET_WINDOW_MS (aligned to the clock, so
   * nodes share windows): a burst is then batched into a few large messages per node instead of many
   * small ones. The draw is windowTargets' shared permutations, so every node has `fanout` pushers;
   * a drawn peer that is not alive is replaced by a random alive one.
   */
  #gossipTargets(): readonly PeerRecord[] {
    const now = this.#clock.now();
    const stale = this.#targets.some((p) => this.#peers.get(p.peer.name) !== p || this.#stateOf(p) !== "alive");
    if (now >= this.#targetsUntil || stale) {
      const window = Math.floor(now / GOSSIP_TARGET_WINDOW_MS);
      const chosen: PeerRecord[] = [];
      for (const name of windowTargets(this.#members, this.name, window, this.config.fanout)) {
        const peer = this.#peers.get(name);
        if (peer !== undefined && this.#stateOf(peer) === "alive") chosen.push(peer);
      }
      if (chosen.length < this.config.fanout)
        chosen.push(...this.#pickPeers(this.config.fanout - chosen.length, new Set(chosen.map((p) => p.peer.name))));
      this.#targets = chosen;
      this.#targetsUntil = (window + 1) * GOSSIP_TARGET_WINDOW_MS;
    }
    return this.#targets;
  }

  /** Up to `count` random alive peers not in `exclude`; suspects only when no peer is alive. */
  #pickPeers(count: number, exclude: ReadonlySet<string>): PeerRecord[] {
    const list = this.#peerList;
    const chosen: PeerRecord[] = [];
    if (list.length === 0 || count <= 0) return chosen;
    const usable = (p: PeerRecord) => !exclude.has(p.peer.name) && !chosen.includes(p);
    // Random probes first: cheap when most peers are usable, which is the common case.
    for (let attempt = 0; attempt < count * 4 && chosen.length < count; attempt++) {
      const p = list[Math.floor(this.#random() * list.length)]!;
      if (usable(p) && this.#stateOf(p) === "alive") chosen.push(p);
    }
    if (chosen.length < count) {
      const rest = list.filter((p) => usable(p) && this.#stateOf(p) === "alive");
      shuffle(rest, this.#random);
      chosen.push(...rest.slice(0, count - chosen.length));
    }
    if (chosen.length === 0) {
      const rest = list.filter((p) => usable(p));
      shuffle(rest, this.#random);
      chosen.push(...rest.slice(0, count));
    }
    return chosen;
  }

  #scheduleAntiEntropy(delayMs: number): void {
    this.#antiEntropyTimer = this.#clock.setTimeout(() => {
      if (!this.#running) return;
      this.#reapTombstones();
      for (const peer of this.#peerList) peer.followUpSyncs = 0;
      const [peer] = this.#pickPeers(1, new Set());
      if (peer !== undefined) void this.#syncWith(peer);
      this.#reportGauges();
      const interval = this.config.antiEntropyIntervalMs;
      this.#scheduleAntiEntropy(interval * (0.75 + 0.25 * this.#random()));
    }, delayMs);
  }

  #schedulePing(): void {
    const tickMs = Math.min(this.config.pingIntervalMs, SUSPECT_PING_MS);
    let sinceRound = 0;
    const tick = () => {
      if (!this.#running) return;
      sinceRound += tickMs;
      const fullRound = sinceRound >= this.config.pingIntervalMs;
      if (fullRound) sinceRound = 0;
      const now = this.#clock.now();
      for (const peer of this.#peerList) {
        const state = this.#stateOf(peer);
        if (state === "suspect" && peer.reportedState !== "suspect") {
          peer.reportedState = "suspect";
          this.#log(`gossip: peer ${peer.peer.name} is suspect (not heard from for ${this.config.suspectAfterMs} ms); keeping its entries`);
        }
        if (fullRound && (peer.lastSeenMs ?? 0) <= now - this.config.pingIntervalMs) void this.#exchange(peer, this.#ping());
        // Between full rounds a suspect gets quick extra pings; each that fails makes the next one
        // dial afresh (see the gRPC transport), so the first after the link heals gets through.
        else if (state === "suspect") void this.#exchange(peer, this.#ping(), SUSPECT_PING_TIMEOUT_MS);
      }
      if (fullRound) this.#reportGauges();
      this.#pingTimer = this.#clock.setTimeout(tick, tickMs);
    };
    this.#pingTimer = this.#clock.setTimeout(tick, tickMs);
  }

  #ping(): OutgoingBody {
    return { case: "ping", value: create(PingSchema, { nonce: BigInt(Math.floor(this.#random() * 2 ** 32)) }) };
  }

  #reportGauges(): void {
    let alive = 0;
    for (const peer of this.#peerList) if (this.#stateOf(peer) === "alive") alive += 1;
    this.#metrics.peers(alive, this.#peerList.length - alive);
    this.#metrics.entries(this.#liveCount);
  }

  // ---- rejections ----------------------------------------------------------------------------

  #rejectEntry(from: string, reason: RejectionReason, detail: string): IngestOutcome {
    this.#reject(from, reason, detail);
    return { kind: "rejected" };
  }

  #reject(from: string, reason: RejectionReason, detail: string): void {
    this.#metrics.rejected(reason);
    this.#logLimited(from, reason, `gossip: peer ${from}: ${detail} (rejected: ${reason})`);
  }

  /** Logs at most once per (peer, reason) per minute. */
  #logLimited(peer: string, reason: string, line: string): void {
    const id = `${peer}\n${reason}`;
    const now = this.#clock.now();
    const last = this.#lastLogged.get(id);
    if (last !== undefined && now - last < LOG_EVERY_MS) return;
    if (this.#lastLogged.size > 10_000) this.#lastLogged.clear();
    this.#lastLogged.set(id, now);
    this.#log(line);
  }
}

function sameContent(record: EndpointRecord, fields: EndpointAnnouncement & { labels: Record<string, string> }): boolean {
  if (record.ip !== fields.ip || record.mac !== fields.mac || record.vtep !== fields.vtep || record.name !== fields.name) return false;
  const a = Object.entries(record.labels);
  const b = fields.labels;
  return a.length === Object.keys(b).length && a.every(([k, v]) => b[k] === v);
}

/**
 * The order in which a sync reply offers one owner's entries: first those newer than anything the
 * requester holds of that owner (it cannot have them), then the rest from a random starting point.
 * A reply is capped, and a requester that already holds a large prefix of a big owner's entries would
 * otherwise be sent the same first batch on every follow-up and never catch up.
 */
export function* replyOrder(owned: ReadonlyMap<EndpointKey, DecodedEntry>, theirs: OwnerSummary | undefined, random: () => number): Generator<DecodedEntry> {
  const theirMax = theirs?.maxVersion ?? -1;
  const rest: DecodedEntry[] = [];
  for (const entry of owned.values()) {
    if (entry.record.version > theirMax) yield entry;
    else rest.push(entry);
  }
  const start = Math.floor(random() * rest.length);
  for (let i = 0; i < rest.length; i++) yield rest[(start + i) % rest.length]!;
}

function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}
