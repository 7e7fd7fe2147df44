// The real Kernel: links and addresses observed, veths made and links deleted through rtnetlink;
// bridges and vxlans (rare) made through iproute2; FDB and neighbour entries through batched raw
// rtnetlink. Everything happens in the network namespace the process runs in, except the container
// end of a veth (veth-pair.ts).
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { errorText } from "../proto/values/index.js";
import { splitHostAddress } from "./address-format.js";
import { RTM_NEWADDR, encodeAddAddress, encodeAddressDumpRequest, encodeDeleteAddress, parseAddress } from "./address-message.js";
import { ENODEV, ENOENT, ESRCH, KernelError, errnoText } from "./kernel-error.js";
import { ip } from "./iproute2.js";
import { RTM_NEWLINK, encodeLinkDumpRequest, encodeSetBridgePort, observedLinks, parseLink, type DecodedLink } from "./link-message.js";
import { deleteLink, request } from "./netlink-request.js";
import { readSysctls, writeSysctl } from "./sysctl.js";
import { createVethPair, setVethMtu } from "./veth-pair.js";
import {
  containerEnd,
  describeFdb,
  describeNeighbour,
  linkActionError,
  emptyApplyResult,
  type ApplyResult,
  type FdbEntry,
  type Kernel,
  type KernelPlan,
  type LinkAction,
  type NeighbourEntry,
  type ObservedAddress,
  type ObservedLink,
  type ObservedState,
} from "./kernel.js";
import { vniOfVxlan } from "./link-names.js";
import { AF_BRIDGE, AF_INET, NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_REPLACE, NLM_F_REQUEST } from "./netlink-message.js";
import {
  NEIGHBOUR_MESSAGE_MAX,
  NTF_SELF,
  NUD_PERMANENT,
  RTM_DELNEIGH,
  RTM_NEWNEIGH,
  encodeNeighbourDumpRequest,
  parseNeighbour,
  writeNeighbour,
} from "./neighbour-message.js";
import { NetlinkSocket, interfaceIndex } from "./netlink-socket.js";
import type { ReconcileError } from "./reconcile-report.js";

export interface LinuxKernelOptions {
  /** Messages per sendmsg; the event loop gets a turn between chunks. */
  chunkSize?: number;
}

const DUMP_ATTEMPTS = 5;
const EADDRNOTAVAIL = 99;

export function createLinuxKernel(options: LinuxKernelOptions = {}): Kernel {
  return new LinuxKernel(options.chunkSize ?? 2000);
}

class LinuxKernel implements Kernel {
  private socket: NetlinkSocket | undefined;

  constructor(private readonly chunkSize: number) {}

  async observe(): Promise<ObservedState> {
    const links = this.listLinks();
    const addresses = this.listAddresses(links);
    const sysctls = readSysctls();
    const vxlans = new Map<number, string>();
    for (const link of links) if (vniOfVxlan(link.name) !== undefined) vxlans.set(link.ifindex, link.name);
    const fdb: FdbEntry[] = [];
    const neighbours: NeighbourEntry[] = [];
    if (vxlans.size === 0) return { links, fdb, neighbours, addresses, sysctls };

    this.dumpUntilConsistent(AF_BRIDGE, (entry) => {
      const device = vxlans.get(entry.ifindex);
      // Only the vxlan driver's own entries (NTF_SELF with a remote); the bridge's learned ones have no dst.
      if (device === undefined || entry.dst === undefined || entry.lladdr === undefined || (entry.ndmFlags & NTF_SELF) === 0) return;
      fdb.push({ device, mac: entry.lladdr, dst: entry.dst });
    }, () => (fdb.length = 0));
    this.dumpUntilConsistent(AF_INET, (entry) => {
      const device = vxlans.get(entry.ifindex);
      if (device === undefined || entry.dst === undefined || entry.lladdr === undefined) return;
      neighbours.push({ device, ip: entry.dst, mac: entry.lladdr, permanent: (entry.state & NUD_PERMANENT) !== 0 });
    }, () => (neighbours.length = 0));
    return { links, fdb, neighbours, addresses, sysctls };
  }

