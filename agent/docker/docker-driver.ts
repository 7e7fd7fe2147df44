// libnetwork's remote network driver calls -> weft. A Docker network maps onto a weft network (named
// by `-o weft.network`, or created for the subnet); a Docker endpoint becomes a weft endpoint in the
// container's namespace. Docker calls Join before the container's process exists and would move an
// interface only from its own namespace, which is not how weft attaches, so Join answers at once
// (no interface, no gateway: weft's egress leg is the default route) and the attach follows in the
// background as soon as dockerd reports the container's pid (endpoint-attacher.ts), which then also
// points the container's resolv.conf at weft's DNS (resolv-conf.ts). The same plugin is Docker's IPAM
// driver (docker-ipam.ts): on a network using it, the attach asks weft for the address Docker shows.
import { isName, WeftError } from "../../proto/values/index.js";
import type { DockerAgent } from "./docker-agent.js";
import { DockerIpam, type PoolStore } from "./docker-ipam.js";
import { parseCreateEndpoint, parseCreateNetwork, parseEndpoint, parseJoin, parseNetworkId } from "./docker-request.js";
import { WEFT_ADDRESS_SPACE } from "./ipam-request.js";
import type { DockerNetworkRecord, NetworkStore } from "./network-store.js";

export interface DriverReply {
  status: number;
  body: unknown;
}

/** Starts or cancels the background attach of one endpoint (endpoint-attacher.ts). */
export interface Attacher {
  start(record: DockerNetworkRecord, endpointId: string): void;
  /** Stops a pending attach (called under the driver's lock; see DockerDriver.recordAttached). */
  cancel(endpointId: string): void;
}

export interface DriverDeps {
  agent: DockerAgent;
  store: NetworkStore;
  attacher: Attacher;
  /** The IPAM driver's pools. */
  pools: PoolStore;
  now?: () => number;
  random?: () => number;
}

/** A weft network the driver creates for a Docker network given only a subnet. */
export function createdNetworkName(networkId: string): string {
  return `docker-${networkId.slice(0, 12)}`;
}

export const CREATED_BY_LABEL = "weft.docker.network";

const NOTHING = {};

export class DockerDriver {
  private lock: Promise<unknown> = Promise.resolve();
  readonly ipam: DockerIpam;

  constructor(private readonly deps: DriverDeps) {
    const { agent, pools, store, now, random } = deps;
    this.ipam = new DockerIpam({ agent, pools, networks: store, ...(now ? { now } : {}), ...(random ? { random } : {}) });
  }

  /** One call: the URL path (e.g. "/NetworkDriver.Join") and the parsed JSON body. */
  handle(path: string, body: unknown): Promise<DriverReply> {
    const call = CALLS[path];
    if (!call) return Promise.resolve({ status: 404, body: { Err: `weft: ${path.slice(0, 80)} is not implemented` } });
    return this.serialized(async () => {
      try {
        return { status: 200, body: await call(this, body) };
      } catch (err) {
        return errorReply(err);
      }
    });
  }

  /** The weft endpoint attached for a Docker endpoint: recorded by the attacher. */
  recordAttached(networkId: string, endpointId: string, weftName: string, wanted: () => boolean): Promise<boolean> {
    return this.serialized(async () => {
      if (!wanted()) return false;
      const record = await this.deps.store.get(networkId);
      if (!record || !(endpointId in record.endpoints)) return false;
      record.endpoints[endpointId] = weftName;
      await this.deps.store.put(record);
      return true;
    });
  }

