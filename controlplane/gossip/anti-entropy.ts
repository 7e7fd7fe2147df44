import { create } from "@bufbuild/protobuf";
import { SyncDigestSchema, type OwnerDigest } from "../../proto/gen/weft/v1/gossip_pb.js";
import type { Clock } from "../clock.js";
import type { EndpointKey } from "./endpoint-record.js";
import type { IntakeResult } from "./entry-intake.js";
import type { EntryTable } from "./entry-table.js";
import type { FrameChannel } from "./frame-channel.js";
import type { GossipConfig } from "./gossip-config.js";
import type { OutgoingBody } from "./gossip-wire.js";
import { fromOwnerDigest, sameSummary, type OwnerSummary } from "./owner-digest.js";
import { shuffle, type PeerRecord, type PeerSet } from "./peer-set.js";
import type { DecodedEntry } from "./signed-entry.js";

/** Follow-up syncs after truncated replies, per peer and anti-entropy round. */
const MAX_FOLLOW_UP_SYNCS = 8;

export interface AntiEntropyOptions {
  readonly config: GossipConfig;
  readonly clock: Clock;
  readonly random: () => number;
  readonly table: EntryTable;
  readonly peers: PeerSet;
  readonly channel: FrameChannel;
  running(): boolean;
  ingest(entries: readonly Uint8Array[], from: string, keepDecoded: boolean): Promise<IntakeResult>;
  enqueue(peer: PeerRecord, entry: DecodedEntry): void;
}

/**
 * Push-pull anti-entropy: our digest out, the entries of owners whose digests differ back, and what
 * the peer lacks pushed to it. Also tracks whether this node has synced once since it started.
 */
export class AntiEntropy {
  #synced = false;
  readonly #waiters: Array<() => void> = [];

  constructor(readonly options: AntiEntropyOptions) {}

  isSynced(): boolean {
    return this.#synced;
  }

  whenSynced(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  markSynced(): void {
    if (this.#synced) return;
    this.#synced = true;
    for (const resolve of this.#waiters.splice(0)) resolve();
  }

  async syncWith(peer: PeerRecord): Promise<void> {
    const { table, channel, peers, clock } = this.options;
    const reply = await channel.exchange(peer, { case: "sync", value: create(SyncDigestSchema, { owners: table.digest() }) });
    if (reply?.body.case !== "syncReply" || !this.options.running()) return;
    const { entries, owners, truncated } = reply.body;
    const { decoded } = await this.options.ingest(entries, peer.peer.name, true);
    if (!this.options.running()) return;
    // What the replier holds, per key, for the owners it sent completely.
    const theirVersions = new Map<EndpointKey, number>();
    const covered = new Set<string>();
    let lastOwner: string | undefined;
    for (const entry of decoded) {
      theirVersions.set(entry.key, entry.record.version);
      covered.add(entry.record.owner);
      lastOwner = entry.record.owner;
    }
    if (truncated && lastOwner !== undefined) covered.delete(lastOwner);
    const theirSummaries = new Map(owners.map((d) => [d.owner, fromOwnerDigest(d)]));
    for (const owner of table.owners()) {
      if (owner === peer.peer.name) continue;
      const theirs = theirSummaries.get(owner);
      if (sameSummary(table.summary(owner), theirs)) continue;
      const knowsNothing = theirs === undefined || theirs.count === 0;
      if (!knowsNothing && !covered.has(owner)) continue;
      for (const entry of table.owned(owner)!.values()) {
        const version = theirVersions.get(entry.key);
        if (version === undefined || version < entry.record.version) this.options.enqueue(peer, entry);
      }
    }
    if (!truncated) this.markSynced();
    else if (peer.followUpSyncs < MAX_FOLLOW_UP_SYNCS) {
      peer.followUpSyncs += 1;
      clock.setTimeout(() => {
        if (this.options.running() && peers.isCurrent(peer)) void this.syncWith(peer);
      }, 0);
    }
  }

  /** The reply to a peer's digest: entries of the owners whose digests differ, as many as fit. */
  reply(theirDigest: readonly OwnerDigest[]): OutgoingBody {
    const { table, config, random } = this.options;
    const theirSummaries = new Map(theirDigest.map((d) => [d.owner, fromOwnerDigest(d)]));
    const owners = [...table.owners()].filter((owner) => !sameSummary(table.summary(owner), theirSummaries.get(owner)));
    shuffle(owners, random);
    const entries: Uint8Array[] = [];
    let bytes = 0;
    let truncated = false;
    outer: for (const owner of owners) {
      for (const entry of replyOrder(table.owned(owner)!, theirSummaries.get(owner), random)) {
        if (entries.length >= config.maxEntriesPerMessage || bytes + entry.wireBytes > config.maxMessageBytes) {
          truncated = true;
          break outer;
        }
        entries.push(entry.wire);
        bytes += entry.wireBytes;
      }
    }
    return { case: "syncReply", entries, owners: table.digest(), truncated };
  }
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