  async apply(plan: KernelPlan): Promise<ApplyResult> {
    const result = emptyApplyResult();
    for (const action of plan.links) {
      try {
        await this.applyLinkAction(action, result);
      } catch (error) {
        result.errors.push(linkActionError(action, error));
      }
    }
    const devices = new Map<string, number | undefined>();
    const ifindexOf = (device: string): number | undefined => {
      if (!devices.has(device)) devices.set(device, interfaceIndex(device));
      return devices.get(device);
    };
    // A socket-level failure (not one entry's) loses the rest of that kind of entries for this run;
    // the next reconcile observes what did land and retries the remainder.
    const guarded = async (what: string, send: () => Promise<number>): Promise<number> => {
      try {
        return await send();
      } catch (error) {
        this.close();
        result.errors.push({ object: `netlink ${what}`, message: errorText(error) });
        return 0;
      }
    };
    result.fdbRemoved += await guarded("fdb delete", () => this.sendEntries(plan.fdbRemove, ifindexOf, writeFdb("delete"), true, describeFdb, result.errors));
    result.neighboursRemoved += await guarded("neighbour delete", () =>
      this.sendEntries(plan.neighboursRemove, ifindexOf, writeNeighbourEntry("delete"), true, describeNeighbour, result.errors),
    );
    result.fdbAdded += await guarded("fdb add", () => this.sendEntries(plan.fdbAdd, ifindexOf, writeFdb("add"), false, describeFdb, result.errors));
    result.neighboursAdded += await guarded("neighbour add", () =>
      this.sendEntries(plan.neighboursAdd, ifindexOf, writeNeighbourEntry("add"), false, describeNeighbour, result.errors),
    );
    return result;
  }

  close(): void {
    this.socket?.close();
    this.socket = undefined;
  }

  private netlink(): NetlinkSocket {
    this.socket ??= new NetlinkSocket();
    return this.socket;
  }

  private listLinks(): ObservedLink[] {
    const socket = this.netlink();
    for (let attempt = 1; ; attempt++) {
      const decoded: DecodedLink[] = [];
      const seq = socket.allocateSeqs(1);
      const complete = socket.dump(encodeLinkDumpRequest(seq), seq, (buffer, header) => {
        if (header.type === RTM_NEWLINK) decoded.push(parseLink(buffer, header));
      });
      if (complete) return observedLinks(decoded);
      if (attempt === DUMP_ATTEMPTS) throw new KernelError(`netlink link dump interrupted ${DUMP_ATTEMPTS} times in a row`);
    }
  }

  private listAddresses(links: readonly ObservedLink[]): ObservedAddress[] {
    const names = new Map(links.map((link) => [link.ifindex, link.name]));
    const socket = this.netlink();
    for (let attempt = 1; ; attempt++) {
      const addresses: ObservedAddress[] = [];
      const seq = socket.allocateSeqs(1);
      const complete = socket.dump(encodeAddressDumpRequest(seq), seq, (buffer, header) => {
        if (header.type !== RTM_NEWADDR) return;
        const address = parseAddress(buffer, header);
        const device = names.get(address.ifindex);
        if (address.ip !== undefined && device !== undefined) addresses.push({ device, ip: address.ip, prefixLen: address.prefixLen });
      });
      if (complete) return addresses;
      if (attempt === DUMP_ATTEMPTS) throw new KernelError(`netlink address dump interrupted ${DUMP_ATTEMPTS} times in a row`);
    }
  }

