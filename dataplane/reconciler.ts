// Observe, diff, apply, report. The caller schedules runs (the agent's kernel-sync loop) and never
// starts one while another is under way; a call that does is refused rather than interleaved.
import { WeftError, errorText, isIPv4, isMac, printable } from "../proto/values/index.js";
import type { DesiredPart } from "./desired-part.js";
import { underlayProblem, type DesiredState } from "./desired-state.js";
import { emptyApplyResult, emptyPlan, isEmptyPlan, type ApplyResult, type FdbEntry, type Kernel, type KernelPlan, type NeighbourEntry } from "./kernel.js";
import { egressPart } from "./egress/egress-part.js";
import { vniOfVxlan } from "./link-names.js";
import type { Firewall } from "./nftables/nftables-firewall.js";
import { firewallTable } from "./nftables/render-firewall.js";
import type { NftTable } from "./nftables/nft-table.js";
import { meshPart } from "./mesh/mesh-part.js";
import { overlayPart } from "./overlay/overlay-part.js";
import type { ReconcileOptions, ReconcileReport, SkippedEntry } from "./reconcile-report.js";

export interface ReconcilerOptions {
  log?: (line: string) => void;
  /** Writes the desired state's firewall part (NftablesFirewall); without it that part is ignored. */
  firewall?: Firewall;
  /**
   * How often, at most, a full run lists weft's table to find drift (a foreign flush): listing costs a
   * child process, and a burst of attaches need not pay it each time. 0: every run. Default 10 s.
   */
  firewallCheckIntervalMs?: number;
}

/** The parts of the desired state, in the order they are applied. */
const PARTS: readonly DesiredPart[] = [overlayPart, egressPart, meshPart];

export type EntryChanges = Pick<KernelPlan, "fdbAdd" | "fdbRemove" | "neighboursAdd" | "neighboursRemove">;

export class Reconciler {
  private readonly log: (line: string) => void;
  private readonly firewall: Firewall | undefined;
  private readonly firewallCheckIntervalMs: number;
  private lastFirewallCheckMs = -Infinity;
  private running = false;

  constructor(
    private readonly kernel: Kernel,
    options: ReconcilerOptions = {},
  ) {
    this.log = options.log ?? (() => {});
    this.firewall = options.firewall;
    this.firewallCheckIntervalMs = options.firewallCheckIntervalMs ?? 10_000;
  }

  /**
   * Makes the kernel match `desired`. Never rejects for bad input: invalid entries are left out and
   * listed in `skipped` (an invalid underlay leaves the kernel untouched), and failures of single
   * kernel objects are listed in `errors`.
   */
  async reconcile(desired: DesiredState, options: ReconcileOptions = {}): Promise<ReconcileReport> {
    return this.exclusive(async () => {
      const started = performance.now();
      const report: ReconcileReport = { ...emptyApplyResult(), skipped: [], orphanVeths: [], firewallApplied: false, durationMs: 0 };
      const finish = (): ReconcileReport => {
        report.durationMs = performance.now() - started;
        return report;
      };
      const problem = underlayProblem(desired?.underlay);
      if (problem !== undefined) {
        report.skipped.push({ object: "underlay", reason: problem });
        this.log(`reconcile: nothing done, the underlay is invalid: ${problem}`);
        return finish();
      }
      // Looking for drift in weft's table runs alongside the netlink work; the table is written after it.
      const firewallObserved = this.observeFirewall(desired);
      let observed;
      try {
        observed = await this.kernel.observe();
      } catch (error) {
        this.log(`reconcile: observing the kernel failed: ${errorText(error)}`);
        report.errors.push({ object: "kernel", message: `observe: ${errorText(error)}` });
        await firewallObserved;
        return finish();
      }
      let linkActions = 0;
      for (const part of PARTS) {
        const planned = part.plan(observed, desired, options);
        report.skipped.push(...planned.skipped);
        report.orphanVeths.push(...planned.orphanVeths);
        linkActions += planned.plan.links.length;
        if (!isEmptyPlan(planned.plan)) addResult(report, await this.kernel.apply(planned.plan));
      }
      await this.applyFirewall(desired, await firewallObserved, report);
      finish();
      this.logReport(report, linkActions);
      return report;
    });
  }

