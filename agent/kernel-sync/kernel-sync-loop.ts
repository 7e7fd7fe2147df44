// The kernel-sync loop: the ONLY scheduler of reconciles (the dataplane's Reconciler runs what it is
// given and never queues). Two kinds of run:
// - full: build the whole desired state, observe and diff the kernel, apply; at start, on local
//   endpoint and network changes, every resync interval, and after a failed incremental run;
// - incremental: the FDB and neighbour entries gossip changed, without observing the kernel.
// Requests made while a run is in flight share the next run (one coalescing layer), so a burst of
// changes costs one run, and a caller always gets a run that started after its call.
import type { EndpointChange, EndpointRecord } from "../../controlplane/gossip/index.js";
import { endpointKey } from "../../controlplane/gossip/index.js";
import type { KernelPlan, Reconciler } from "../../dataplane/index.js";
import { errorText } from "../../proto/values/index.js";
import type { DesiredState, ReconcileReport } from "../../dataplane/index.js";
import { planEndpointChanges } from "./endpoint-change-plan.js";
import type { PruneGate } from "./prune-gate.js";

export type RunKind = "full" | "incremental";

/** What a full run needs from the rest of the agent, read at the moment it starts. */
export interface FullRunInput {
  desired: DesiredState;
  /** Networks the desired state programs: name -> VNI. */
  programmedVnis: Map<string, number>;
  remoteEndpoints: number;
}

export interface KernelSyncOptions {
  node: string;
  underlayIp: string;
  reconciler: Reconciler;
  buildDesired: () => FullRunInput;
  entries: () => Iterable<EndpointRecord>;
  pruneGate: PruneGate;
  /** Which weft veths this agent may remove (see C2's ownsVeth). */
  ownsVeth: (hostIfName: string) => boolean;
  /** Every finished run, with the number of remote endpoints programmed after it. */
  onReport: (report: ReconcileReport, kind: RunKind, remoteProgrammed: number) => void | Promise<void>;
  onFailure: (err: unknown, kind: RunKind) => void;
  log: (level: "debug" | "info" | "warn" | "error", line: string) => void;
  resyncIntervalMs: number;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

export class KernelSyncLoop {
  private pendingRun: Deferred<ReconcileReport> | undefined;
  private currentRun: Promise<ReconcileReport> | undefined;
  private fullRunWanted = false;
  private pendingChanges = new Map<string, EndpointChange>();
  // What the last full run programmed, which the incremental runs build on.
  private programmedVnis = new Map<string, number>();
  private remoteProgrammed = 0;
  private draining = false;
  private stopped = false;
  private resyncTimer: NodeJS.Timeout | undefined;
  // While full runs may not prune, watches the gate, so that what they left behind goes once it opens.
  private gateWatch: NodeJS.Timeout | undefined;
  lastRunAtMs = 0;

  constructor(private readonly options: KernelSyncOptions) {}

  /** Starts the periodic repair; the first full run is the caller's (it wants its report). */
  start(): void {
    this.resyncTimer = setInterval(() => void this.requestFull().catch(() => undefined), this.options.resyncIntervalMs);
    this.resyncTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    if (this.gateWatch) clearInterval(this.gateWatch);
  }

  /** A full run that starts after this call. */
  requestFull(): Promise<ReconcileReport> {
    this.fullRunWanted = true;
    return this.schedule();
  }

  /** Notes one gossip change; an incremental run applies it (with whatever else came meanwhile). */
  noteChange(change: EndpointChange): void {
    const record = change.next ?? change.previous;
    if (record === undefined) return;
    const key = endpointKey(record);
    const held = this.pendingChanges.get(key);
    // Keep what the kernel was last brought to (the first previous) and the latest next.
    if (held === undefined) this.pendingChanges.set(key, { ...(change.previous ? { previous: change.previous } : {}), ...(change.next ? { next: change.next } : {}) });
    else if (change.next) held.next = change.next;
    else delete held.next;
    void this.schedule().catch(() => undefined);
  }