  private async applyLinkAction(action: LinkAction, result: ApplyResult): Promise<void> {
    const socket = this.netlink();
    switch (action.kind) {
      case "delete-link":
        if (deleteLink(socket, action.name)) result.linksDeleted++;
        return;
      case "create-veth": {
        const { endpoint } = action;
        const container = containerEnd(endpoint.id, endpoint);
        createVethPair(socket, { hostIfName: endpoint.hostIfName, master: action.master, mtu: action.mtu, container, mac: endpoint.mac, ip: endpoint.ip, prefixLen: endpoint.prefixLen });
        result.linksCreated++;
        return;
      }
      case "create-egress-leg": {
        const { leg } = action;
        const address = splitHostAddress(leg.ip);
        if (address === undefined) throw new KernelError(`create veth ${leg.hostIfName}: ip ${leg.ip} is not an address with a prefix length`, { errno: 22 });
        createVethPair(socket, {
          hostIfName: leg.hostIfName,
          master: action.master,
          mtu: action.mtu,
          container: containerEnd(leg.endpointId, leg),
          mac: leg.mac,
          ip: address.ip,
          prefixLen: address.prefixLen,
          isolated: true,
          defaultRoute: leg.gateway,
        });
        result.linksCreated++;
        return;
      }
      case "set-veth-mtu":
        setVethMtu(socket, action.hostIfName, action.container, action.mtu);
        return;
      case "set-bridge-port":
        request(socket, `set ${action.name} isolated ${action.isolated ? "on" : "off"}`, (seq) => encodeSetBridgePort(action.name, { isolated: action.isolated }, seq));
        return;
      case "add-address":
      case "delete-address": {
        const ifindex = interfaceIndex(action.device);
        const what = `${action.kind === "add-address" ? "add" : "delete"} address ${action.ip}/${action.prefixLen} on ${action.device}`;
        if (ifindex === undefined) throw new KernelError(`${what}: no device named ${action.device}`, { errno: ENODEV });
        const encode = action.kind === "add-address" ? encodeAddAddress : encodeDeleteAddress;
        try {
          request(socket, what, (seq) => encode(ifindex, action.ip, action.prefixLen, seq));
        } catch (error) {
          if (action.kind === "delete-address" && error instanceof KernelError && error.errno === EADDRNOTAVAIL) return; // already gone
          throw error;
        }
        return;
      }
      case "set-sysctl":
        writeSysctl(action.name, action.value);
        (result.sysctlsChanged ??= []).push(`${action.name}=${action.value}`);
        return;
      default:
        await applyLinkActionByIproute2(action, result);
    }
  }

  private dumpUntilConsistent(
    family: number,
    onEntry: (entry: ReturnType<typeof parseNeighbour>) => void,
    reset: () => void,
  ): void {
    const socket = this.netlink();
    for (let attempt = 1; ; attempt++) {
      const seq = socket.allocateSeqs(1);
      const complete = socket.dump(encodeNeighbourDumpRequest(family, seq), seq, (buffer, header) => {
        if (header.type === RTM_NEWNEIGH) onEntry(parseNeighbour(buffer, header));
      });
      if (complete) return;
      if (attempt === DUMP_ATTEMPTS) throw new KernelError(`netlink dump interrupted ${DUMP_ATTEMPTS} times in a row`);
      reset();
    }
  }

