// When a full reconcile may remove things. A restarted agent's gossip table holds only its own
// entries until it has synced with a peer: pruning then would delete the FDB and neighbour entries
// of every remote endpoint and add them back a moment later (a flap). So full runs only add and
// repair until gossip has synced once, or until PRUNE_AFTER_MS have passed with no peer answering.
// Once open, the gate stays open.

/** The longest a fresh agent waits for its first gossip sync before full reconciles prune again. */
export const PRUNE_AFTER_MS = 10_000;

export class PruneGate {
  private open = false;

  constructor(
    private readonly isSynced: () => boolean,
    private readonly startedAtMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxWaitMs = PRUNE_AFTER_MS,
  ) {}

  /** True once pruning is allowed; `why` says what opened it, the first time only. */
  check(): { prune: boolean; opened?: "synced" | "timeout" } {
    if (this.open) return { prune: true };
    const synced = this.isSynced();
    if (!synced && this.now() - this.startedAtMs < this.maxWaitMs) return { prune: false };
    this.open = true;
    return { prune: true, opened: synced ? "synced" : "timeout" };
  }
}
