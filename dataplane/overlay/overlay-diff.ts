// The overlay's differ: given what the kernel has and the (validated) overlay this host should have,
// the plan. Pure: no I/O, deterministic order. Only weft-named links and entries on weft-vx devices
// are considered.
import { macForAddress } from "../../proto/values/index.js";
import { diffDeviceAddresses } from "../address-diff.js";
import { splitHostAddress } from "../address-format.js";
import type { DesiredUnderlay } from "../desired-state.js";
import { containerEnd, type KernelPlan, type LinkAction, type ObservedLink, type ObservedState } from "../kernel.js";
import { pushFix } from "../link-fix.js";
import { bridgeName, isWeftVethName, vniOfBridge, vniOfVxlan, vxlanName } from "../link-names.js";
import type { DesiredLocalEndpoint, DesiredNetwork, DesiredOverlay } from "./overlay-state.js";

export const VXLAN_PORT = 4789;

export interface OverlayDiffOptions {
  /** false: nothing the overlay does not name is removed (links, FDB entries, neighbours). Default true. */
  prune?: boolean;
  /** Whether a weft veth the overlay does not name may be removed. Default: every one. */
  ownsVeth?: (hostIfName: string) => boolean;
  /** Networks (by VNI) and veths of entries that were invalid: left exactly as they are. */
  held?: { vnis: ReadonlySet<number>; veths: ReadonlySet<string> };
}

export interface OverlayPlan {
  plan: KernelPlan;
  /** weft veths the overlay does not name, left in place. */
  orphanVeths: string[];
}

export function diffOverlay(observed: ObservedState, desired: { underlay: Pick<DesiredUnderlay, "ip">; overlay: DesiredOverlay }, options: OverlayDiffOptions = {}): OverlayPlan {
  const prune = options.prune ?? true;
  const ownsVeth = options.ownsVeth ?? (() => true);
  const heldVnis = options.held?.vnis ?? new Set<number>();
  const heldVeths = options.held?.veths ?? new Set<string>();
  const localIp = desired.underlay.ip;
  const networks = desired.overlay.networks;
  const linksByName = new Map(observed.links.map((link) => [link.name, link]));
  const wantedVnis = new Set(networks.map((network) => network.vni));
  const wantedVeths = new Set<string>();
  for (const network of networks) for (const endpoint of network.localEndpoints) wantedVeths.add(endpoint.hostIfName);

  const deletes: LinkAction[] = [];
  const creates: LinkAction[] = [];
  const fixes: LinkAction[] = [];
  const addresses: LinkAction[] = [];
  const veths: LinkAction[] = [];
  const freshVxlans = new Set<string>();
  const orphanVeths: string[] = [];
  // Networks whose bridge still carries a veth that stays: their devices stay with it.
  const keptVnis = new Set(heldVnis);

  // Stale veths first: deleting one removes its peer, and it must not outlive its bridge.
  for (const link of observed.links) {
    const vni = link.master === undefined ? undefined : vniOfBridge(link.master);
    if (!isWeftVethName(link.name) || vni === undefined || wantedVeths.has(link.name)) continue;
    if (heldVnis.has(vni) || heldVeths.has(link.name)) {
      keptVnis.add(vni);
    } else if (prune && ownsVeth(link.name)) {
      deletes.push({ kind: "delete-link", name: link.name });
    } else {
      orphanVeths.push(link.name);
      keptVnis.add(vni);
    }
  }
  if (prune) {
    for (const link of observed.links) {
      const vni = vniOfVxlan(link.name) ?? vniOfBridge(link.name);
      if (vni !== undefined && !wantedVnis.has(vni) && !keptVnis.has(vni)) deletes.push({ kind: "delete-link", name: link.name });
    }
  }

  for (const network of networks) {
    const br = bridgeName(network.vni);
    const vx = vxlanName(network.vni);
    const bridge = linksByName.get(br);
    if (bridge !== undefined && bridge.kind !== "bridge") deletes.push({ kind: "delete-link", name: br });
    const freshBridge = bridge === undefined || bridge.kind !== "bridge";
    // A bridge with an address keeps one MAC (the gateway's, derived like an endpoint's): left to
    // itself it takes its lowest port's, and containers' ARP caches go stale when that port leaves.
    const gatewayMac = network.gateway === undefined ? undefined : macForAddress(splitHostAddress(network.gateway)!.ip);
    if (freshBridge) {
      creates.push({ kind: "create-bridge", name: br, mtu: network.mtu, ...(gatewayMac === undefined ? {} : { mac: gatewayMac }) });
    } else {
      pushFix(fixes, bridge, { mtu: network.mtu, up: true, ...(gatewayMac === undefined ? {} : { mac: gatewayMac }) });
    }
    const wantedAddresses = [...(network.gateway === undefined ? [] : [network.gateway]), ...(network.serviceIps ?? []).map((ip) => `${ip}/32`)];
    addresses.push(...diffDeviceAddresses(observed.addresses, br, wantedAddresses, { prune, fresh: freshBridge }));

    const vxlan = linksByName.get(vx);
    const vtepMac = network.vtepMac.toLowerCase();
    if (vxlan !== undefined && !vxlanMatches(vxlan, network, localIp)) deletes.push({ kind: "delete-link", name: vx });
    if (vxlan === undefined || !vxlanMatches(vxlan, network, localIp)) {
      freshVxlans.add(vx);
      creates.push({ kind: "create-vxlan", name: vx, vni: network.vni, local: localIp, dstport: VXLAN_PORT, mac: vtepMac, mtu: network.mtu, master: br });
    } else {
      pushFix(fixes, vxlan, { mac: vtepMac, mtu: network.mtu, master: br, up: true });
    }

    for (const endpoint of network.localEndpoints) {
      const veth = linksByName.get(endpoint.hostIfName);
      if (veth === undefined) {
        veths.push({ kind: "create-veth", endpoint, mtu: network.mtu, master: br });
      } else {
        pushFix(fixes, veth, { master: br, up: true });
        if (veth.mtu !== network.mtu) fixes.push(vethMtuFix(endpoint, network.mtu));
      }
    }
  }

  const plan: KernelPlan = {
    links: [...deletes, ...creates, ...fixes, ...addresses, ...veths],
    fdbRemove: [],
    neighboursRemove: [],
    fdbAdd: [],
    neighboursAdd: [],
  };
  diffEntries(observed, networks, localIp, linksByName, freshVxlans, prune, plan);
  return { plan, orphanVeths };
}

