// One feature's share of the desired state, as the reconciler sees it: from the observed kernel and the
// whole desired state, the plan for that feature's objects and what it left out. Each feature (overlay
// now; egress, services, DNS next) brings its own part; the reconciler runs them in a fixed order.
import type { DesiredState } from "./desired-state.js";
import type { KernelPlan, ObservedState } from "./kernel.js";
import type { ReconcileOptions, SkippedEntry } from "./reconcile-report.js";

export interface PartPlan {
  plan: KernelPlan;
  skipped: SkippedEntry[];
  orphanVeths: string[];
}

export interface DesiredPart {
  readonly name: string;
  /** Pure. Invalid entries are skipped one by one, never the whole part. */
  plan(observed: ObservedState, desired: DesiredState, options: ReconcileOptions): PartPlan;
}
