import type { Clock } from "../clock.js";
import type { BatchSignatureVerifier, SignatureCheck } from "./batch-signature-verifier.js";
import { policyProblem, sliceCapacity, type EntryPolicy } from "./entry-policy.js";
import type { EntryTable } from "./entry-table.js";
import type { GossipConfig } from "./gossip-config.js";
import { decideMerge } from "./merge-entry.js";
import type { RejectionReason } from "./rejection-reason.js";
import type { DecodedEntry, SignedEntryCache } from "./signed-entry.js";

/**
 * Entries are handled in chunks (a few milliseconds of decoding and checks: ~10 us an entry, several
 * times that on a loaded machine), and between chunks the intake yields to the event loop once it has
 * run for SLICE_MS. The verifier slices its own work.
 */
const CHUNK_ENTRIES = 128;
const SLICE_MS = 5;

export interface EntryIntakeOptions {
  readonly self: string;
  readonly config: GossipConfig;
  readonly clock: Clock;
  readonly policy: EntryPolicy;
  readonly table: EntryTable;
  readonly cache: SignedEntryCache;
  readonly verifier: BatchSignatureVerifier;
  publicKeyOf(owner: string): Uint8Array | undefined;
  reject(from: string, reason: RejectionReason, detail: string): void;
  /** A verified entry of this node's own, in a version it does not hold (see GossipNode). */
  ownEntry(entry: DecodedEntry, held: DecodedEntry | undefined, from: string): void;
  /** The sender is behind on this key: it should get what this node holds. */
  senderBehind(from: string, held: DecodedEntry): void;
}

export interface IntakeResult {
  /** Entries stored, in order. */
  readonly accepted: DecodedEntry[];
  rejected: number;
  /** With keepDecoded: every entry that decoded, accepted or not (what the sender claims to hold). */
  readonly decoded: DecodedEntry[];
}

type Verdict = { kind: "check"; publicKey: Uint8Array } | { kind: "ignore" } | { kind: "reject"; reason: RejectionReason; detail: string };

const IGNORE: Verdict = Object.freeze({ kind: "ignore" });

/**
 * Takes in the entries of one received frame: decodes them, checks them against the table and the
 * registry's policy, verifies the signatures of those that pass (in batches, through the verifier),
 * checks again (the table may have changed meanwhile) and stores what is accepted.
 *
 * The work is done in chunks, yielding to the event loop between chunks once it has run SLICE_MS, so
 * one large frame never holds up timers, I/O or other frames for long.
 */
export class EntryIntake {
  /** Entries being verified for some frame, and when that frame's intake has stored (or refused) them. */
  readonly #verifying = new Map<DecodedEntry, Promise<void>>();

  constructor(readonly options: EntryIntakeOptions) {}

  /** `keepDecoded`: fill result.decoded (anti-entropy wants to know what the sender holds). */
  async ingest(entries: readonly Uint8Array[], from: string, keepDecoded = false): Promise<IntakeResult> {
    const result: IntakeResult = { accepted: [], rejected: 0, decoded: [] };
    let sliceStart = performance.now();
    for (let start = 0; start < entries.length; start += CHUNK_ENTRIES) {
      if (performance.now() - sliceStart >= SLICE_MS) {
        await yieldToEventLoop();
        sliceStart = performance.now();
      }
      await this.#ingestChunk(entries, start, Math.min(entries.length, start + CHUNK_ENTRIES), from, result, keepDecoded);
    }
    return result;
  }

