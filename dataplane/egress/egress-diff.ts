// The egress differ: given what the kernel has and the (validated) egress part, the plan. Pure and
// deterministic. It touches the gateway bridge it names, weft's egress legs (isWeftEgressVethName) and
// net.ipv4.ip_forward, nothing else.
import { macForAddress } from "../../proto/values/index.js";
import { diffDeviceAddress } from "../address-diff.js";
import { splitHostAddress } from "../address-format.js";
import { containerEnd, emptyPlan, type KernelPlan, type LinkAction, type ObservedState } from "../kernel.js";
import { pushFix } from "../link-fix.js";
import { isWeftEgressVethName } from "../link-names.js";
import type { DesiredEgress, DesiredEgressLeg } from "./egress-state.js";

export interface EgressDiffOptions {
  /** false: nothing the part does not name is removed (legs, addresses on the bridge). Default true. */
  prune?: boolean;
  /** Whether a weft egress leg the part does not name may be removed. Default: every one. */
  ownsVeth?: (hostIfName: string) => boolean;
  /** Host ends of legs that were invalid: left exactly as they are. */
  heldLegs?: ReadonlySet<string>;
}

export interface EgressPlan {
  plan: KernelPlan;
  /** weft egress legs the part does not name, left in place. */
  orphanVeths: string[];
}

export function diffEgress(observed: ObservedState, egress: DesiredEgress, options: EgressDiffOptions = {}): EgressPlan {
  const prune = options.prune ?? true;
  const ownsVeth = options.ownsVeth ?? (() => true);
  const held = options.heldLegs ?? new Set<string>();
  const { bridge } = egress;
  const linksByName = new Map(observed.links.map((link) => [link.name, link]));
  const wanted = new Set(egress.legs.map((leg) => leg.hostIfName));
  const deletes: LinkAction[] = [];
  const creates: LinkAction[] = [];
  const fixes: LinkAction[] = [];
  const legs: LinkAction[] = [];
  const orphanVeths: string[] = [];

  for (const link of observed.links) {
    if (link.kind !== "veth" || !isWeftEgressVethName(link.name) || wanted.has(link.name) || held.has(link.name)) continue;
    if (prune && ownsVeth(link.name)) deletes.push({ kind: "delete-link", name: link.name });
    else orphanVeths.push(link.name);
  }

  const existing = linksByName.get(bridge.name);
  const freshBridge = existing === undefined || existing.kind !== "bridge";
  if (existing !== undefined && freshBridge) deletes.push({ kind: "delete-link", name: bridge.name });
  // One MAC for the bridge's life (see the overlay's bridges): the legs' ARP caches stay right.
  const mac = macForAddress(splitHostAddress(bridge.address)!.ip);
  if (freshBridge) creates.push({ kind: "create-bridge", name: bridge.name, mtu: bridge.mtu, mac });
  else pushFix(fixes, existing, { mtu: bridge.mtu, up: true, mac });
  const addresses = diffDeviceAddress(observed.addresses, bridge.name, bridge.address, { prune, fresh: freshBridge });
  const sysctls: LinkAction[] = observed.sysctls["net.ipv4.ip_forward"] === "1" ? [] : [{ kind: "set-sysctl", name: "net.ipv4.ip_forward", value: "1" }];

  for (const leg of egress.legs) {
    const link = linksByName.get(leg.hostIfName);
    if (link === undefined) {
      legs.push({ kind: "create-egress-leg", leg, mtu: bridge.mtu, master: bridge.name });
      continue;
    }
    // A bridge made anew has no ports: the leg is enslaved again, and a new port starts not isolated.
    const enslave = freshBridge || link.master !== bridge.name;
    if (enslave) fixes.push({ kind: "set-link", name: link.name, master: bridge.name, ...(link.up ? {} : { up: true }) });
    else pushFix(fixes, link, { up: true });
    if (enslave || link.isolated !== true) fixes.push({ kind: "set-bridge-port", name: link.name, isolated: true });
    if (link.mtu !== bridge.mtu) fixes.push(legMtuFix(leg, bridge.mtu));
  }

  const plan = emptyPlan();
  plan.links = [...deletes, ...creates, ...addresses, ...sysctls, ...fixes, ...legs];
  return { plan, orphanVeths };
}

/** The container end's MTU is not observed: it follows the host end's. */
function legMtuFix(leg: DesiredEgressLeg, mtu: number): LinkAction {
  return { kind: "set-veth-mtu", hostIfName: leg.hostIfName, container: containerEnd(leg.endpointId, leg), mtu };
}
