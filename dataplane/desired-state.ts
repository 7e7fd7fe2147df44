// What the kernel of THIS host should look like: plain values built by the agent, one part per
// feature. A feature adds its own optional part here, and its own validation and differ under its
// folder (see overlay/); the reconciler applies the parts in a fixed order.
import { isIPv4 } from "../proto/values/index.js";
import type { DesiredEgress } from "./egress/egress-state.js";
import type { DesiredOverlay } from "./overlay/overlay-state.js";
import type { DesiredMesh } from "./mesh/mesh-state.js";

export type { DesiredOverlay, DesiredNetwork, DesiredLocalEndpoint, DesiredRemoteEndpoint } from "./overlay/overlay-state.js";
export type { DesiredEgress, DesiredEgressBridge, DesiredEgressLeg } from "./egress/egress-state.js";
export type { DesiredMesh, DesiredService, MeshProtocol } from "./mesh/mesh-state.js";

export interface DesiredUnderlay {
  /** Local VTEP address. */
  ip: string;
  /** The underlay interface's MTU. */
  mtu: number;
  /** The underlay interface's name (egress is masqueraded out of it). Optional until every builder sets it. */
  iface?: string;
}

export interface DesiredState {
  underlay: DesiredUnderlay;
  overlay: DesiredOverlay;
  /** Absent: egress objects are left as they are. */
  egress?: DesiredEgress;
  /** Absent: weft's nftables table is left as it is. */
  firewall?: DesiredFirewall;
  /** Services and published ports, written into weft's nftables table with the firewall. Absent: none. */
  mesh?: DesiredMesh;
}

/** weft's nftables table (applied by dataplane/nftables/). */
export interface DesiredFirewall {
  underlayIface: string;
  /** Masquerade `subnet` out of underlayIface; no traffic between members of `bridge`. */
  egress?: { bridge: string; subnet: string };
  networks: Array<{ name: string; vni: number; bridge: string /* weft-br<vni> */; subnet: string; gatewayIp: string; internal: boolean }>;
  /** 53: the only port containers may reach on their gateway address. */
  dnsPort: number;
  /** The other hosts' underlay addresses: the VXLAN sent to and received from each is counted (peer-counters.ts). */
  peers?: Array<{ node: string; underlayIp: string }>;
}

/** Why the underlay cannot be used, or undefined when it can: every part depends on it. */
export function underlayProblem(underlay: DesiredUnderlay | undefined): string | undefined {
  if (!isIPv4(underlay?.ip)) return `ip: ${JSON.stringify(underlay?.ip)} is not an IPv4 address`;
  if (!isMtu(underlay.mtu)) return `mtu: ${String(underlay.mtu)} is outside 68..65535`;
  return undefined;
}

export function isMtu(mtu: unknown): mtu is number {
  return Number.isInteger(mtu) && (mtu as number) >= 68 && (mtu as number) <= 65535;
}