  /**
   * Adds and removes FDB and neighbour entries on existing VXLAN devices without observing the kernel:
   * the fast path for changes worked out elsewhere. Entries that are not well-formed, or not on a weft
   * VXLAN device, are left out and listed in `skipped`.
   */
  async applyEntryChanges(changes: EntryChanges): Promise<ReconcileReport> {
    return this.exclusive(async () => {
      const started = performance.now();
      const plan = emptyPlan();
      const skipped: SkippedEntry[] = [];
      const keepFdb = (list: readonly FdbEntry[], into: FdbEntry[]): void => {
        for (const e of list) {
          const reason = entryProblem(e.device, isMac(e.mac) && isIPv4(e.dst));
          if (reason === undefined) into.push(e);
          else skipped.push({ object: printable(`fdb ${String(e.mac)} dst ${String(e.dst)} dev ${String(e.device)}`), reason });
        }
      };
      const keepNeighbours = (list: readonly NeighbourEntry[], into: NeighbourEntry[]): void => {
        for (const e of list) {
          const reason = entryProblem(e.device, isIPv4(e.ip) && isMac(e.mac));
          if (reason === undefined) into.push(e);
          else skipped.push({ object: printable(`neighbour ${String(e.ip)} lladdr ${String(e.mac)} dev ${String(e.device)}`), reason });
        }
      };
      keepFdb(changes.fdbRemove, plan.fdbRemove);
      keepFdb(changes.fdbAdd, plan.fdbAdd);
      keepNeighbours(changes.neighboursRemove, plan.neighboursRemove);
      keepNeighbours(changes.neighboursAdd, plan.neighboursAdd);
      const result = isEmptyPlan(plan) ? emptyApplyResult() : await this.kernel.apply(plan);
      return { ...result, skipped, orphanVeths: [], firewallApplied: false, durationMs: performance.now() - started };
    });
  }

  /** Looks for drift: a firewall whose table is not as it last wrote it forgets that, and writes again. */
  private async observeFirewall(desired: DesiredState): Promise<Error | undefined> {
    if (this.firewall === undefined || desired.firewall === undefined) return undefined;
    const now = performance.now();
    if (now - this.lastFirewallCheckMs < this.firewallCheckIntervalMs) return undefined;
    this.lastFirewallCheckMs = now;
    return this.firewall.observeTable().then(
      () => undefined,
      (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
    );
  }

  /** After the netlink parts: the firewall part with the mesh, written only when it changed or drift removed it. */
  private async applyFirewall(desired: DesiredState, observeError: Error | undefined, report: ReconcileReport): Promise<void> {
    if (this.firewall === undefined || desired.firewall === undefined) return;
    if (observeError) report.errors.push({ object: "firewall", message: `observe: ${errorText(observeError)}` });
    let table: NftTable;
    try {
      table = firewallTable(desired.firewall, desired.mesh);
    } catch (error) {
      report.skipped.push({ object: "firewall", reason: errorText(error) });
      return;
    }
    try {
      report.firewallApplied = await this.firewall.apply(table);
    } catch (error) {
      report.errors.push({ object: "firewall", message: errorText(error) });
    }
  }

  private async exclusive(run: () => Promise<ReconcileReport>): Promise<ReconcileReport> {
    if (this.running) throw new WeftError("failed-precondition", "reconciler: a run is already under way; the caller must not overlap runs");
    this.running = true;
    try {
      return await run();
    } finally {
      this.running = false;
    }
  }

  private logReport(report: ReconcileReport, linkActions: number): void {
    this.log(
      `reconcile: links +${report.linksCreated}/-${report.linksDeleted} (${linkActions} actions), ` +
        `fdb +${report.fdbAdded}/-${report.fdbRemoved}, neighbours +${report.neighboursAdded}/-${report.neighboursRemoved}, ` +
        `${report.firewallApplied ? "firewall written, " : ""}` +
        `${report.errors.length} errors, ${report.skipped.length} skipped, ${report.orphanVeths.length} orphan veths, ${report.durationMs.toFixed(1)} ms`,
    );
    for (const error of report.errors) {
      this.log(`reconcile: ${error.object}${error.endpointId ? ` (endpoint ${error.endpointId})` : ""}: ${error.message}`);
    }
    for (const entry of report.skipped) this.log(`reconcile: skipped ${entry.object}: ${entry.reason}`);
    for (const sysctl of report.sysctlsChanged ?? []) this.log(`reconcile: set ${sysctl}`);
  }
}

function addResult(into: ApplyResult, result: ApplyResult): void {
  into.linksCreated += result.linksCreated;
  into.linksDeleted += result.linksDeleted;
  into.fdbAdded += result.fdbAdded;
  into.fdbRemoved += result.fdbRemoved;
  into.neighboursAdded += result.neighboursAdded;
  into.neighboursRemoved += result.neighboursRemoved;
  into.errors.push(...result.errors);
  if (result.sysctlsChanged !== undefined) (into.sysctlsChanged ??= []).push(...result.sysctlsChanged);
}

function entryProblem(device: string, wellFormed: boolean): string | undefined {
  if (typeof device !== "string" || vniOfVxlan(device) === undefined) return `${printable(String(device))} is not a weft VXLAN device`;
  return wellFormed ? undefined : "not a well-formed address";
}
