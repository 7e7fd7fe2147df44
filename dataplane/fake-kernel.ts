// An in-memory kernel with the semantics that matter to weft: link kinds and masters, FDB entries that
// APPEND destinations, neighbours that REPLACE, entries that vanish with their device, veths that need
// their namespace, addresses that vanish with their device, isolated bridge ports, sysctls. For unit
// tests; it never touches the real kernel.
import { KernelError, NamespaceChangedError } from "./kernel-error.js";
import {
  emptyApplyResult,
  linkActionError,
  type ApplyResult,
  type Kernel,
  type KernelPlan,
  type LinkAction,
  type NeighbourEntry,
  type ObservedAddress,
  type ObservedLink,
  type ObservedState,
  type WeftSysctl,
} from "./kernel.js";
import { splitHostAddress } from "./address-format.js";
import { sameNamespace, type NetworkNamespaceId } from "./namespace-identity.js";

const normalizeMac = (mac: string): string => mac.toLowerCase();

export interface FakeKernelOptions {
  /** Which container namespaces exist; every namespace exists when omitted. */
  namespaceExists?: (netns: string) => boolean;
  /** The identity of the namespace at a path now; when omitted, whatever an endpoint recorded. */
  namespaceIdentity?: (netns: string) => NetworkNamespaceId | undefined;
  /** Awaited at the start of every apply(), e.g. to hold a run open. */
  beforeApply?: () => Promise<void>;
}

/** The container end of a veth, as the fake records it. */
export interface FakeContainerInterface {
  netns: string;
  ifName: string;
  mac: string;
  ip: string;
  prefixLen: number;
  mtu: number;
  up: boolean;
  peer: string;
  /** The default route's gateway in that namespace, when this end carries it. */
  defaultRoute?: string;
}

export class FakeKernel implements Kernel {
  readonly links = new Map<string, ObservedLink>();
  /** device -> mac -> set of VTEP destinations */
  readonly fdb = new Map<string, Map<string, Set<string>>>();
  /** device -> ip -> neighbour */
  readonly neighbours = new Map<string, Map<string, NeighbourEntry>>();
  /** hostIfName -> container end */
  readonly containerInterfaces = new Map<string, FakeContainerInterface>();
  /** device -> its IPv4 addresses */
  readonly addresses = new Map<string, ObservedAddress[]>();
  readonly sysctls = new Map<WeftSysctl, string>([["net.ipv4.ip_forward", "0"]]);
  observeCalls = 0;
  applyCalls = 0;
  private nextIfindex = 2;

  constructor(private readonly options: FakeKernelOptions = {}) {
    this.links.set("lo", { name: "lo", ifindex: 1, kind: "", mac: "00:00:00:00:00:00", mtu: 65536, up: true });
  }

  /** Adds a link as if someone else (or an earlier run) made it. */
  addLink(link: Omit<ObservedLink, "ifindex"> & { ifindex?: number }): ObservedLink {
    const full: ObservedLink = { ...link, ifindex: link.ifindex ?? this.nextIfindex++, mac: normalizeMac(link.mac) };
    this.links.set(full.name, full);
    return full;
  }

  /** Adds an FDB destination directly (APPEND semantics), bypassing any plan. */
  addFdb(device: string, mac: string, dst: string): void {
    this.requireLink(device);
    let byMac = this.fdb.get(device);
    if (byMac === undefined) this.fdb.set(device, (byMac = new Map()));
    const key = normalizeMac(mac);
    let dsts = byMac.get(key);
    if (dsts === undefined) byMac.set(key, (dsts = new Set()));
    dsts.add(dst);
  }

  /** Adds or replaces a neighbour directly, bypassing any plan. */
  addNeighbour(entry: NeighbourEntry): void {
    this.requireLink(entry.device);
    let byIp = this.neighbours.get(entry.device);
    if (byIp === undefined) this.neighbours.set(entry.device, (byIp = new Map()));
    byIp.set(entry.ip, { device: entry.device, ip: entry.ip, mac: normalizeMac(entry.mac), permanent: entry.permanent ?? true });
  }