function vxlanMatches(link: ObservedLink, network: DesiredNetwork, localIp: string): boolean {
  const attrs = link.vxlan;
  return (
    link.kind === "vxlan" &&
    attrs !== undefined &&
    attrs.id === network.vni &&
    attrs.local === localIp &&
    attrs.dstport === VXLAN_PORT &&
    !attrs.learning &&
    attrs.proxy
  );
}

/** Both ends of an endpoint's veth: the container end's MTU is not observed, so it follows the host end's. */
function vethMtuFix(endpoint: DesiredLocalEndpoint, mtu: number): LinkAction {
  return { kind: "set-veth-mtu", hostIfName: endpoint.hostIfName, container: containerEnd(endpoint.id, endpoint), mtu };
}

/**
 * Entries on the devices that are kept. An entry for a MAC or IP the overlay names but with another
 * VTEP or MAC is repaired whatever `prune` says; one the overlay does not name goes only when pruning.
 */
function diffEntries(
  observed: ObservedState,
  networks: readonly DesiredNetwork[],
  localIp: string,
  linksByName: ReadonlyMap<string, ObservedLink>,
  freshVxlans: ReadonlySet<string>,
  prune: boolean,
  plan: KernelPlan,
): void {
  const desiredFdb = new Map<string, Map<string, string>>(); // device -> mac -> vtep
  const desiredNeigh = new Map<string, Map<string, string>>(); // device -> ip -> mac
  for (const network of networks) {
    const vx = vxlanName(network.vni);
    const fdb = new Map<string, string>();
    const neigh = new Map<string, string>();
    for (const remote of network.remoteEndpoints) {
      if (remote.vtep === localIp) continue; // never point at ourselves
      const mac = remote.mac.toLowerCase();
      fdb.set(mac, remote.vtep);
      neigh.set(remote.ip, mac);
    }
    desiredFdb.set(vx, fdb);
    desiredNeigh.set(vx, neigh);
  }

  // Entries on a device that is kept (not recreated); entries of deleted devices vanish with them.
  const kept = (device: string): boolean => desiredFdb.has(device) && !freshVxlans.has(device);

  // What the kernel already holds as wanted, per device; everything else observed goes. Sets of the
  // observed strings rather than composite keys: at 50,000 entries a full reconcile otherwise holds
  // tens of MB of keys and one-element sets until it is done.
  const fdbInPlace = new Map<string, Set<string>>(); // device -> MACs whose wanted dst is there
  for (const entry of observed.fdb) {
    if (!kept(entry.device)) continue;
    const mac = entry.mac.toLowerCase();
    if (mac === linksByName.get(entry.device)?.mac.toLowerCase()) continue; // the device's own address
    const wanted = desiredFdb.get(entry.device)?.get(mac);
    if (wanted === entry.dst) setFor(fdbInPlace, entry.device).add(mac);
    else if (wanted !== undefined || prune) plan.fdbRemove.push({ device: entry.device, mac, dst: entry.dst });
  }
  const neighboursInPlace = new Map<string, Set<string>>(); // device -> IPs with the wanted permanent MAC
  for (const entry of observed.neighbours) {
    if (!kept(entry.device)) continue;
    if (entry.permanent === false) continue; // the kernel's own; a desired one replaces it below
    const wanted = desiredNeigh.get(entry.device)?.get(entry.ip);
    if (wanted === undefined) {
      if (prune) plan.neighboursRemove.push({ device: entry.device, ip: entry.ip, mac: entry.mac.toLowerCase() });
    } else if (wanted === entry.mac.toLowerCase()) {
      setFor(neighboursInPlace, entry.device).add(entry.ip);
    }
  }

  for (const [device, fdb] of desiredFdb) {
    const inPlace = fdbInPlace.get(device);
    for (const [mac, dst] of fdb) if (!inPlace?.has(mac)) plan.fdbAdd.push({ device, mac, dst });
  }
  for (const [device, neigh] of desiredNeigh) {
    const inPlace = neighboursInPlace.get(device);
    for (const [ip, mac] of neigh) if (!inPlace?.has(ip)) plan.neighboursAdd.push({ device, ip, mac });
  }
}

function setFor(sets: Map<string, Set<string>>, device: string): Set<string> {
  let set = sets.get(device);
  if (set === undefined) sets.set(device, (set = new Set()));
  return set;
}
