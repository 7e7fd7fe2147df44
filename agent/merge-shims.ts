// TEMPORARY (issue 6): the agent is written against the contracts C1-C3 between the helpers, whose
// code lands at merge. Every call into an API that does not exist yet in this tree goes through
// here. At merge the lead deletes this file and imports the real things instead:
//   DesiredState/DesiredOverlay/DesiredNetwork/DesiredLocalEndpoint, ReconcileReport -> dataplane/index.js
//   reconcileWith(r, d, o)        -> r.reconcile(d, o)
//   gossipIsSynced(g)             -> g.isSynced()
//   inspectNetworkNamespace(path) -> dataplane/index.js
import { closeSync, constants, fstatSync, openSync, statSync, statfsSync } from "node:fs";
import type { GossipNode } from "../controlplane/gossip/index.js";
import * as dataplane from "../dataplane/index.js";
import { WeftError } from "../proto/values/index.js";

/** The identity of a network namespace: the device and inode of its nsfs file. */
export interface NetnsId {
  dev: number;
  ino: number;
}

export type DesiredLocalEndpoint = dataplane.DesiredLocalEndpoint & { netnsId?: NetnsId };
export type DesiredRemoteEndpoint = dataplane.DesiredRemoteEndpoint;
export type DesiredNetwork = Omit<dataplane.DesiredNetwork, "localEndpoints"> & { localEndpoints: DesiredLocalEndpoint[] };
export interface DesiredOverlay {
  networks: DesiredNetwork[];
}
export interface DesiredState {
  underlay: { ip: string; mtu: number };
  overlay: DesiredOverlay;
}

export interface ReconcileOptions {
  prune?: boolean;
  ownsVeth?: (hostIfName: string) => boolean;
}

export interface ReconcileIssue {
  object: string;
  endpointId?: string;
  message: string;
  code?: string;
}

export type ReconcileReport = Omit<dataplane.ReconcileReport, "errors"> & {
  errors: ReconcileIssue[];
  skipped: Array<{ object: string; endpointId?: string; reason: string }>;
  orphanVeths: string[];
};

interface ContractReconciler {
  reconcile(desired: unknown, options?: ReconcileOptions): Promise<Partial<ReconcileReport> & dataplane.ReconcileReport>;
}

/** C2's reconcile(desired, options). Today's reconciler takes { underlay, networks } and ignores options. */
export async function reconcileWith(reconciler: dataplane.Reconciler, desired: DesiredState, options: ReconcileOptions): Promise<ReconcileReport> {
  const legacy = { underlay: desired.underlay, networks: desired.overlay.networks, overlay: desired.overlay };
  const report = await (reconciler as unknown as ContractReconciler).reconcile(legacy, options);
  return { ...report, skipped: report.skipped ?? [], orphanVeths: report.orphanVeths ?? [] };
}

export function withContractFields(report: dataplane.ReconcileReport): ReconcileReport {
  const r = report as Partial<ReconcileReport> & dataplane.ReconcileReport;
  return { ...r, skipped: r.skipped ?? [], orphanVeths: r.orphanVeths ?? [] };
}

/** C1's GossipNode.isSynced(); false while the gossip in this tree lacks it (the 10 s bound then applies). */
export function gossipIsSynced(gossip: GossipNode): boolean {
  const isSynced = (gossip as unknown as { isSynced?: () => boolean }).isSynced;
  return isSynced === undefined ? false : isSynced.call(gossip);
}

const NSFS_MAGIC = 0x6e736673;

/** C2's inspectNetworkNamespace, used from the dataplane when it has it; a minimal stand-in otherwise. */
export function inspectNetworkNamespace(path: string): NetnsId {
  const real = (dataplane as unknown as Record<string, unknown>)["inspectNetworkNamespace"];
  if (typeof real === "function") return (real as (p: string) => NetnsId)(path);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new WeftError("not-found", `netns: ${path} does not exist`, { field: "netns", cause: err });
    throw new WeftError("invalid-argument", `netns: cannot open ${path}: ${(err as Error).message}`, { field: "netns", cause: err });
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile() || statfsSync(path).type !== NSFS_MAGIC) {
      throw new WeftError("invalid-argument", `netns: ${path} is not a network namespace`, { field: "netns" });
    }
    const own = statSync("/proc/self/ns/net");
    if (own.dev === info.dev && own.ino === info.ino) {
      throw new WeftError("invalid-argument", `netns: ${path} is the agent's own network namespace`, { field: "netns" });
    }
    return { dev: info.dev, ino: info.ino };
  } finally {
    closeSync(fd);
  }
}
