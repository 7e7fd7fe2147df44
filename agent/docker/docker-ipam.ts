// libnetwork's remote IPAM calls -> weft: `docker network create --ipam-driver NAME` makes weft hand
// out the network's addresses, so the address Docker shows is the one weft programs. A pool is a weft
// network (the one of the subnet, created when none has it, or --ipam-opt weft.network=NAME); its
// gateway is this host's gateway on it, and containers get addresses of this host's slice, reserved
// here from RequestAddress (which comes before CreateEndpoint) until ReleaseAddress. The decisions
// are in ipam-addresses.ts; this file keeps the records.
import { createHash } from "node:crypto";
import { printable, prefixLength, WeftError } from "../../proto/values/index.js";
import type { DockerAgent, WeftNetwork } from "./docker-agent.js";
import { chooseAddress, hostSlice, liveReservations, type SliceView } from "./ipam-addresses.js";
import { parseReleaseAddress, parseReleasePool, parseRequestAddress, parseRequestPool, poolIdFor, POOL_NETWORK_OPTION } from "./ipam-request.js";
import type { JsonFileStore } from "./json-file-store.js";
import type { NetworkStore } from "./network-store.js";

/** One pool (a weft network) as this host's IPAM keeps it; on disk, so it outlives weftd's restarts. */
export interface DockerPoolRecord {
  weftNetwork: string;
  /** Docker networks on this host using the pool (RequestPool minus ReleasePool). */
  users: number;
  /** True when the IPAM created the weft network (the pool's last ReleasePool removes it). */
  created: boolean;
  /** The slice addresses were handed out from (preferred while this host holds none). */
  slice?: string;
  /** Addresses handed to Docker and not released yet -> when (ms since epoch). */
  reserved: Record<string, number>;
}

export type PoolStore = JsonFileStore<DockerPoolRecord>;

export interface IpamDeps {
  agent: DockerAgent;
  pools: PoolStore;
  /** The driver's records: an address a Docker endpoint holds is never stale. */
  networks: NetworkStore;
  now?: () => number;
  random?: () => number;
}

/** The weft network the IPAM creates for a subnet no weft network has: the same name on every host. */
export function poolNetworkName(subnet: string): string {
  return `docker-${createHash("sha256").update(subnet).digest("hex").slice(0, 12)}`;
}

export const POOL_CREATED_LABEL = "weft.docker.pool";

const NOTHING = {};

/** Called under the driver's lock (DockerDriver.handle), one call at a time. */
export class DockerIpam {
  constructor(private readonly deps: IpamDeps) {}

  async requestPool(body: unknown): Promise<object> {
    const request = parseRequestPool(body);
    const { network, created } = await this.poolNetwork(request);
    const record = (await this.deps.pools.get(network.name)) ?? fresh(network.name);
    record.users += 1;
    record.created ||= created;
    try {
      await this.deps.pools.put(network.name, record);
    } catch (err) {
      if (created) await this.deps.agent.removeNetwork(network.name).catch(() => undefined);
      throw err;
    }
    return { PoolID: poolIdFor(network.name), Pool: network.subnet, Data: {} };
  }

  async releasePool(body: unknown): Promise<object> {
    const name = parseReleasePool(body);
    const record = await this.deps.pools.get(name);
    if (!record) return NOTHING;
    record.users -= 1;
    if (record.users > 0) {
      await this.deps.pools.put(name, record);
      return NOTHING;
    }
    if (record.created) {
      try {
        await this.deps.agent.removeNetwork(name);
      } catch (err) {
        // Gone already, or other hosts' containers still use it: it stays (weft network rm, later).
        if (!(err instanceof WeftError && (err.code === "not-found" || err.code === "failed-precondition"))) throw err;
      }
    }
    await this.deps.pools.remove(name);
    return NOTHING;
  }

