import type { ApplyResult } from "./kernel.js";

export interface ReconcileError {
  /** The kernel object concerned, e.g. "link weft-vx42" or "fdb 02:..:01 dev weft-vx42 dst 10.0.0.2". */
  object: string;
  endpointId?: string;
  message: string;
  /** "namespace-changed": the endpoint's namespace is gone or is another one now; nothing was made there. */
  code?: string;
}

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
  durationMs: number;
}

export interface ReconcileOptions {
  /** false: add and repair only; nothing the desired state does not name is removed. Default true. */
  prune?: boolean;
  /** Whether a weft veth not in the desired state may be removed. Default: every weft veth. */
  ownsVeth?: (hostIfName: string) => boolean;
}
