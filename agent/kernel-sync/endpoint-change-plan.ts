// The fast path between gossip and the kernel: a batch of endpoint changes becomes the FDB and
// neighbour entries to add and remove, without observing the kernel or rebuilding the whole desired
// state (at 50,000 remote endpoints a full reconcile lists and diffs everything for one change).
// Pure. The full reconcile stays the source of truth: it runs at start, on local and network
// changes, every resync interval, and after any incremental run that reported errors.
import type { EndpointChange, EndpointRecord } from "../../controlplane/gossip/index.js";
import { emptyPlan, vxlanName, type FdbEntry, type KernelPlan, type NeighbourEntry } from "../../dataplane/index.js";
import { remoteEntryProblem } from "../desired-state/index.js";

/** One endpoint's change since the kernel was last brought up to date: the state then, and now. */
export type PendingEndpointChange = EndpointChange;

export interface EndpointChangeContext {
  node: string;
  underlayIp: string;
  /** Networks the last full reconcile programmed (those with local endpoints), by name: their VNI. */
  programmedVnis: ReadonlyMap<string, number>;
  /**
   * Every live endpoint now. Read only when something is to be removed: an address can pass from one
   * endpoint to another (a container detached and another attached with the same IP and MAC), and
   * the newcomer's entries may have arrived in an earlier batch than the old one's removal.
   */
  current: () => Iterable<EndpointRecord>;
}

interface RemoteEntries {
  fdb: FdbEntry;
  neighbour: NeighbourEntry;
}

/**
 * What the kernel must change for these endpoint changes, as buildOverlayPart and the full diff
 * would see it: remote live endpoints of programmed networks, never pointing at this node.
 */
export function planEndpointChanges(changes: Iterable<PendingEndpointChange>, context: EndpointChangeContext): KernelPlan {
  const plan = emptyPlan();
  for (const change of changes) {
    const before = change.previous && remoteEntries(change.previous, context);
    const after = change.next && remoteEntries(change.next, context);
    if (before !== undefined && !sameFdb(before.fdb, after?.fdb)) plan.fdbRemove.push(before.fdb);
    if (before !== undefined && (after === undefined || after.neighbour.device !== before.neighbour.device || after.neighbour.ip !== before.neighbour.ip)) {
      plan.neighboursRemove.push(before.neighbour);
    }
    if (after !== undefined && !sameFdb(after.fdb, before?.fdb)) plan.fdbAdd.push(after.fdb);
    if (after !== undefined && !sameNeighbour(after.neighbour, before?.neighbour)) plan.neighboursAdd.push(after.neighbour);
  }
  if (plan.fdbRemove.length > 0 || plan.neighboursRemove.length > 0) keepWhatOthersStillNeed(plan, context);
  return plan;
}

function keepWhatOthersStillNeed(plan: KernelPlan, context: EndpointChangeContext): void {
  const fdbKey = (e: FdbEntry): string => `${e.device}|${e.mac}|${e.dst}`;
  const neighbourKey = (e: NeighbourEntry): string => `${e.device}|${e.ip}`;
  const removingFdb = new Set(plan.fdbRemove.map(fdbKey));
  const removingNeighbours = new Set(plan.neighboursRemove.map(neighbourKey));
  const neededFdb = new Set<string>();
  const neededNeighbours = new Set<string>();
  for (const record of context.current()) {
    const wanted = remoteEntries(record, context);
    if (wanted === undefined) continue;
    const f = fdbKey(wanted.fdb);
    if (removingFdb.has(f)) neededFdb.add(f);
    const n = neighbourKey(wanted.neighbour);
    if (removingNeighbours.has(n)) neededNeighbours.add(n);
  }
  plan.fdbRemove = plan.fdbRemove.filter((e) => !neededFdb.has(fdbKey(e)));
  plan.neighboursRemove = plan.neighboursRemove.filter((e) => !neededNeighbours.has(neighbourKey(e)));
}

function remoteEntries(record: EndpointRecord, context: EndpointChangeContext): RemoteEntries | undefined {
  // Entries the full build would skip (malformed, or pointing at this host) are skipped here too.
  if (record.tombstone || record.owner === context.node || remoteEntryProblem(record, context.underlayIp) !== undefined) return undefined;
  const vni = context.programmedVnis.get(record.network);
  if (vni === undefined) return undefined;
  const device = vxlanName(vni);
  return {
    fdb: { device, mac: record.mac, dst: record.vtep },
    neighbour: { device, ip: record.ip, mac: record.mac },
  };
}

function sameFdb(a: FdbEntry, b: FdbEntry | undefined): boolean {
  return b !== undefined && a.device === b.device && a.mac === b.mac && a.dst === b.dst;
}

function sameNeighbour(a: NeighbourEntry, b: NeighbourEntry | undefined): boolean {
  return b !== undefined && a.device === b.device && a.ip === b.ip && a.mac === b.mac;
}
