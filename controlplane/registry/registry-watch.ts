// The registry's cache over etcd (flannel's pkg/subnet/etcd idiom): filled by one prefix listing,
// kept current by one prefix watch from the listing's revision + 1; when the watch ends (compaction,
// a lost stream) list again, emit the differences, and watch from there.
import type { IKeyValue, Watcher } from "etcd3";
import { errorText } from "../../proto/values/index.js";
import { retry } from "../retryable.js";
import { prefixRange, type EtcdRequests } from "./etcd-requests.js";
import { classifyKey, type ParsedKey } from "./keys.js";
import type { RegistryEvent } from "./registry.js";
import { SnapshotCache, type RegistryListing } from "./snapshot-cache.js";

export interface RegistryWatchEvents {
  emit(event: RegistryEvent | undefined): void;
  connected(connected: boolean): void;
}

export class RegistryWatch {
  readonly cache = new SnapshotCache();
  private readonly startedAt = Date.now();
  /** When each node's record was seen deleted (for reclaiming slices). */
  private readonly goneSince = new Map<string, number>();
  private watcher: Watcher | undefined;
  private readonly closing = new AbortController();

  constructor(
    private readonly etcd: EtcdRequests,
    private readonly events: RegistryWatchEvents,
  ) {}

  /** When `node` was first seen absent: when its record went, or when this registry started. */
  absentSince(node: string): number {
    return this.goneSince.get(node) ?? this.startedAt;
  }

  async start(): Promise<void> {
    const revision = await this.relist();
    this.events.connected(true);
    await this.watchFrom(revision + 1);
  }

  async close(): Promise<void> {
    this.closing.abort(new Error("the registry is closed"));
    const watcher = this.watcher;
    this.watcher = undefined;
    // Cancelling waits for etcd to confirm; do not let an unreachable etcd hold up shutdown.
    if (watcher) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([watcher.cancel().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, 1000)))]);
      clearTimeout(timer);
    }
  }

  /** Lists everything under the prefix into the cache (emitting the differences); returns the revision. */
  private async relist(): Promise<number> {
    const listing = await this.etcd.call(() => this.etcd.client.kv.range(prefixRange(this.etcd.keys.prefix)));
    const next: Required<RegistryListing> & { unreadable: ParsedKey[] } = { nodes: [], networks: [], subnets: [], services: [], unreadable: [] };
    for (const kv of listing.kvs) {
      const read = this.etcd.values.read(kv.key.toString("utf8"), kv.value, kv.mod_revision);
      if (read === undefined) continue;
      if (read.value === undefined) next.unreadable.push(read.key);
      else if (read.value.kind === "node") next.nodes.push(read.value.record);
      else if (read.value.kind === "network") next.networks.push(read.value.record);
      else if (read.value.kind === "service") next.services.push(read.value.record);
      else next.subnets.push(read.value.record);
    }
    for (const event of this.cache.replaceWith(next)) {
      if (event.kind === "node" && event.type === "delete") this.goneSince.set(event.name, Date.now());
      this.events.emit(event);
    }
    return Number(listing.header.revision);
  }

  private async watchFrom(revision: number): Promise<void> {
    const watcher = this.etcd.client.watch().prefix(this.etcd.keys.prefix).startRevision(String(revision)).watcher();
    this.watcher = watcher;
    const connected = new Promise<void>((resolve, reject) => {
      watcher.once("connected", () => resolve());
      watcher.once("error", reject);
    });
    watcher.on("connected", () => this.events.connected(true));
    watcher.on("disconnected", (err) => {
      this.etcd.log(`lost the etcd watch (${errorText(err)}); reconnecting`);
      this.events.connected(false);
    });
    watcher.on("put", (kv) => this.applyPut(kv));
    watcher.on("delete", (kv) => this.applyDelete(kv));
    watcher.on("error", (err) => {
      if (this.watcher !== watcher || this.closing.signal.aborted) return;
      this.watcher = undefined;
      void watcher.cancel().catch(() => undefined);
      const compacted = /compact/i.test(err.message);
      this.etcd.log(`watch ended (${err.message}); ${compacted ? "history compacted, " : ""}re-listing`);
      void this.rewatch();
    });
    await connected.catch((err: unknown) => {
      // The error handler above schedules a re-list; start() must not fail for it.
      this.etcd.log(`watch failed to start (${errorText(err)})`);
    });
  }

  /** After a cancelled watch: list again (until etcd answers), emit the differences, watch from there. */
  private async rewatch(): Promise<void> {
    await retry(
      async () => {
        const revision = await this.relist();
        if (!this.closing.signal.aborted) await this.watchFrom(revision + 1);
      },
      {
        minDelayMs: 100,
        maxDelayMs: 2000,
        signal: this.closing.signal,
        onFailure: (err) => {
          this.events.connected(false);
          this.etcd.log(`re-list failed (${errorText(err)}); retrying`);
        },
      },
    ).catch(() => undefined); // closed
  }

  /** A put holding an invalid value changes nothing: the key keeps what its last valid value said. */
  private applyPut(kv: IKeyValue): void {
    const read = this.etcd.values.read(kv.key.toString("utf8"), kv.value, kv.mod_revision);
    if (read?.value === undefined) return;
    if (read.key.kind === "node") this.goneSince.delete(read.key.name);
    this.events.emit(this.cache.put(read.value));
  }

  private applyDelete(kv: IKeyValue): void {
    const key = kv.key.toString("utf8");
    this.etcd.values.forget(key);
    const parsed = classifyKey(this.etcd.keys, key);
    if (!parsed) return;
    if (parsed.kind === "node") this.goneSince.set(parsed.name, Date.now());
    this.events.emit(this.cache.delete(parsed));
  }
}
