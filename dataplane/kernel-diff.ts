// The thinking of the reconciler: given what the kernel has and what this host should have, the plan.
// Pure: no I/O, deterministic order. Only weft-named links and entries on weft-vx devices are considered.
import { normalizeMac } from "./address-format.js";
import type { DesiredNetwork, DesiredState } from "./desired-state.js";
import type { KernelPlan, LinkAction, ObservedLink, ObservedState } from "./kernel.js";
import { bridgeName, isWeftVethName, vniOfBridge, vniOfVxlan, vxlanName } from "./link-names.js";

export const VXLAN_PORT = 4789;

export function diffKernelState(observed: ObservedState, desired: DesiredState): KernelPlan {
  const linksByName = new Map(observed.links.map((link) => [link.name, link]));
  const networks = new Map(desired.networks.map((network) => [network.vni, network]));
  const wantedVeths = new Map<string, string>(); // host veth name -> bridge name
  for (const network of desired.networks) {
    for (const endpoint of network.localEndpoints) wantedVeths.set(endpoint.hostIfName, bridgeName(network.vni));
  }

  const deletes: LinkAction[] = [];
  const creates: LinkAction[] = [];
  const fixes: LinkAction[] = [];
  const veths: LinkAction[] = [];
  const freshVxlans = new Set<string>();

  // Stale veths first: deleting one removes its peer, and it must not outlive its bridge.
  for (const link of observed.links) {
    if (!isWeftVethName(link.name) || link.master === undefined || vniOfBridge(link.master) === undefined) continue;
    if (wantedVeths.get(link.name) === undefined) deletes.push({ kind: "delete-link", name: link.name });
  }
  for (const link of observed.links) {
    const vni = vniOfVxlan(link.name) ?? vniOfBridge(link.name);
    if (vni !== undefined && !networks.has(vni)) deletes.push({ kind: "delete-link", name: link.name });
  }

  for (const network of desired.networks) {
    const br = bridgeName(network.vni);
    const vx = vxlanName(network.vni);
    const bridge = linksByName.get(br);
    if (bridge !== undefined && bridge.kind !== "bridge") deletes.push({ kind: "delete-link", name: br });
    if (bridge === undefined || bridge.kind !== "bridge") {
      creates.push({ kind: "create-bridge", name: br, mtu: network.mtu });
    } else {
      pushFix(fixes, bridge, { mtu: network.mtu, up: true });
    }

    const vxlan = linksByName.get(vx);
    if (vxlan !== undefined && !vxlanMatches(vxlan, network, desired.underlay.ip)) deletes.push({ kind: "delete-link", name: vx });
    if (vxlan === undefined || !vxlanMatches(vxlan, network, desired.underlay.ip)) {
      freshVxlans.add(vx);
      creates.push({
        kind: "create-vxlan",
        name: vx,
        vni: network.vni,
        local: desired.underlay.ip,
        dstport: VXLAN_PORT,
        mac: normalizeMac(network.vtepMac),
        mtu: network.mtu,
        master: br,
      });
    } else {
      pushFix(fixes, vxlan, { mac: normalizeMac(network.vtepMac), mtu: network.mtu, master: br, up: true });
    }

    for (const endpoint of network.localEndpoints) {
      const veth = linksByName.get(endpoint.hostIfName);
      if (veth === undefined) {
        veths.push({ kind: "create-veth", endpoint, mtu: network.mtu, master: br });
      } else {
        pushFix(fixes, veth, { mtu: network.mtu, master: br, up: true });
      }
    }
  }

  const plan: KernelPlan = {
    links: [...deletes, ...creates, ...fixes, ...veths],
    fdbRemove: [],
    neighboursRemove: [],
    fdbAdd: [],
    neighboursAdd: [],
  };
  diffEntries(observed, desired, linksByName, freshVxlans, plan);
  return plan;
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

function pushFix(
  fixes: LinkAction[],
  link: ObservedLink,
  want: { mac?: string; mtu?: number; master?: string; up?: boolean },
): void {
  const fix: { kind: "set-link"; name: string; mac?: string; mtu?: number; master?: string; up?: boolean } = {
    kind: "set-link",
    name: link.name,
  };
  if (want.mac !== undefined && normalizeMac(link.mac) !== want.mac) fix.mac = want.mac;
  if (want.mtu !== undefined && link.mtu !== want.mtu) fix.mtu = want.mtu;
  if (want.master !== undefined && link.master !== want.master) fix.master = want.master;
  if (want.up === true && !link.up) fix.up = true;
  if (Object.keys(fix).length > 2) fixes.push(fix);
}

function diffEntries(
  observed: ObservedState,
  desired: DesiredState,
  linksByName: ReadonlyMap<string, ObservedLink>,
  freshVxlans: ReadonlySet<string>,
  plan: KernelPlan,
): void {
  const desiredFdb = new Map<string, Map<string, string>>(); // device -> mac -> vtep
  const desiredNeigh = new Map<string, Map<string, string>>(); // device -> ip -> mac
  for (const network of desired.networks) {
    const vx = vxlanName(network.vni);
    const fdb = new Map<string, string>();
    const neigh = new Map<string, string>();
    for (const remote of network.remoteEndpoints) {
      if (remote.vtep === desired.underlay.ip) continue; // never point at ourselves
      fdb.set(normalizeMac(remote.mac), remote.vtep);
      neigh.set(remote.ip, normalizeMac(remote.mac));
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
    const mac = normalizeMac(entry.mac);
    if (mac === normalizeMac(linksByName.get(entry.device)?.mac ?? "")) continue; // the device's own address
    if (desiredFdb.get(entry.device)?.get(mac) === entry.dst) setFor(fdbInPlace, entry.device).add(mac);
    else plan.fdbRemove.push({ device: entry.device, mac, dst: entry.dst });
  }
  const neighboursInPlace = new Map<string, Set<string>>(); // device -> IPs with the wanted permanent MAC
  for (const entry of observed.neighbours) {
    if (!kept(entry.device)) continue;
    if (entry.permanent === false) continue; // the kernel's own; a desired one replaces it below
    const wanted = desiredNeigh.get(entry.device)?.get(entry.ip);
    if (wanted === undefined) plan.neighboursRemove.push({ device: entry.device, ip: entry.ip, mac: normalizeMac(entry.mac) });
    else if (wanted === normalizeMac(entry.mac)) setFor(neighboursInPlace, entry.device).add(entry.ip);
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