  /** Sends entries in chunks, one ACK per chunk; returns how many succeeded and records the rest. */
  private async sendEntries<E extends { device: string }>(
    entries: readonly E[],
    ifindexOf: (device: string) => number | undefined,
    write: EntryWriter<E>,
    deleting: boolean,
    describe: (entry: E) => string,
    errors: ReconcileError[],
  ): Promise<number> {
    if (entries.length === 0) return 0;
    const missing = new Map<string, number>();
    const ready: { entry: E; ifindex: number }[] = [];
    for (const entry of entries) {
      const ifindex = ifindexOf(entry.device);
      if (ifindex === undefined) missing.set(entry.device, (missing.get(entry.device) ?? 0) + 1);
      else ready.push({ entry, ifindex });
    }
    for (const [device, count] of missing) {
      errors.push({ object: `link ${device}`, message: `${count} entries not written: no device named ${device}` });
    }
    const socket = this.netlink();
    let done = 0;
    for (let start = 0; start < ready.length; start += this.chunkSize) {
      if (start > 0) await yieldToEventLoop();
      const end = Math.min(start + this.chunkSize, ready.length);
      const firstSeq = socket.allocateSeqs(end - start);
      const batch = Buffer.allocUnsafe((end - start) * NEIGHBOUR_MESSAGE_MAX);
      let offset = 0;
      for (let i = start; i < end; i++) {
        const { entry, ifindex } = ready[i]!;
        offset = write(batch, offset, entry, ifindex, firstSeq + i - start, i === end - 1);
      }
      const failures = socket.sendBatch(batch.subarray(0, offset), firstSeq, firstSeq + end - start - 1);
      done += end - start;
      for (const [seq, ack] of failures) {
        const item = ready[start + seq - firstSeq];
        if (item === undefined) continue;
        if (deleting && (ack.errno === ENOENT || ack.errno === ESRCH)) continue; // already gone
        done--;
        errors.push({ object: describe(item.entry), message: ack.message ?? errnoText(ack.errno) });
      }
    }
    return done;
  }
}

type EntryWriter<E> = (buffer: Buffer, offset: number, entry: E, ifindex: number, seq: number, ack: boolean) => number;

// FDB: like `bridge fdb append MAC dev VX dst VTEP self permanent`; a delete names the dst so only it goes.
function writeFdb(op: "add" | "delete"): EntryWriter<FdbEntry> {
  const type = op === "add" ? RTM_NEWNEIGH : RTM_DELNEIGH;
  const flags = NLM_F_REQUEST | (op === "add" ? NLM_F_CREATE | NLM_F_APPEND : 0);
  return (buffer, offset, entry, ifindex, seq, ack) =>
    writeNeighbour(buffer, offset, type, ack ? flags | NLM_F_ACK : flags, seq, AF_BRIDGE, ifindex, NUD_PERMANENT, NTF_SELF, entry.dst, entry.mac);
}

// Neighbour: like `ip neigh replace IP lladdr MAC dev VX nud permanent`.
function writeNeighbourEntry(op: "add" | "delete"): EntryWriter<NeighbourEntry> {
  const type = op === "add" ? RTM_NEWNEIGH : RTM_DELNEIGH;
  const flags = NLM_F_REQUEST | (op === "add" ? NLM_F_CREATE | NLM_F_REPLACE : 0);
  return (buffer, offset, entry, ifindex, seq, ack) =>
    writeNeighbour(buffer, offset, type, ack ? flags | NLM_F_ACK : flags, seq, AF_INET, ifindex, NUD_PERMANENT, 0, entry.ip, op === "add" ? entry.mac : undefined);
}

type Iproute2Action = Extract<LinkAction, { kind: "create-bridge" | "create-vxlan" | "set-link" }>;

async function applyLinkActionByIproute2(action: Iproute2Action, result: ApplyResult): Promise<void> {
  switch (action.kind) {
    case "create-bridge":
      await ip("link", "add", action.name, ...(action.mac === undefined ? [] : ["address", action.mac]), "mtu", String(action.mtu), "type", "bridge");
      result.linksCreated++;
      await ip("link", "set", action.name, "up");
      return;
    case "create-vxlan":
      await ip(
        "link", "add", action.name, "address", action.mac, "mtu", String(action.mtu),
        "type", "vxlan", "id", String(action.vni), "local", action.local, "dstport", String(action.dstport),
        "nolearning", "proxy",
      );
      result.linksCreated++;
      await ip("link", "set", action.name, "master", action.master, "up");
      return;
    case "set-link": {
      const args = ["link", "set", action.name];
      if (action.mac !== undefined) args.push("address", action.mac);
      if (action.mtu !== undefined) args.push("mtu", String(action.mtu));
      if (action.master !== undefined) args.push("master", action.master);
      if (action.up === true) args.push("up");
      await ip(...args);
      return;
    }
  }
}