  async createNetwork(body: unknown): Promise<object> {
    const request = parseCreateNetwork(body);
    const existing = await this.deps.store.get(request.networkId);
    if (existing) return NOTHING;
    const { agent } = this.deps;
    const ipam = request.addressSpace === WEFT_ADDRESS_SPACE ? { weftIpam: true, addresses: {} } : {};
    if (request.weftNetwork !== undefined) {
      const network = await agent.findNetwork(request.weftNetwork);
      if (!network) throw new WeftError("not-found", `Options.weft.network: no weft network "${request.weftNetwork}" (weft network create)`, { field: "Options.weft.network" });
      if (request.subnet !== undefined && request.subnet !== network.subnet) {
        throw new WeftError("invalid-argument", `IPv4Data[0].Pool: ${request.subnet} is not weft network ${network.name}'s subnet ${network.subnet} (give --subnet ${network.subnet})`, { field: "IPv4Data[0].Pool" });
      }
      await this.deps.store.put({ networkId: request.networkId, weftNetwork: network.name, created: false, endpoints: {}, ...ipam });
      return NOTHING;
    }
    // Docker's network ids differ from host to host (local scope): the same subnet given on another
    // host finds the weft network the first host created, and so both hosts' containers meet.
    const same = (await agent.listNetworks()).find((n) => n.subnet === request.subnet);
    if (same) {
      await this.deps.store.put({ networkId: request.networkId, weftNetwork: same.name, created: false, endpoints: {}, ...ipam });
      return NOTHING;
    }
    const name = createdNetworkName(request.networkId);
    await agent.createNetwork({ name, subnet: request.subnet!, labels: { [CREATED_BY_LABEL]: request.networkId.slice(0, 12) } });
    try {
      await this.deps.store.put({ networkId: request.networkId, weftNetwork: name, created: true, endpoints: {}, ...ipam });
    } catch (err) {
      await agent.removeNetwork(name).catch(() => undefined);
      throw err;
    }
    return NOTHING;
  }

  async deleteNetwork(body: unknown): Promise<object> {
    const networkId = parseNetworkId(body);
    const record = await this.deps.store.get(networkId);
    if (!record) return NOTHING;
    if (record.created) {
      try {
        await ignoreNotFound(this.deps.agent.removeNetwork(record.weftNetwork));
      } catch (err) {
        // Other hosts' containers still use it: the weft network stays (weft network rm, later).
        if (!(err instanceof WeftError && err.code === "failed-precondition")) throw err;
      }
    }
    await this.deps.store.remove(networkId);
    return NOTHING;
  }

  async createEndpoint(body: unknown): Promise<object> {
    const { networkId, endpointId, address } = parseCreateEndpoint(body);
    const record = await this.known(networkId);
    // With weft's IPAM the address is the one it reserved in this host's slice: the attach asks for it.
    const wanted = record.weftIpam && address !== undefined ? address : undefined;
    if (!(endpointId in record.endpoints) || record.addresses?.[endpointId] !== wanted) {
      record.endpoints[endpointId] ??= "";
      if (wanted !== undefined) record.addresses = { ...record.addresses, [endpointId]: wanted };
      await this.deps.store.put(record);
    }
    // Docker's own interface values (the address, a MAC) are left as they are: answering none.
    return NOTHING;
  }

  async join(body: unknown): Promise<object> {
    const { networkId, endpointId } = parseJoin(body);
    const record = await this.known(networkId);
    if (!(endpointId in record.endpoints)) throw new WeftError("not-found", `EndpointID: no endpoint ${endpointId.slice(0, 12)} in network ${networkId.slice(0, 12)}`, { field: "EndpointID" });
    this.deps.attacher.start(record, endpointId);
    // No gateway and no interface: Docker then adds neither its docker_gwbridge leg nor a default route.
    return { DisableGatewayService: true };
  }

  async leave(body: unknown): Promise<object> {
    const { networkId, endpointId } = parseEndpoint(body);
    await this.detach(networkId, endpointId, false);
    return NOTHING;
  }

  async deleteEndpoint(body: unknown): Promise<object> {
    const { networkId, endpointId } = parseEndpoint(body);
    await this.detach(networkId, endpointId, true);
    return NOTHING;
  }

  async endpointOperInfo(body: unknown): Promise<object> {
    const { networkId, endpointId } = parseEndpoint(body);
    const record = await this.known(networkId);
    const name = record.endpoints[endpointId];
    const endpoint = name ? await this.deps.agent.find(name) : undefined;
    const value: Record<string, string> = {};
    if (endpoint) {
      value["weft.endpoint"] = endpoint.id;
      for (const i of endpoint.interfaces) value[`weft.${i.name}`] = i.ip;
    }
    return { Value: value };
  }

