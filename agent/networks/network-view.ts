// The networks this agent programs: etcd's, plus networks that disappeared from etcd recently or are
// still used by local endpoints. A network key can vanish for reasons that are not a removal (a
// mistyped --etcd-prefix, a restore from an old backup, a removal from a node with a partial view):
// tearing down every bridge, VXLAN device and veth on every host at once would turn such a mistake
// into an outage. So a vanished network stays for NETWORK_GRACE_MS, and for as long as local
// endpoints use it. A removal through this agent's own API (which refuses while endpoints exist
// anywhere) ends the grace at once.
import type { NetworkRecord } from "../../controlplane/registry/index.js";
import { printable } from "../../proto/values/index.js";

/** How long a network gone from etcd is still programmed (when no local endpoint uses it). */
export const NETWORK_GRACE_MS = 60_000;

export interface NetworkViewOptions {
  current: () => ReadonlyMap<string, NetworkRecord>;
  /** Number of local endpoints in that network. */
  localEndpoints: (network: string) => number;
  log: (level: "info" | "warn", line: string) => void;
  /** Called when a kept network's grace ends, so the kernel can follow. */
  onExpiry: () => void;
  now?: () => number;
  graceMs?: number;
}

interface Vanished {
  record: NetworkRecord;
  goneAtMs: number;
  loggedInUse: boolean;
}

export class NetworkView {
  private readonly known = new Map<string, NetworkRecord>();
  private readonly vanished = new Map<string, Vanished>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly now: () => number;
  private readonly graceMs: number;

  constructor(private readonly options: NetworkViewOptions) {
    this.now = options.now ?? Date.now;
    this.graceMs = options.graceMs ?? NETWORK_GRACE_MS;
  }

  /** etcd's networks plus the ones kept (see the file comment). */
  networks(): ReadonlyMap<string, NetworkRecord> {
    const current = this.options.current();
    const now = this.now();
    for (const [name, record] of current) {
      this.known.set(name, record);
      this.vanished.delete(name);
    }
    for (const [name, record] of this.known) {
      if (current.has(name) || this.vanished.has(name)) continue;
      this.vanished.set(name, { record, goneAtMs: now, loggedInUse: false });
      this.options.log("warn", `network ${printable(name)} is gone from etcd; keeping it programmed for ${this.graceMs / 1000} s (and while local endpoints use it)`);
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.options.onExpiry();
      }, this.graceMs + 100);
      timer.unref();
      this.timers.add(timer);
    }
    if (this.vanished.size === 0) return current;
    const view = new Map(current);
    for (const [name, gone] of this.vanished) {
      const users = this.options.localEndpoints(name);
      if (users > 0) {
        if (!gone.loggedInUse) this.options.log("warn", `network ${printable(name)} is gone from etcd but ${users} local endpoint(s) use it: kept until they detach`);
        gone.loggedInUse = true;
        view.set(name, gone.record);
      } else if (now - gone.goneAtMs < this.graceMs) {
        view.set(name, gone.record);
      } else {
        this.options.log("info", `network ${printable(name)}: grace period over; removing it from this host`);
        this.vanished.delete(name);
        this.known.delete(name);
      }
    }
    return view;
  }

  get(name: string): NetworkRecord | undefined {
    return this.networks().get(name);
  }

  /** Asked for every gossip entry received: answers from etcd's map without building the view when it can. */
  has(name: string): boolean {
    if (this.vanished.size === 0 && this.options.current().has(name)) return true;
    return this.networks().has(name);
  }

  /** The network was removed through weft itself: no grace. */
  forget(name: string): void {
    this.known.delete(name);
    this.vanished.delete(name);
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
