// Endpoint lifecycle: attach (validate, take the namespace's identity, claim a slice, allocate an
// address, program the kernel, announce), detach, and the withdrawal of endpoints whose namespace
// is gone or changed. Attach and detach run one at a time: they change local endpoints and IP use.
// When a network's last local endpoint goes, its slice is released in etcd (so `weft network rm`
// is not held up by this node) and its CIDR kept in the state, to be preferred on the next attach.
import { randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import { basename } from "node:path";
import { endpointRecordProblem, type EndpointRecord, type GossipNode } from "../../controlplane/gossip/index.js";
import { validateLabels } from "../../controlplane/network-spec.js";
import type { NetworkRecord, Registry } from "../../controlplane/registry/index.js";
import { allocateAddress, sliceHolding, takeRequestedAddress } from "../../controlplane/ipam/index.js";
import { hostIfNameFor } from "../../dataplane/index.js";
import { errorText, isIPv4, macForAddress, parseInterfaceName, parseName, parseNetnsReference, printable, WeftError } from "../../proto/values/index.js";
import type { NetworkNamespaceId as NetnsId, ReconcileReport } from "../../dataplane/index.js";
import type { AgentState, LocalEndpoint } from "../state-store.js";
import { allocateEgressLeg } from "./egress-allocation.js";
import { egressHostIfNameFor } from "../../dataplane/index.js";
import { localView, remoteView, type EndpointView, type LocalViewContext } from "./endpoint-view.js";

export interface AttachRequest {
  network: string;
  netns: string;
  name?: string;
  ifName?: string;
  /** More DNS names in the network; several endpoints may share one. */
  aliases?: readonly string[];
  /** Announced through gossip: services select their backends by them. */
  labels?: Record<string, string>;
  /** The address to take (in this node's slice, free); absent or "": the lowest free one. */
  ip?: string;
}

export const MAX_ALIASES = 16;

/** Labels by the registry's rule (validateLabels) and within what a gossip entry may carry. */
export function parseEndpointLabels(labels: unknown): Record<string, string> {
  const valid = validateLabels(labels, "labels");
  const ip = "10.0.0.2";
  const problem = endpointRecordProblem({ network: "n", endpointId: "e", owner: "n", version: 1, tombstone: false, ip, mac: macForAddress(ip), vtep: "10.0.0.1", name: "", aliases: [], labels: valid, deletedAtMs: 0 });
  if (problem !== undefined) throw new WeftError("invalid-argument", problem, { field: "labels" });
  return valid;
}

/** Each alias a name by the one name rule, at most MAX_ALIASES, duplicates and the endpoint's own name dropped. */
export function parseAliases(aliases: readonly unknown[] | undefined, name: string): string[] {
  if (aliases === undefined) return [];
  if (!Array.isArray(aliases)) throw new WeftError("invalid-argument", "aliases: must be a list of names", { field: "aliases" });
  const out: string[] = [];
  for (const alias of aliases) {
    const valid = parseName(alias, "aliases");
    if (valid !== name && !out.includes(valid)) out.push(valid);
  }
  if (out.length > MAX_ALIASES) throw new WeftError("invalid-argument", `aliases: at most ${MAX_ALIASES}, not ${out.length}`, { field: "aliases" });
  return out;
}

export interface EndpointLifecycleOptions {
  node: string;
  vtep: string;
  /** This host's egress subnet (canonical CIDR): legs for endpoints of non-internal networks. */
  egressSubnet: string;
  /** What the API's view of a local endpoint needs. */
  viewContext: () => LocalViewContext;
  registry: Registry;
  gossip: () => GossipNode;
  state: () => AgentState;
  persist: () => Promise<void>;
  requireNetwork: (name: string, field: string) => NetworkRecord;
  reconcile: () => Promise<ReconcileReport>;
  /** The identity of a network namespace; throws a WeftError for anything that is not one (C2). */
  inspectNetns: (path: string) => NetnsId;
  /**
   * Identities of namespaces no endpoint may use besides the agent's own (which inspectNetns refuses):
   * the initial namespace (/proc/1/ns/net), the host's even when the agent runs elsewhere.
   */
  hostNamespaces?: () => NetnsId[];
  /** Whether a network's slice must stay although no local endpoint uses it (it is served for its services). */
  keepsSlice?: (network: string) => boolean;
  /** Called with the host-side veth name of every endpoint attached in this run. */
  madeVeth: (hostIfName: string) => void;
  log: (level: "debug" | "info" | "warn" | "error", line: string) => void;
}

export class EndpointLifecycle {
  private lock: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: EndpointLifecycleOptions) {}

  attach(request: AttachRequest): Promise<EndpointView> {
    return this.serialized(() => this.attachNow(request));
  }

  detach(reference: string): Promise<EndpointView> {
    return this.serialized(() => this.detachNow(reference));
  }

  /** A local endpoint by id, unique id prefix or name; else a live gossip entry of another node. */
  inspect(reference: string): EndpointView {
    if (!reference) throw new WeftError("invalid-argument", "endpoint: is required (id, id prefix or name)", { field: "endpoint" });
    const local = this.options.state().endpoints.filter((e) => matchesReference(e.id, e.name, reference));
    const remote = local.length > 0 ? [] : this.options.gossip().entries().filter((e) => !e.tombstone && e.owner !== this.options.node && matchesReference(e.endpointId, e.name, reference));
    if (local.length + remote.length > 1) {
      throw new WeftError("invalid-argument", `endpoint: "${printable(reference)}" matches ${local.length + remote.length} endpoints; use the id`, { field: "endpoint" });
    }
    if (local[0]) return localView(local[0], this.options.viewContext());
    if (remote[0]) return remoteView(remote[0]);
    throw new WeftError("not-found", `endpoint: no endpoint "${printable(reference)}"`, { field: "endpoint" });
  }

  /**
   * After a full run: withdraws local endpoints whose namespace changed identity (the dataplane
   * refused to touch it) or no longer exists; nothing is re-created in their place.
   */
  withdrawBroken(report: ReconcileReport): Promise<void> {
    const failed = new Map<string, string | undefined>();
    for (const error of report.errors) if (error.endpointId !== undefined) failed.set(error.endpointId, error.code);
    if (failed.size === 0) return Promise.resolve();
    return this.serialized(async () => {
      const gone: Array<{ endpoint: LocalEndpoint; why: string }> = [];
      for (const endpoint of this.options.state().endpoints) {
        if (!failed.has(endpoint.id)) continue;
        if (failed.get(endpoint.id) === "namespace-changed") gone.push({ endpoint, why: "its namespace is another one now" });
        else if (!this.namespaceExists(endpoint.netns)) gone.push({ endpoint, why: "its namespace is gone" });
      }
      if (gone.length === 0) return;
      for (const { endpoint, why } of gone) {
        this.options.log("warn", `endpoint ${printable(endpoint.name)} (${endpoint.id.slice(0, 12)}) in ${printable(endpoint.netns)}: ${why}; withdrawing it`);
      }
      await this.remove(gone.map((g) => g.endpoint));
    });
  }

  private async attachNow(request: AttachRequest): Promise<EndpointView> {
    const { options } = this;
    if (!request.network) throw new WeftError("invalid-argument", "network: is required", { field: "network" });
    const network = options.requireNetwork(request.network, "network");
    const reference = parseNetnsReference(request.netns, "netns");
    const netns = reference.kind === "named" ? reference.name : reference.path;
    const ifName = parseInterfaceName(request.ifName || "eth0", "if_name");
    const name = parseName(request.name || basename(netns), "name");
    const aliases = parseAliases(request.aliases, name);
    const labels = parseEndpointLabels(request.labels);
    if (this.nameTaken(network.name, name)) {
      throw new WeftError("already-exists", `name: an endpoint named "${name}" already exists in network "${network.name}"`, { field: "name" });
    }
    const state = options.state();
    if (state.endpoints.some((e) => e.netns === netns && e.ifName === ifName)) {
      throw new WeftError("already-exists", `netns: "${netns}" already has a weft interface ${ifName}`, { field: "netns" });
    }
    const requested = request.ip ? parseRequestedIp(request.ip, network) : undefined;
    const netnsId = options.inspectNetns(reference.path);
    if ((options.hostNamespaces ?? initialNamespace)().some((id) => id.dev === netnsId.dev && id.ino === netnsId.ino)) {
      throw new WeftError("invalid-argument", `netns: "${printable(request.netns)}" is the host's initial network namespace, not a container's`, { field: "netns" });
    }

    // A slice this node already holds needs no etcd round trip, so attaching works while etcd is unreachable.
    const held = (options.registry.snapshot().subnets.get(network.name) ?? []).find((l) => l.node === options.node);
    // A requested address decides which slice to prefer: the claim then gets it unless another node holds it.
    const preferred = requested?.slice ?? state.subnets[network.name];
    const lease = held ?? (await options.registry.claimSubnet(network.name, options.node, preferred));
    const releaseIfUnused = (): Promise<void> => (held ? Promise.resolve() : this.releaseSliceIfUnused(network.name, lease.cidr));
    let ip: string;
    try {
      const used = state.endpoints.filter((e) => e.network === network.name);
      ip = requested
        ? takeRequestedAddress(lease.cidr, requested.ip, new Map(used.map((e) => [e.ip, `endpoint ${e.name}`])))
        : allocateAddress(lease.cidr, new Set(used.map((e) => e.ip)));
    } catch (err) {
      await releaseIfUnused();
      throw err;
    }
    let egress;
    try {
      egress = network.internal ? undefined : allocateEgressLeg(options.egressSubnet, state.endpoints, netns, ifName);
    } catch (err) {
      await releaseIfUnused();
      throw err;
    }
    const endpoint: LocalEndpoint = {
      id: randomBytes(16).toString("hex"),
      name,
      network: network.name,
      netns,
      ifName,
      ip,
      mac: macForAddress(ip),
      createdAt: new Date().toISOString(),
      netnsId,
      ...(aliases.length > 0 ? { aliases } : {}),
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
      ...(egress ? { egress } : {}),
    };
    state.endpoints.push(endpoint);
    // Before the reconcile: the desired state takes this host's gateway on the network from it.
    const previousSlice = state.subnets[network.name];
    state.subnets[network.name] = lease.cidr;
    options.madeVeth(hostIfNameFor(endpoint.id));
    // Its egress leg's veth too: without it, detach would leave that veth behind as an orphan.
    if (egress) options.madeVeth(egressHostIfNameFor(endpoint.id));
    const report = await options.reconcile().catch((err: unknown) => ({ errors: [{ object: "reconcile", endpointId: endpoint.id, message: errorText(err) }] }));
    const failure = report.errors.find((e) => e.endpointId === endpoint.id);
    if (failure) {
      state.endpoints = state.endpoints.filter((e) => e.id !== endpoint.id);
      if (previousSlice === undefined) delete state.subnets[network.name];
      else state.subnets[network.name] = previousSlice;
      await options.reconcile().catch(() => undefined);
      await releaseIfUnused();
      throw new WeftError("failed-precondition", `netns: could not attach to "${netns}": ${failure.message}`, { field: "netns" });
    }
    this.publish(endpoint);
    await options.persist();
    // Return once the peers pushed to have it in their kernels (bounded), so the container can talk at once.
    await options.gossip().confirm(endpoint.network, endpoint.id);
    options.log("info", `endpoint ${endpoint.name} (${endpoint.id.slice(0, 12)}) attached to ${network.name}: ${ip} ${endpoint.mac}${egress ? `, egress ${egress.ip}` : ""} in ${netns}`);
    return localView(endpoint, options.viewContext());
  }

  private async detachNow(reference: string): Promise<EndpointView> {
    if (!reference) throw new WeftError("invalid-argument", "endpoint: is required (id, id prefix or name)", { field: "endpoint" });
    const matches = this.options.state().endpoints.filter((e) => matchesReference(e.id, e.name, reference));
    if (matches.length > 1) {
      throw new WeftError("invalid-argument", `endpoint: "${printable(reference)}" matches ${matches.length} endpoints; use the id`, { field: "endpoint" });
    }
    const endpoint = matches[0];
    if (!endpoint) {
      const remote = this.options.gossip().entries().find((e) => matchesReference(e.endpointId, e.name, reference));
      if (remote) {
        throw new WeftError("failed-precondition", `endpoint: "${printable(reference)}" lives on node ${printable(remote.owner)}; detach it through that node's agent`, { field: "endpoint" });
      }
      throw new WeftError("not-found", `endpoint: no endpoint "${printable(reference)}" on this node`, { field: "endpoint" });
    }
    await this.remove([endpoint]);
    this.options.log("info", `endpoint ${endpoint.name} (${endpoint.id.slice(0, 12)}) detached from ${endpoint.network}`);
    return localView(endpoint, this.options.viewContext());
  }

  /** Withdraws local endpoints, reconciles, and releases the slices no local endpoint uses any more. */
  private async remove(endpoints: readonly LocalEndpoint[]): Promise<void> {
    const state = this.options.state();
    const ids = new Set(endpoints.map((e) => e.id));
    state.endpoints = state.endpoints.filter((e) => !ids.has(e.id));
    for (const endpoint of endpoints) this.options.gossip().withdraw(endpoint.network, endpoint.id);
    await this.options.persist();
    await this.options.reconcile();
    for (const network of new Set(endpoints.map((e) => e.network))) {
      const cidr = state.subnets[network];
      if (cidr !== undefined) await this.releaseSliceIfUnused(network, cidr);
    }
  }

  private async releaseSliceIfUnused(network: string, cidr: string): Promise<void> {
    if (this.options.state().endpoints.some((e) => e.network === network)) return;
    if (this.options.keepsSlice?.(network)) return;
    const held = (this.options.registry.snapshot().subnets.get(network) ?? []).some((l) => l.node === this.options.node && l.cidr === cidr);
    if (!held) return;
    await this.options.registry.releaseSubnet(network, cidr, this.options.node).then(
      () => this.options.log("info", `released slice ${cidr} of ${network}: no local endpoint uses it (kept in the state, to be preferred next time)`),
      (err: unknown) => this.options.log("warn", `could not release slice ${cidr} of ${network}: ${errorText(err)}`),
    );
  }

  private nameTaken(network: string, name: string): boolean {
    const state = this.options.state();
    if (state.endpoints.some((e) => e.network === network && e.name === name)) return true;
    const localIds = new Set(state.endpoints.map((e) => e.id));
    return this.options.gossip().entries().some((e: EndpointRecord) => e.network === network && e.name === name && e.owner !== this.options.node && !localIds.has(e.endpointId));
  }

  private namespaceExists(netns: string): boolean {
    try {
      this.options.inspectNetns(parseNetnsReference(netns, "netns").path);
      return true;
    } catch (err) {
      return !(err instanceof WeftError && (err.code === "not-found" || err.code === "invalid-argument"));
    }
  }

  private publish(endpoint: LocalEndpoint): void {
    // aliases: D3's EndpointAnnouncement field (issue 7), passed through before it lands.
    const announcement = { network: endpoint.network, endpointId: endpoint.id, ip: endpoint.ip, mac: endpoint.mac, vtep: this.options.vtep, name: endpoint.name, aliases: endpoint.aliases ?? [], labels: endpoint.labels ?? {} };
    this.options.gossip().publish(announcement);
  }

  /** Re-announces every local endpoint (at start: the new versions win over what peers hold). */
  publishAll(): void {
    for (const endpoint of this.options.state().endpoints) this.publish(endpoint);
  }

  /** Runs work one at a time with attaches and detaches (slice claims and releases for services). */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.serialized(work);
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.lock.then(work, work);
    this.lock = run.catch(() => undefined);
    return run;
  }
}

/** A requested address: an IPv4 address of the network's subnet, with the slice that holds it. */
export function parseRequestedIp(ip: string, network: Pick<NetworkRecord, "name" | "subnet" | "hostPrefixLen">): { ip: string; slice: string } {
  if (!isIPv4(ip)) throw new WeftError("invalid-argument", `ip: ${JSON.stringify(printable(ip))} is not an IPv4 address`, { field: "ip" });
  const slice = sliceHolding(network.subnet, network.hostPrefixLen, ip);
  if (slice === undefined) throw new WeftError("invalid-argument", `ip: ${ip} is not in network "${network.name}"'s subnet ${network.subnet}`, { field: "ip" });
  return { ip, slice };
}

function initialNamespace(): NetnsId[] {
  try {
    const info = statSync("/proc/1/ns/net");
    return [{ dev: info.dev, ino: info.ino }];
  } catch {
    return [];
  }
}

function matchesReference(id: string, name: string, reference: string): boolean {
  return id === reference || name === reference || (reference.length >= 4 && id.startsWith(reference));
}
