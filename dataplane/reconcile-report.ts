import type { ApplyResult } from "./kernel.js";

export interface ReconcileError {
  /** The kernel object concerned, e.g. "link weft-vx42" or "fdb 02:..:01 dev weft-vx42 dst 10.0.0.2". */
  object: string;
  endpointId?: string;
  message: string;
}

/** What one reconcile run did: the kernel's ApplyResult plus how long observe, diff and apply took. */
export interface ReconcileReport extends ApplyResult {
  durationMs: number;
}