  async observe(): Promise<ObservedState> {
    this.observeCalls++;
    const links = [...this.links.values()].map((link) => ({ ...link, vxlan: link.vxlan && { ...link.vxlan } }));
    const fdb = [];
    for (const [device, byMac] of this.fdb) {
      for (const [mac, dsts] of byMac) for (const dst of dsts) fdb.push({ device, mac, dst });
    }
    const neighbours = [];
    for (const byIp of this.neighbours.values()) for (const entry of byIp.values()) neighbours.push({ ...entry });
    const addresses = [...this.addresses.values()].flatMap((list) => list.map((address) => ({ ...address })));
    return { links, fdb, neighbours, addresses, sysctls: Object.fromEntries(this.sysctls) };
  }

  /** Adds an address directly, bypassing any plan. */
  addAddress(address: ObservedAddress): void {
    this.requireLink(address.device);
    const list = this.addresses.get(address.device) ?? [];
    if (!list.some((a) => a.ip === address.ip && a.prefixLen === address.prefixLen)) list.push({ ...address });
    this.addresses.set(address.device, list);
  }

  async apply(plan: KernelPlan): Promise<ApplyResult> {
    this.applyCalls++;
    await this.options.beforeApply?.();
    const result = emptyApplyResult();
    for (const action of plan.links) {
      try {
        this.applyLink(action, result);
      } catch (error) {
        result.errors.push(linkActionError(action, error));
      }
    }
    for (const entry of plan.fdbRemove) {
      const dsts = this.fdb.get(entry.device)?.get(normalizeMac(entry.mac));
      if (dsts?.delete(entry.dst) === true) {
        if (dsts.size === 0) this.fdb.get(entry.device)?.delete(normalizeMac(entry.mac));
      }
      result.fdbRemoved++; // ENOENT on delete counts as done
    }
    for (const entry of plan.neighboursRemove) {
      this.neighbours.get(entry.device)?.delete(entry.ip);
      result.neighboursRemoved++;
    }
    // Like the real kernel: entries for a device that does not exist are reported once per device.
    const missing = new Map<string, number>();
    for (const entry of plan.fdbAdd) {
      if (!this.links.has(entry.device)) missing.set(entry.device, (missing.get(entry.device) ?? 0) + 1);
      else {
        this.addFdb(entry.device, entry.mac, entry.dst);
        result.fdbAdded++;
      }
    }
    for (const entry of plan.neighboursAdd) {
      if (!this.links.has(entry.device)) missing.set(entry.device, (missing.get(entry.device) ?? 0) + 1);
      else {
        this.addNeighbour({ ...entry, permanent: true });
        result.neighboursAdded++;
      }
    }
    for (const [device, count] of missing) {
      result.errors.push({ object: `link ${device}`, message: `${count} entries not written: no device named ${device}` });
    }
    return result;
  }

  close(): void {}

