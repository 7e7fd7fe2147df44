import type { OwnerDigest } from "../../proto/gen/weft/v1/gossip_pb.js";
import type { EndpointKey, EndpointRecord } from "./endpoint-record.js";
import { emptySummary, summaryAdd, summaryRemove, toOwnerDigest, type OwnerSummary } from "./owner-digest.js";
import type { DecodedEntry } from "./signed-entry.js";

/** A change of the live view: add (next only), update (both), removal (previous only). */
export interface EndpointChange {
  previous?: EndpointRecord;
  next?: EndpointRecord;
}

/**
 * The entries this node holds, of all owners, with the indexes the gossip works from: by owner
 * (digests, sync replies), each owner's digest summary, tombstones by LOCAL receipt time (reaping
 * never depends on a time a peer chose), live entries by (network, ip) (address conflicts) and live
 * counts per (owner, network) and tombstone counts per owner (quotas).
 *
 * Only store() and drop() write, and each reports the live-view change through `onChange`.
 */
export class EntryTable {
  readonly #entries = new Map<EndpointKey, DecodedEntry>();
  readonly #byOwner = new Map<string, Map<EndpointKey, DecodedEntry>>();
  readonly #summaries = new Map<string, OwnerSummary>();
  readonly #tombstoneReceivedMs = new Map<EndpointKey, number>();
  readonly #tombstonesByOwner = new Map<string, number>();
  /** Owner -> network -> live entries. */
  readonly #liveByOwner = new Map<string, Map<string, number>>();
  // Network -> IP -> entry; mostly one entry per address, an array only while an owner holds it twice.
  readonly #byAddress = new Map<string, Map<string, DecodedEntry | DecodedEntry[]>>();
  #liveCount = 0;

  constructor(readonly onChange: (change: EndpointChange) => void) {}

  get(key: EndpointKey): DecodedEntry | undefined {
    return this.#entries.get(key);
  }

  values(): IterableIterator<DecodedEntry> {
    return this.#entries.values();
  }

  get liveCount(): number {
    return this.#liveCount;
  }

  owners(): IterableIterator<string> {
    return this.#byOwner.keys();
  }

  owned(owner: string): ReadonlyMap<EndpointKey, DecodedEntry> | undefined {
    return this.#byOwner.get(owner);
  }

  summary(owner: string): OwnerSummary | undefined {
    return this.#summaries.get(owner);
  }

  /** Live entries the owner holds in the network. */
  liveIn(owner: string, network: string): number {
    return this.#liveByOwner.get(owner)?.get(network) ?? 0;
  }

  tombstonesOf(owner: string): number {
    return this.#tombstonesByOwner.get(owner) ?? 0;
  }

  /**
   * A live entry of an owner other than `owner` with this IP in this network. MACs need no index of
   * their own: an entry's MAC is the one its IP implies (endpointRecordProblem), so equal MACs in a
   * network mean equal IPs.
   */
  addressHolder(network: string, ip: string, owner: string): DecodedEntry | undefined {
    const held = this.#byAddress.get(network)?.get(ip);
    if (held === undefined) return undefined;
    if (!Array.isArray(held)) return held.record.owner === owner ? undefined : held;
    return held.find((e) => e.record.owner !== owner);
  }

