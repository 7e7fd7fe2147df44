// Observe, diff, apply, report. Runs are serialized; states handed in while a run is under way
// coalesce into one follow-up run with the latest of them.
import { isIPv4Address, isMacAddress } from "./address-format.js";
import { validateDesiredState, type DesiredState } from "./desired-state.js";
import { emptyApplyResult, emptyPlan, isEmptyPlan, type FdbEntry, type Kernel, type KernelPlan, type NeighbourEntry } from "./kernel.js";
import { vniOfVxlan } from "./link-names.js";
import { diffKernelState } from "./kernel-diff.js";
import type { ReconcileReport } from "./reconcile-report.js";

export interface ReconcilerOptions {
  log?: (line: string) => void;
}

interface PendingRun {
  desired: DesiredState;
  promise: Promise<ReconcileReport>;
  resolve: (report: ReconcileReport) => void;
  reject: (error: unknown) => void;
}

export class Reconciler {
  private readonly log: (line: string) => void;
  // Guarded by the single-threaded event loop: `running` is set while a run is in flight;
  // `pending` collects every call made meanwhile, and only its latest desired state is used.
  private running = false;
  private pending: PendingRun | undefined;
  private idle: Promise<void> = Promise.resolve();

  constructor(
    private readonly kernel: Kernel,
    options: ReconcilerOptions = {},
  ) {
    this.log = options.log ?? (() => {});
  }

  /**
   * Makes the kernel match `desired`. Rejects (having changed nothing) when `desired` is invalid;
   * failures of single kernel objects are listed in the report's errors instead.
   */
  reconcile(desired: DesiredState): Promise<ReconcileReport> {
    try {
      validateDesiredState(desired);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.pending !== undefined) {
      this.pending.desired = desired;
      return this.pending.promise;
    }
    let resolve!: (report: ReconcileReport) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<ReconcileReport>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.pending = { desired, promise, resolve, reject };
    if (!this.running) void this.drain();
    return promise;
  }

  /**
   * Adds and removes FDB and neighbour entries on existing VXLAN devices without observing the kernel:
   * the fast path for changes worked out elsewhere. Entries that are not well-formed, or not on a
   * weft VXLAN device, are reported as errors and left out. Runs after any reconcile in flight.
   */
  async applyEntryChanges(changes: Pick<KernelPlan, "fdbAdd" | "fdbRemove" | "neighboursAdd" | "neighboursRemove">): Promise<ReconcileReport> {
    while (this.running) await this.idle;
    const started = performance.now();
    const plan = emptyPlan();
    const errors: ReconcileReport["errors"] = [];
    const keepFdb = (list: FdbEntry[], into: FdbEntry[]): void => {
      for (const e of list) {
        const problem = entryProblem(e.device, isMacAddress(e.mac) && isIPv4Address(e.dst));
        if (problem === undefined) into.push(e);
        else errors.push({ object: `fdb ${e.mac} dst ${e.dst} dev ${e.device}`, message: problem });
      }
    };
    const keepNeighbours = (list: NeighbourEntry[], into: NeighbourEntry[]): void => {
      for (const e of list) {
        const problem = entryProblem(e.device, isIPv4Address(e.ip) && isMacAddress(e.mac));
        if (problem === undefined) into.push(e);
        else errors.push({ object: `neighbour ${e.ip} lladdr ${e.mac} dev ${e.device}`, message: problem });
      }
    };
    keepFdb(changes.fdbRemove, plan.fdbRemove);
    keepFdb(changes.fdbAdd, plan.fdbAdd);
    keepNeighbours(changes.neighboursRemove, plan.neighboursRemove);
    keepNeighbours(changes.neighboursAdd, plan.neighboursAdd);
    if (isEmptyPlan(plan)) return { ...emptyApplyResult(), errors, durationMs: performance.now() - started };
    const release = this.hold();
    try {
      const result = await this.kernel.apply(plan);
      return { ...result, errors: [...errors, ...result.errors], durationMs: performance.now() - started };
    } finally {
      release();
      if (this.pending !== undefined) void this.drain();
    }
  }

  /** Marks a run as under way until the returned function is called; `idle` resolves then. */
  private hold(): () => void {
    this.running = true;
    let resolve!: () => void;
    this.idle = new Promise((r) => (resolve = r));
    return () => {
      this.running = false;
      resolve();
    };
  }

  private async drain(): Promise<void> {
    const release = this.hold();
    try {
      while (this.pending !== undefined) {
        const run = this.pending;
        this.pending = undefined;
        try {
          run.resolve(await this.runOnce(run.desired));
        } catch (error) {
          run.reject(error);
        }
      }
    } finally {
      release();
    }
  }

  private async runOnce(desired: DesiredState): Promise<ReconcileReport> {
    const started = performance.now();
    let observed;
    try {
      observed = await this.kernel.observe();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.log(`reconcile: observing the kernel failed: ${message}`);
      return {
        ...emptyApplyResult(),
        errors: [{ object: "kernel", message: `observe: ${message}` }],
        durationMs: performance.now() - started,
      };
    }
    const plan = diffKernelState(observed, desired);
    if (isEmptyPlan(plan)) return { ...emptyApplyResult(), durationMs: performance.now() - started };
    const result = await this.kernel.apply(plan);
    const report: ReconcileReport = { ...result, durationMs: performance.now() - started };
    this.log(
      `reconcile: links +${report.linksCreated}/-${report.linksDeleted} (${plan.links.length} actions), ` +
        `fdb +${report.fdbAdded}/-${report.fdbRemoved}, neighbours +${report.neighboursAdded}/-${report.neighboursRemoved}, ` +
        `${report.errors.length} errors, ${report.durationMs.toFixed(1)} ms`,
    );
    for (const error of report.errors) {
      this.log(`reconcile: ${error.object}${error.endpointId ? ` (endpoint ${error.endpointId})` : ""}: ${error.message}`);
    }
    return report;
  }
}

function entryProblem(device: string, wellFormed: boolean): string | undefined {
  if (vniOfVxlan(device) === undefined) return `${device} is not a weft VXLAN device`;
  return wellFormed ? undefined : "not a well-formed address";
}