  private applyLink(action: LinkAction, result: ApplyResult): void {
    switch (action.kind) {
      case "delete-link": {
        if (!this.links.has(action.name)) return; // already gone
        this.deleteLink(action.name);
        result.linksDeleted++;
        return;
      }
      case "create-bridge":
        this.requireFreeName(action.name);
        this.addLink({ name: action.name, kind: "bridge", mac: action.mac ?? "02:00:00:00:00:01", mtu: action.mtu, up: true });
        result.linksCreated++;
        return;
      case "create-vxlan":
        this.requireFreeName(action.name);
        this.requireLink(action.master);
        this.addLink({
          name: action.name,
          kind: "vxlan",
          mac: action.mac,
          mtu: action.mtu,
          up: true,
          master: action.master,
          vxlan: { id: action.vni, local: action.local, dstport: action.dstport, learning: false, proxy: true },
        });
        result.linksCreated++;
        return;
      case "set-link": {
        const link = this.requireLink(action.name);
        if (action.master !== undefined) this.requireLink(action.master);
        if (action.mac !== undefined) link.mac = normalizeMac(action.mac);
        if (action.mtu !== undefined) link.mtu = action.mtu;
        if (action.master !== undefined && action.master !== link.master) {
          link.master = action.master;
          link.isolated = false; // a new port starts not isolated
        }
        if (action.up === true) link.up = true;
        return;
      }
      case "create-veth": {
        const { endpoint } = action;
        this.requireFreeName(endpoint.hostIfName);
        this.requireLink(action.master);
        this.requireNamespace(endpoint.netns, endpoint.netnsId);
        this.addLink({ name: endpoint.hostIfName, kind: "veth", mac: "02:00:00:00:00:02", mtu: action.mtu, up: true, master: action.master });
        this.containerInterfaces.set(endpoint.hostIfName, {
          netns: endpoint.netns,
          ifName: endpoint.ifName,
          mac: normalizeMac(endpoint.mac),
          ip: endpoint.ip,
          prefixLen: endpoint.prefixLen,
          mtu: action.mtu,
          up: true,
          peer: endpoint.hostIfName,
        });
        result.linksCreated++;
        return;
      }
      case "create-egress-leg": {
        const { leg } = action;
        const address = splitHostAddress(leg.ip);
        if (address === undefined) throw new KernelError(`Invalid address ${leg.ip}`, { errno: 22 });
        this.requireFreeName(leg.hostIfName);
        this.requireLink(action.master);
        this.requireNamespace(leg.netns, leg.netnsId);
        this.addLink({ name: leg.hostIfName, kind: "veth", mac: "02:00:00:00:00:03", mtu: action.mtu, up: true, master: action.master, isolated: true });
        this.containerInterfaces.set(leg.hostIfName, {
          netns: leg.netns,
          ifName: leg.ifName,
          mac: normalizeMac(leg.mac),
          ip: address.ip,
          prefixLen: address.prefixLen,
          mtu: action.mtu,
          up: true,
          peer: leg.hostIfName,
          defaultRoute: leg.gateway,
        });
        result.linksCreated++;
        return;
      }
      case "set-veth-mtu": {
        const link = this.requireLink(action.hostIfName);
        this.requireNamespace(action.container.netns, action.container.netnsId);
        link.mtu = action.mtu;
        const inside = this.containerInterfaces.get(action.hostIfName);
        if (inside !== undefined) inside.mtu = action.mtu;
        return;
      }
      case "set-bridge-port": {
        const link = this.requireLink(action.name);
        if (link.master === undefined) throw new KernelError(`${action.name} is not a bridge port`, { errno: 95 });
        link.isolated = action.isolated;
        return;
      }
      case "add-address": {
        const list = this.addresses.get(action.device) ?? [];
        this.requireLink(action.device);
        if (list.some((a) => a.ip === action.ip && a.prefixLen === action.prefixLen)) throw new KernelError("RTNETLINK answers: File exists", { errno: 17 });
        this.addAddress({ device: action.device, ip: action.ip, prefixLen: action.prefixLen });
        return;
      }
      case "delete-address": {
        this.requireLink(action.device);
        const list = this.addresses.get(action.device) ?? [];
        this.addresses.set(action.device, list.filter((a) => !(a.ip === action.ip && a.prefixLen === action.prefixLen)));
        return;
      }
      case "set-sysctl":
        if (this.sysctls.get(action.name) !== action.value) (result.sysctlsChanged ??= []).push(`${action.name}=${action.value}`);
        this.sysctls.set(action.name, action.value);
        return;
    }
  }

  private deleteLink(name: string): void {
    this.links.delete(name);
    this.fdb.delete(name);
    this.neighbours.delete(name);
    this.containerInterfaces.delete(name);
    this.addresses.delete(name);
    for (const link of this.links.values()) {
      if (link.master !== name) continue;
      delete link.master;
      delete link.isolated;
    }
  }

  private requireLink(name: string): ObservedLink {
    const link = this.links.get(name);
    if (link === undefined) throw new KernelError(`Cannot find device "${name}"`, { errno: 19 });
    return link;
  }

  private requireNamespace(netns: string, recorded: NetworkNamespaceId | undefined): void {
    const exists = this.options.namespaceExists?.(netns) ?? true;
    const now = exists ? (this.options.namespaceIdentity?.(netns) ?? recorded) : undefined;
    if (recorded !== undefined && (now === undefined || !sameNamespace(now, recorded))) {
      throw new NamespaceChangedError(`netns: ${netns}: the namespace recorded at attach is ${now === undefined ? "gone" : "replaced"}`);
    }
    if (!exists) throw new KernelError(`netns: ${netns} does not exist`, { errno: 2 });
  }

  private requireFreeName(name: string): void {
    if (this.links.has(name)) throw new KernelError(`RTNETLINK answers: File exists (${name})`, { errno: 17 });
  }
}