  /** Resolves once the kernel reflects every gossip change seen so far. */
  caughtUp(): Promise<unknown> {
    if (this.pendingRun) return this.pendingRun.promise;
    return this.currentRun ?? Promise.resolve();
  }

  get remoteEndpointsProgrammed(): number {
    return this.remoteProgrammed;
  }

  private schedule(): Promise<ReconcileReport> {
    if (this.stopped) return Promise.reject(new Error("the agent is stopping"));
    if (!this.pendingRun) {
      this.pendingRun = deferred<ReconcileReport>();
      if (!this.draining) setImmediate(() => void this.drain());
    }
    return this.pendingRun.promise;
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      let previousMs = 0;
      while (this.pendingRun && !this.stopped) {
        // Under a burst of changes, rest as long as the last run took before the next one: reconciling
        // then uses at most half the event loop, and gossip keeps answering its peers in time.
        if (previousMs > 5) await new Promise((r) => setTimeout(r, Math.min(previousMs, 1000)));
        const run = this.pendingRun;
        this.pendingRun = undefined;
        this.currentRun = run.promise;
        const kind: RunKind = this.fullRunWanted || this.programmedVnis.size === 0 ? "full" : "incremental";
        this.fullRunWanted = false;
        // A full run reads the whole table, which already holds every change noted so far.
        const changes = this.pendingChanges;
        this.pendingChanges = new Map();
        const started = performance.now();
        try {
          const report = kind === "full" ? await this.runFull() : await this.runIncremental(changes.values());
          this.lastRunAtMs = Date.now();
          await this.options.onReport(report, kind, this.remoteProgrammed);
          // What an incremental run could not do, a full one repairs.
          if (kind === "incremental" && report.errors.length > 0) void this.requestFull().catch(() => undefined);
          run.resolve(report);
        } catch (err) {
          this.options.onFailure(err, kind);
          this.options.log("error", `reconcile (${kind}) failed: ${errorText(err)}`);
          if (kind === "incremental") this.fullRunWanted = true;
          run.reject(err);
        }
        this.currentRun = undefined;
        previousMs = performance.now() - started;
      }
    } finally {
      this.draining = false;
    }
  }

  private async runFull(): Promise<ReconcileReport> {
    const input = this.options.buildDesired();
    const gate = this.checkGate();
    if (!gate.prune) this.watchGate();
    const report = await this.options.reconciler.reconcile(input.desired, { prune: gate.prune, ...(this.options.ownsVeth ? { ownsVeth: this.options.ownsVeth } : {}) });
    this.programmedVnis = input.programmedVnis;
    this.remoteProgrammed = input.remoteEndpoints;
    return report;
  }

  private checkGate(): { prune: boolean } {
    const gate = this.options.pruneGate.check();
    if (gate.opened) {
      this.options.log("info", `full reconciles prune again: ${gate.opened === "synced" ? "gossip has synced with a peer" : "no gossip sync within the start-up bound"}`);
    }
    return gate;
  }

  private watchGate(): void {
    if (this.gateWatch) return;
    this.gateWatch = setInterval(() => {
      if (!this.checkGate().prune) return;
      clearInterval(this.gateWatch);
      this.gateWatch = undefined;
      void this.requestFull().catch(() => undefined);
    }, 250);
    this.gateWatch.unref();
  }

  private async runIncremental(changes: Iterable<EndpointChange>): Promise<ReconcileReport> {
    const plan: KernelPlan = planEndpointChanges(changes, {
      node: this.options.node,
      underlayIp: this.options.underlayIp,
      programmedVnis: this.programmedVnis,
      current: this.options.entries,
    });
    const report = await this.options.reconciler.applyEntryChanges(plan);
    this.remoteProgrammed += report.fdbAdded - report.fdbRemoved;
    return report;
  }
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
