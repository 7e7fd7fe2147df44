// The kernel-sync loop on a fake reconciler: full runs only add and repair (prune=false) until
// gossip has synced or the start-up bound has passed; it alone coalesces requests; it passes ownsVeth.
import { describe, expect, it } from "vitest";
import { KernelSyncLoop, type FullRunInput } from "../../../agent/kernel-sync/kernel-sync-loop.js";
import { PruneGate } from "../../../agent/kernel-sync/prune-gate.js";
import type { ReconcileOptions } from "../../../dataplane/index.js";
import type { Reconciler } from "../../../dataplane/index.js";

const emptyReport = { linksCreated: 0, linksDeleted: 0, fdbAdded: 0, fdbRemoved: 0, neighboursAdded: 0, neighboursRemoved: 0, errors: [], durationMs: 0 };

function fakeReconciler(): { reconciler: Reconciler; calls: Array<ReconcileOptions | undefined> } {
  const calls: Array<ReconcileOptions | undefined> = [];
  const reconciler = {
    reconcile: async (_desired: unknown, options?: ReconcileOptions) => {
      calls.push(options);
      await new Promise((r) => setTimeout(r, 5));
      return { ...emptyReport };
    },
    applyEntryChanges: async () => ({ ...emptyReport }),
  } as unknown as Reconciler;
  return { reconciler, calls };
}

const input = (): FullRunInput => ({ desired: { underlay: { ip: "10.0.0.1", mtu: 1500 }, overlay: { networks: [] } }, programmedVnis: new Map(), remoteEndpoints: 0 });

function loop(reconciler: Reconciler, gate: PruneGate, ownsVeth = (_: string) => false): KernelSyncLoop {
  return new KernelSyncLoop({
    node: "h1",
    underlayIp: "10.0.0.1",
    reconciler,
    buildDesired: input,
    entries: () => [],
    pruneGate: gate,
    ownsVeth,
    onReport: () => undefined,
    onFailure: () => undefined,
    log: () => undefined,
    resyncIntervalMs: 60_000,
  });
}

describe("PruneGate", () => {
  it("stays closed until gossip syncs or the bound passes, then stays open", () => {
    let now = 0;
    let synced = false;
    const gate = new PruneGate(() => synced, 0, () => now, 10_000);
    expect(gate.check()).toEqual({ prune: false });
    now = 9_999;
    expect(gate.check()).toEqual({ prune: false });
    synced = true;
    expect(gate.check()).toEqual({ prune: true, opened: "synced" });
    synced = false;
    expect(gate.check()).toEqual({ prune: true });

    const timed = new PruneGate(() => false, 0, () => now, 10_000);
    now = 10_000;
    expect(timed.check()).toEqual({ prune: true, opened: "timeout" });
  });
});

describe("KernelSyncLoop", () => {
  it("runs full reconciles with prune=false before gossip has synced and prune=true after", async () => {
    const { reconciler, calls } = fakeReconciler();
    let synced = false;
    const sync = loop(reconciler, new PruneGate(() => synced, Date.now()));
    await sync.requestFull();
    synced = true;
    await sync.requestFull();
    sync.stop();
    expect(calls.map((c) => c?.prune)).toEqual([false, true]);
  });

  it("runs a pruning full reconcile by itself once the gate opens, so what was left behind goes", async () => {
    const { reconciler, calls } = fakeReconciler();
    let synced = false;
    const sync = loop(reconciler, new PruneGate(() => synced, Date.now()));
    await sync.requestFull();
    synced = true;
    await expect.poll(() => calls.map((c) => c?.prune)).toEqual([false, true]);
    sync.stop();
  });

  it("coalesces requests made while a run is in flight into one run", async () => {
    const { reconciler, calls } = fakeReconciler();
    const sync = loop(reconciler, new PruneGate(() => true, 0));
    await Promise.all([sync.requestFull(), sync.requestFull(), sync.requestFull(), sync.requestFull()]);
    expect(calls.length).toBeLessThanOrEqual(2);
  });

  it("lets the reconciler remove only the veths the agent owns", async () => {
    const { reconciler, calls } = fakeReconciler();
    const owned = new Set(["weft0123456789a"]);
    const sync = loop(reconciler, new PruneGate(() => true, 0), (name) => owned.has(name));
    await sync.requestFull();
    expect(calls[0]?.ownsVeth?.("weft0123456789a")).toBe(true);
    expect(calls[0]?.ownsVeth?.("weftfedcba98765")).toBe(false);
  });
});
