import type { ApplyResult, ReconcileError } from "./kernel.js";

export type { ReconcileError };

/** An entry of the desired state left out because it is invalid; the rest was applied. */
export interface SkippedEntry {
  object: string;
  endpointId?: string;
  reason: string;
}

/** What one reconcile run did: the kernel's ApplyResult, what was left out, and how long it took. */
export interface ReconcileReport extends ApplyResult {
  skipped: SkippedEntry[];
  /** weft veths not in the desired state that were left in place (not owned, or prune was off). */
  orphanVeths: string[];
  /** Whether this run wrote weft's nftables table (it changed, or drift removed it). Set by every run. */
  firewallApplied?: boolean;
  durationMs: number;
}

export interface ReconcileOptions {
  /** false: add and repair only; nothing the desired state does not name is removed. Default true. */
  prune?: boolean;
  /** Whether a weft veth not in the desired state may be removed. Default: every weft veth. */
  ownsVeth?: (hostIfName: string) => boolean;
}