  /** Leave and DeleteEndpoint: both idempotent, both take the weft endpoint away. */
  private async detach(networkId: string, endpointId: string, forget: boolean): Promise<void> {
    this.deps.attacher.cancel(endpointId);
    const record = await this.deps.store.get(networkId);
    if (!record || !(endpointId in record.endpoints)) return;
    const name = record.endpoints[endpointId];
    if (name) await ignoreNotFound(this.deps.agent.detach(name));
    if (forget) {
      delete record.endpoints[endpointId];
      if (record.addresses) delete record.addresses[endpointId];
    } else record.endpoints[endpointId] = "";
    await this.deps.store.put(record);
  }

  private async known(networkId: string): Promise<DockerNetworkRecord> {
    const record = await this.deps.store.get(networkId);
    if (!record) throw new WeftError("not-found", `NetworkID: weft's driver has no network ${networkId.slice(0, 12)}`, { field: "NetworkID" });
    return record;
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.lock.then(work, work);
    this.lock = run.catch(() => undefined);
    return run;
  }
}

type Call = (driver: DockerDriver, body: unknown) => Promise<object>;

const CALLS: Record<string, Call> = {
  "/Plugin.Activate": () => Promise.resolve({ Implements: ["NetworkDriver", "IpamDriver"] }),
  // Local scope: global scope needs Docker 20.10's deprecated cluster store. Connectivity is global.
  "/NetworkDriver.GetCapabilities": () => Promise.resolve({ Scope: "local", ConnectivityScope: "global" }),
  "/NetworkDriver.CreateNetwork": (d, b) => d.createNetwork(b),
  "/NetworkDriver.DeleteNetwork": (d, b) => d.deleteNetwork(b),
  "/NetworkDriver.CreateEndpoint": (d, b) => d.createEndpoint(b),
  "/NetworkDriver.DeleteEndpoint": (d, b) => d.deleteEndpoint(b),
  "/NetworkDriver.EndpointOperInfo": (d, b) => d.endpointOperInfo(b),
  "/NetworkDriver.Join": (d, b) => d.join(b),
  "/NetworkDriver.Leave": (d, b) => d.leave(b),
  // Node discovery and external connectivity: weft learns peers from etcd and gossip, and egress is
  // weft's own leg, so these have nothing to do.
  "/NetworkDriver.DiscoverNew": () => Promise.resolve(NOTHING),
  "/NetworkDriver.DiscoverDelete": () => Promise.resolve(NOTHING),
  "/NetworkDriver.ProgramExternalConnectivity": () => Promise.resolve(NOTHING),
  "/NetworkDriver.RevokeExternalConnectivity": () => Promise.resolve(NOTHING),
  // No replay: pool ids name weft networks and reservations are on disk, so both outlive restarts.
  "/IpamDriver.GetCapabilities": () => Promise.resolve({ RequiresMACAddress: false, RequiresRequestReplay: false }),
  "/IpamDriver.GetDefaultAddressSpaces": () => Promise.resolve({ LocalDefaultAddressSpace: WEFT_ADDRESS_SPACE, GlobalDefaultAddressSpace: WEFT_ADDRESS_SPACE }),
  "/IpamDriver.RequestPool": (d, b) => d.ipam.requestPool(b),
  "/IpamDriver.ReleasePool": (d, b) => d.ipam.releasePool(b),
  "/IpamDriver.RequestAddress": (d, b) => d.ipam.requestAddress(b),
  "/IpamDriver.ReleaseAddress": (d, b) => d.ipam.releaseAddress(b),
};

function errorReply(err: unknown): DriverReply {
  const message = err instanceof Error ? err.message : String(err);
  // 404 stays for calls the driver lacks: Docker reads a 404 as "not implemented" and skips some.
  const status = err instanceof WeftError && err.code === "invalid-argument" ? 400 : 500;
  return { status, body: { Err: `weft: ${message}` } };
}

async function ignoreNotFound(work: Promise<void>): Promise<void> {
  try {
    await work;
  } catch (err) {
    if (!(err instanceof WeftError && err.code === "not-found")) throw err;
  }
}

/** The weft name for a container: its Docker name when weft's name rule allows it. */
export function endpointNameFor(containerName: string, endpointId: string): string {
  const name = containerName.replace(/^\//, "");
  return isName(name) ? name : `docker-${endpointId.slice(0, 12)}`;
}