  async requestAddress(body: unknown): Promise<object> {
    const request = parseRequestAddress(body);
    const view = await this.view(request.weftNetwork);
    const record = (await this.deps.pools.get(view.network)) ?? fresh(view.network);
    const now = (this.deps.now ?? Date.now)();
    record.reserved = liveReservations(record.reserved, await this.held(view), now);
    const slice = hostSlice(view, record.slice, this.deps.random);
    const used = new Map(view.localAddresses);
    for (const ip of Object.keys(record.reserved)) if (!used.has(ip)) used.set(ip, "another Docker endpoint");
    const ip = chooseAddress({ view, slice, gateway: request.gateway, used, ...(request.address !== undefined ? { address: request.address } : {}) });
    if (!request.gateway) record.reserved[ip] = now;
    record.slice = slice;
    await this.deps.pools.put(view.network, record);
    return { Address: `${ip}/${prefixLength(view.subnet)}`, Data: {} };
  }

  /** Idempotent: an address not reserved (the gateway, or released already) is nothing to do. */
  async releaseAddress(body: unknown): Promise<object> {
    const { weftNetwork, address } = parseReleaseAddress(body);
    const record = await this.deps.pools.get(weftNetwork);
    if (!record || !(address in record.reserved)) return NOTHING;
    delete record.reserved[address];
    await this.deps.pools.put(weftNetwork, record);
    return NOTHING;
  }

  private async poolNetwork(request: { weftNetwork?: string; pool?: string }): Promise<{ network: WeftNetwork; created: boolean }> {
    const { agent } = this.deps;
    if (request.weftNetwork !== undefined) {
      const network = await agent.findNetwork(request.weftNetwork);
      const field = `Options.${POOL_NETWORK_OPTION}`;
      if (!network) throw new WeftError("not-found", `${field}: no weft network "${printable(request.weftNetwork)}" (weft network create)`, { field });
      if (request.pool !== undefined && request.pool !== network.subnet) {
        throw new WeftError("invalid-argument", `Pool: ${request.pool} is not weft network ${network.name}'s subnet ${network.subnet} (give --subnet ${network.subnet})`, { field: "Pool" });
      }
      return { network, created: false };
    }
    const subnet = request.pool!;
    const bySubnet = async () => (await agent.listNetworks()).find((n) => n.subnet === subnet);
    const existing = await bySubnet();
    if (existing) return { network: existing, created: false };
    // The same name on every host: two hosts creating the pool at once meet on one weft network.
    const name = poolNetworkName(subnet);
    try {
      await agent.createNetwork({ name, subnet, labels: { [POOL_CREATED_LABEL]: name.slice("docker-".length) } });
    } catch (err) {
      const raced = err instanceof WeftError && err.code === "already-exists" ? await bySubnet() : undefined;
      if (raced) return { network: raced, created: false };
      throw err instanceof WeftError ? new WeftError(err.code, `Pool: ${err.message}`, { field: "Pool", cause: err }) : err;
    }
    const network = await agent.findNetwork(name);
    if (!network) throw new WeftError("unavailable", `Pool: weft network ${name} was created but is not visible yet; try again`, { field: "Pool" });
    return { network, created: true };
  }

  private async view(weftNetwork: string): Promise<SliceView & { localAddresses: Map<string, string> }> {
    const view = await this.deps.agent.networkSlices(weftNetwork);
    if (!view) throw new WeftError("not-found", `PoolID: weft network "${printable(weftNetwork)}" is gone`, { field: "PoolID" });
    return view;
  }

  /** Addresses a Docker endpoint (per the driver's records) or a weft endpoint on this host holds. */
  private async held(view: { network: string; localAddresses: Map<string, string> }): Promise<Set<string>> {
    const held = new Set(view.localAddresses.keys());
    for (const record of await this.deps.networks.list()) {
      if (record.weftNetwork !== view.network) continue;
      for (const ip of Object.values(record.addresses ?? {})) held.add(ip);
    }
    return held;
  }
}

function fresh(weftNetwork: string): DockerPoolRecord {
  return { weftNetwork, users: 0, created: false, reserved: {} };
}
