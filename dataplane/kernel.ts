// The seam between the reconciler and the kernel: observe what is there, apply a plan in batches.
import { errorText } from "../proto/values/index.js";
import type { DesiredEgressLeg, DesiredLocalEndpoint } from "./desired-state.js";
import { NamespaceChangedError } from "./kernel-error.js";
import type { NetworkNamespaceId } from "./namespace-identity.js";

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
  /** For a bridge port: whether it is isolated (forwards only to non-isolated ports and the bridge). */
  isolated?: boolean;
  vxlan?: VxlanAttributes;
}

/** An IPv4 address on a link of this namespace. */
export interface ObservedAddress {
  device: string;
  ip: string;
  prefixLen: number;
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
  /** IPv4 addresses of this namespace's links. */
  addresses: ObservedAddress[];
  /** The values of WEFT_SYSCTLS in this namespace (a name is absent when it could not be read). */
  sysctls: Partial<Record<WeftSysctl, string>>;
}

/**
 * The only sysctls weft reads or writes (in the host namespace). The gateway bridge's rp_filter is
 * loose (2) so that a local service backend's reply to an outside client, which leaves the backend by
 * its default route on weft_gwbridge rather than by the overlay bridge the request came in on, is not
 * dropped by strict reverse-path filtering.
 */
export const WEFT_SYSCTLS = ["net.ipv4.ip_forward", "net.ipv4.conf.weft_gwbridge.rp_filter"] as const;
export type WeftSysctl = (typeof WEFT_SYSCTLS)[number];

/** The container end of a veth: where it is (the namespace recorded at attach) and its name there. */
export interface ContainerEnd {
  endpointId: string;
  netns: string;
  netnsId?: NetworkNamespaceId;
  ifName: string;
}

export function containerEnd(endpointId: string, where: { netns: string; netnsId?: NetworkNamespaceId | undefined; ifName: string }): ContainerEnd {
  return { endpointId, netns: where.netns, ifName: where.ifName, ...(where.netnsId === undefined ? {} : { netnsId: where.netnsId }) };
}

export type LinkAction =
  | { kind: "delete-link"; name: string }
  /** `mac`: set explicitly, so the bridge keeps it instead of following its ports' (which come and go). */
  | { kind: "create-bridge"; name: string; mtu: number; mac?: string }
  | { kind: "create-vxlan"; name: string; vni: number; local: string; dstport: number; mac: string; mtu: number; master: string }
  | { kind: "set-link"; name: string; mac?: string; mtu?: number; master?: string; up?: boolean }
  | { kind: "create-veth"; endpoint: DesiredLocalEndpoint; mtu: number; master: string }
  /** Both ends of a veth: the host end here, the container end in its (identity-checked) namespace. */
  | { kind: "set-veth-mtu"; hostIfName: string; container: ContainerEnd; mtu: number }
  /** A veth whose host end is an isolated port of `master`; the container end gets its default route via leg.gateway. */
  | { kind: "create-egress-leg"; leg: DesiredEgressLeg; mtu: number; master: string }
  | { kind: "set-bridge-port"; name: string; isolated: boolean }
  | { kind: "add-address"; device: string; ip: string; prefixLen: number }
  | { kind: "delete-address"; device: string; ip: string; prefixLen: number }
  /** Only ever raised by weft, never cleared: other software may rely on it. */
  | { kind: "set-sysctl"; name: WeftSysctl; value: string };

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
  /** Sysctls this run changed, as "name=value" (absent when none). */
  sysctlsChanged?: string[];
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
  switch (action.kind) {
    case "create-veth":
      return `link ${action.endpoint.hostIfName}`;
    case "create-egress-leg":
      return `link ${action.leg.hostIfName}`;
    case "set-veth-mtu":
      return `link ${action.hostIfName}`;
    case "add-address":
    case "delete-address":
      return `address ${action.ip}/${action.prefixLen} dev ${action.device}`;
    case "set-sysctl":
      return `sysctl ${action.name}`;
    default:
      return `link ${action.name}`;
  }
}

function endpointOf(action: LinkAction): string | undefined {
  if (action.kind === "create-veth") return action.endpoint.id;
  if (action.kind === "create-egress-leg") return action.leg.endpointId;
  if (action.kind === "set-veth-mtu") return action.container.endpointId;
  return undefined;
}

/** A failed link action as the report lists it: with the endpoint it was for and, if so, "namespace-changed". */
export function linkActionError(action: LinkAction, error: unknown): ReconcileError {
  const endpointId = endpointOf(action);
  return {
    object: describeLinkAction(action),
    ...(endpointId === undefined ? {} : { endpointId }),
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