  async #ingestChunk(entries: readonly Uint8Array[], start: number, end: number, from: string, result: IntakeResult, keepDecoded: boolean): Promise<void> {
    const { cache, verifier } = this.options;
    const pending: { entry: DecodedEntry; publicKey: Uint8Array; check: number }[] = [];
    const checks: SignatureCheck[] = [];
    // One promise for the chunk: settles once this chunk's entries are stored (or refused).
    let land!: () => void;
    const landed = new Promise<void>((resolve) => (land = resolve));
    const waits: Promise<void>[] = [];
    for (let i = start; i < end; i++) {
      const decoded = cache.decodeWire(entries[i]!);
      if (!decoded.ok) {
        this.#reject(result, from, decoded.reason, decoded.detail);
        continue;
      }
      const entry = decoded.entry;
      if (keepDecoded) result.decoded.push(entry);
      const verdict = this.#judge(entry, from);
      if (verdict.kind === "ignore") continue;
      if (verdict.kind === "reject") {
        this.#reject(result, from, verdict.reason, verdict.detail);
        continue;
      }
      if (cache.isVerifiedWith(entry, verdict.publicKey)) {
        pending.push({ entry, publicKey: verdict.publicKey, check: -1 });
        continue;
      }
      // Being verified for another frame (a push and a sync reply crossing; the cache hands out the
      // same object): that frame's intake stores it, this one waits for it instead of checking again.
      const inFlight = this.#verifying.get(entry);
      if (inFlight !== undefined) {
        waits.push(inFlight);
        continue;
      }
      this.#verifying.set(entry, landed);
      cache.verifying(entry);
      const { entry: message, signature } = entry.parts();
      pending.push({ entry, publicKey: verdict.publicKey, check: checks.length });
      checks.push({ message, signature, publicKey: verdict.publicKey });
    }
    try {
      const verified = checks.length > 0 ? await verifier.verify(checks) : [];
      for (const { entry, publicKey, check } of pending) {
        if (check >= 0) {
          cache.verified(entry);
          if (verified[check] !== true) {
            this.#reject(result, from, "bad-entry-signature", `entry ${entry.key} is not signed by its owner ${entry.record.owner}`);
            continue;
          }
          cache.remember(entry, publicKey);
        }
        this.#admit(entry, from, result);
      }
    } finally {
      for (const { entry, check } of pending) {
        if (check < 0) continue;
        this.#verifying.delete(entry);
        cache.verified(entry);
      }
      land();
    }
    if (waits.length > 0) await Promise.all(waits);
  }

  /** After verification: judged again against the table as it is now (it may have changed), then stored. */
  #admit(entry: DecodedEntry, from: string, result: IntakeResult): void {
    const { self, table, clock } = this.options;
    let verdict = this.#judgeMerge(entry, from);
    if (verdict.kind === "check" && entry.record.owner !== self) verdict = this.#judgeHoldings(entry, verdict);
    if (verdict.kind === "reject") return this.#reject(result, from, verdict.reason, verdict.detail);
    if (verdict.kind === "ignore") return;
    if (entry.record.owner === self) return this.options.ownEntry(entry, table.get(entry.key), from);
    table.store(entry, clock.now());
    result.accepted.push(entry);
  }

  /**
   * Whether an entry may go in, before its signature is verified: the merge rule, the registry's
   * policy and the clock, then what the table holds. Cheap checks only, so a frame of junk costs
   * little more than reading it.
   */
  #judge(entry: DecodedEntry, from: string): Verdict {
    const verdict = this.#judgeMerge(entry, from);
    if (verdict.kind !== "check" || entry.record.owner === this.options.self) return verdict;
    const { config, clock, policy } = this.options;
    const record = entry.record;
    const problem = policyProblem(record, policy, entry.address);
    if (problem !== undefined) return { kind: "reject", reason: problem.reason, detail: problem.detail };
    const now = clock.now();
    if (record.tombstone && record.deletedAtMs > now + config.maxClockSkewMs)
      return { kind: "reject", reason: "future-deletion", detail: `tombstone ${entry.key} deleted at ${record.deletedAtMs}, ${record.deletedAtMs - now} ms ahead of this node's clock` };
    return this.#judgeHoldings(entry, verdict);
  }

  /** The merge rule against what the table holds under the entry's key. */
  #judgeMerge(entry: DecodedEntry, from: string): Verdict {
    const record = entry.record;
    const held = this.options.table.get(entry.key);
    // The very object we hold (the cache hands out one per signed entry): the common duplicate.
    if (held === entry) return IGNORE;
    const publicKey = this.options.publicKeyOf(record.owner);
    if (publicKey === undefined) return { kind: "reject", reason: "unknown-owner", detail: `entry ${entry.key} claims unknown owner ${record.owner}` };
    const merge = decideMerge(held?.record, record);
    if (merge.kind === "duplicate") return IGNORE;
    if (merge.kind === "stale") {
      if (held !== undefined) this.options.senderBehind(from, held);
      return IGNORE;
    }
    return { kind: "check", publicKey };
  }

  /** What the table holds of others and of the owner: address conflicts and quotas. */
  #judgeHoldings(entry: DecodedEntry, pass: Verdict): Verdict {
    const { config, clock, policy, table } = this.options;
    const record = entry.record;
    const held = table.get(entry.key);
    if (record.tombstone) {
      if (held !== undefined) return pass;
      // Older than any tombstone still held anywhere: it would only be reaped again.
      if (record.deletedAtMs <= clock.now() - config.tombstoneTtlMs) return IGNORE;
      if (table.tombstonesOf(record.owner) >= config.maxTombstonesPerOwner)
        return { kind: "reject", reason: "owner-quota", detail: `${record.owner} already has ${config.maxTombstonesPerOwner} tombstones` };
      return pass;
    }
    const holder = table.addressHolder(record.network, record.ip, record.owner);
    if (holder !== undefined)
      return { kind: "reject", reason: "address-conflict", detail: `${record.ip} in ${record.network} is held by ${holder.record.owner} (${holder.key})` };
    // An owner's live entries in a network can be at most the addresses of its slices there (plus
    // at most maxTombstonesPerOwner tombstones, above), so one member cannot fill our memory.
    if (held === undefined || held.record.tombstone) {
      const capacity = sliceCapacity(policy.ownerSlices(record.owner, record.network));
      if (table.liveIn(record.owner, record.network) >= capacity)
        return { kind: "reject", reason: "owner-quota", detail: `${record.owner} already holds ${capacity} live entries in ${record.network}, as many as its slices have addresses` };
    }
    return pass;
  }

  #reject(result: IntakeResult, from: string, reason: RejectionReason, detail: string): void {
    result.rejected += 1;
    this.options.reject(from, reason, detail);
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