  /** Own summaries as digests (owners holding something). */
  digest(): OwnerDigest[] {
    const owners: OwnerDigest[] = [];
    for (const [owner, summary] of this.#summaries) if (summary.count > 0) owners.push(toOwnerDigest(owner, summary));
    return owners;
  }

  store(entry: DecodedEntry, receivedAtMs: number): void {
    const previous = this.#entries.get(entry.key);
    if (previous !== undefined) this.#unindex(previous);
    this.#entries.set(entry.key, entry);
    const owner = entry.record.owner;
    let owned = this.#byOwner.get(owner);
    if (owned === undefined) {
      owned = new Map();
      this.#byOwner.set(owner, owned);
    }
    owned.set(entry.key, entry);
    let summary = this.#summaries.get(owner);
    if (summary === undefined) {
      summary = emptySummary();
      this.#summaries.set(owner, summary);
    }
    summaryAdd(summary, entry.record.version, entry.hash);
    if (entry.record.tombstone) {
      this.#tombstoneReceivedMs.set(entry.key, receivedAtMs);
      bump(this.#tombstonesByOwner, owner, 1);
    } else {
      this.#liveCount += 1;
      let networks = this.#liveByOwner.get(owner);
      if (networks === undefined) {
        networks = new Map();
        this.#liveByOwner.set(owner, networks);
      }
      bump(networks, entry.record.network, 1);
      this.#addAddress(entry);
    }
    this.#emit(previous?.record, entry.record);
  }

  drop(entry: DecodedEntry): void {
    if (this.#entries.get(entry.key) !== entry) return;
    this.#entries.delete(entry.key);
    this.#unindex(entry);
    this.#emit(entry.record, undefined);
  }

  /** Drops every entry of the owner; returns how many were live. */
  dropOwner(owner: string): number {
    const owned = this.#byOwner.get(owner);
    if (owned === undefined) return 0;
    let live = 0;
    for (const entry of [...owned.values()]) {
      if (!entry.record.tombstone) live += 1;
      this.drop(entry);
    }
    return live;
  }

  /** Drops the tombstones received at or before `receivedBeforeMs`. */
  reapTombstones(receivedBeforeMs: number): void {
    for (const [key, receivedMs] of [...this.#tombstoneReceivedMs]) {
      if (receivedMs > receivedBeforeMs) continue;
      const entry = this.#entries.get(key);
      if (entry !== undefined) this.drop(entry);
      else this.#tombstoneReceivedMs.delete(key);
    }
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
    if (entry.record.tombstone) {
      this.#tombstoneReceivedMs.delete(entry.key);
      bump(this.#tombstonesByOwner, owner, -1);
    } else {
      this.#liveCount -= 1;
      const networks = this.#liveByOwner.get(owner);
      if (networks !== undefined) {
        bump(networks, entry.record.network, -1);
        if (networks.size === 0) this.#liveByOwner.delete(owner);
      }
      this.#removeAddress(entry);
    }
  }

  #addAddress(entry: DecodedEntry): void {
    const { network, ip } = entry.record;
    let inNetwork = this.#byAddress.get(network);
    if (inNetwork === undefined) {
      inNetwork = new Map();
      this.#byAddress.set(network, inNetwork);
    }
    const held = inNetwork.get(ip);
    if (held === undefined) inNetwork.set(ip, entry);
    else if (Array.isArray(held)) held.push(entry);
    else inNetwork.set(ip, [held, entry]);
  }

  #removeAddress(entry: DecodedEntry): void {
    const { network, ip } = entry.record;
    const inNetwork = this.#byAddress.get(network);
    const held = inNetwork?.get(ip);
    if (inNetwork === undefined || held === undefined) return;
    if (held === entry) inNetwork.delete(ip);
    else if (Array.isArray(held)) {
      const rest = held.filter((e) => e !== entry);
      inNetwork.set(ip, rest.length === 1 ? rest[0]! : rest);
    }
    if (inNetwork.size === 0) this.#byAddress.delete(network);
  }

  #emit(previous: EndpointRecord | undefined, next: EndpointRecord | undefined): void {
    const before = previous !== undefined && !previous.tombstone ? previous : undefined;
    const after = next !== undefined && !next.tombstone ? next : undefined;
    if (before === undefined && after === undefined) return;
    const change: EndpointChange = {};
    if (before !== undefined) change.previous = before;
    if (after !== undefined) change.next = after;
    this.onChange(change);
  }
}

function bump(counts: Map<string, number>, id: string, by: number): void {
  const next = (counts.get(id) ?? 0) + by;
  if (next === 0) counts.delete(id);
  else counts.set(id, next);
}
