// The seam between the reconciler and the kernel: observe what is there, apply a plan in batches.
import { errorText } from "../proto/values/index.js";
import type { DesiredLocalEndpoint } from "./desired-state.js";
import { NamespaceChangedError } from "./kernel-error.js";

export interface VxlanAttributes {
  id: number;
  local: string | undefined;
  dstport: number;
  learning: boolean;
  proxy: boolean;
}

export interface ObservedLink {
  name: string;
  ifindex: number;
  /** "bridge", "vxlan", "veth", ... or "" for a link without a kind (e.g. a physical device). */
  kind: string;
  mac: string;
  mtu: number;
  up: boolean;
  /** Name of the master device, if enslaved. */
  master?: string;
  vxlan?: VxlanAttributes;
}

/** A VXLAN forwarding entry: frames for `mac` leave `device` towards the VTEP `dst`. */
export interface FdbEntry {
  device: string;
  mac: string;
  dst: string;
}

/** A permanent IPv4 neighbour on a VXLAN device; with `proxy` the device answers ARP from it. */
export interface NeighbourEntry {
  device: string;
  ip: string;
  mac: string;
  /** Observed only: false for entries the kernel made itself (reachable, stale, ...). */
  permanent?: boolean;
}

/** What the kernel holds. Entries are only those that matter: FDB entries with a dst, IPv4 neighbours. */
export interface ObservedState {
  links: ObservedLink[];
  fdb: FdbEntry[];
  neighbours: NeighbourEntry[];
}

export type LinkAction =
  | { kind: "delete-link"; name: string }
  | { kind: "create-bridge"; name: string; mtu: number }
  | { kind: "create-vxlan"; name: string; vni: number; local: string; dstport: number; mac: string; mtu: number; master: string }
  | { kind: "set-link"; name: string; mac?: string; mtu?: number; master?: string; up?: boolean }
  | { kind: "create-veth"; endpoint: DesiredLocalEndpoint; mtu: number; master: string };

/** The difference between observed and desired, in the order it must be applied. */
export interface KernelPlan {
  /** Applied first, in order. */
  links: LinkAction[];
  fdbRemove: FdbEntry[];
  neighboursRemove: NeighbourEntry[];
  fdbAdd: FdbEntry[];
  neighboursAdd: NeighbourEntry[];
}

/** One kernel object that could not be brought to its desired form. */
export interface ReconcileError {
  /** The kernel object concerned, e.g. "link weft-vx42" or "fdb 02:..:01 dev weft-vx42 dst 10.0.0.2". */
  object: string;
  endpointId?: string;
  message: string;
  /** "namespace-changed": the endpoint's namespace is gone or is another one now; nothing was made there. */
  code?: string;
}

export interface ApplyResult {
  linksCreated: number;
  linksDeleted: number;
  fdbAdded: number;
  fdbRemoved: number;
  neighboursAdded: number;
  neighboursRemoved: number;
  errors: ReconcileError[];
}

export interface Kernel {
  observe(): Promise<ObservedState>;
  /** Applies the plan in order: links, then entry removals, then entry additions. Never throws for one failed object. */
  apply(plan: KernelPlan): Promise<ApplyResult>;
  /** Releases sockets and the like. */
  close(): void;
}

export function emptyPlan(): KernelPlan {
  return { links: [], fdbRemove: [], neighboursRemove: [], fdbAdd: [], neighboursAdd: [] };
}

export function isEmptyPlan(plan: KernelPlan): boolean {
  return (
    plan.links.length === 0 &&
    plan.fdbRemove.length === 0 &&
    plan.neighboursRemove.length === 0 &&
    plan.fdbAdd.length === 0 &&
    plan.neighboursAdd.length === 0
  );
}

export function emptyApplyResult(): ApplyResult {
  return { linksCreated: 0, linksDeleted: 0, fdbAdded: 0, fdbRemoved: 0, neighboursAdded: 0, neighboursRemoved: 0, errors: [] };
}

function describeLinkAction(action: LinkAction): string {
  return action.kind === "create-veth" ? `link ${action.endpoint.hostIfName}` : `link ${action.name}`;
}

/** A failed link action as the report lists it: with the endpoint it was for and, if so, "namespace-changed". */
export function linkActionError(action: LinkAction, error: unknown): ReconcileError {
  return {
    object: describeLinkAction(action),
    ...(action.kind === "create-veth" ? { endpointId: action.endpoint.id } : {}),
    message: errorText(error),
    ...(error instanceof NamespaceChangedError ? { code: "namespace-changed" } : {}),
  };
}

export function describeFdb(entry: FdbEntry): string {
  return `fdb ${entry.mac} dev ${entry.device} dst ${entry.dst}`;
}

export function describeNeighbour(entry: NeighbourEntry): string {
  return `neighbour ${entry.ip} dev ${entry.device} lladdr ${entry.mac}`;
}
