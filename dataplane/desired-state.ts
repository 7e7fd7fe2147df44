// What the kernel of THIS host should look like: plain values built by the agent, one part per
// feature. A feature adds its own optional part here, and its own validation and differ under its
// folder (see overlay/); the reconciler applies the parts in a fixed order.
import { isIPv4 } from "../proto/values/index.js";
import type { DesiredOverlay } from "./overlay/overlay-state.js";

export type { DesiredOverlay, DesiredNetwork, DesiredLocalEndpoint, DesiredRemoteEndpoint } from "./overlay/overlay-state.js";

export interface DesiredUnderlay {
  /** Local VTEP address. */
  ip: string;
  /** The underlay interface's MTU. */
  mtu: number;
}

export interface DesiredState {
  underlay: DesiredUnderlay;
  overlay: DesiredOverlay;
  firewall?: DesiredFirewall; // absent: leave weft's nftables table as it is
}

export interface DesiredFirewall {
  underlayIface: string;
  egress?: { bridge: string; subnet: string };   // masquerade subnet -> underlayIface; ICC off on the bridge
  networks: Array<{ name: string; vni: number; bridge: string /* weft-br<vni> */; subnet: string; gatewayIp: string; internal: boolean }>;
  dnsPort: number;           // 53: the only port containers may reach on their gateway address
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
