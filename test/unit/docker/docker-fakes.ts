// Fakes for the Docker driver and IPAM: a weft agent, dockerd's Engine API, and in-memory stores.
import { WeftError } from "../../../proto/values/index.js";
import { DockerDriver } from "../../../agent/docker/docker-driver.js";
import { EndpointAttacher } from "../../../agent/docker/endpoint-attacher.js";
import type { DockerAgent, DockerContainer, DockerEngine, WeftNetwork, WeftNetworkSlices } from "../../../agent/docker/docker-agent.js";
import type { DockerPoolRecord, PoolStore } from "../../../agent/docker/docker-ipam.js";
import type { DockerNetworkRecord, NetworkStore } from "../../../agent/docker/network-store.js";
import type { CniAttachRequest, CniEndpoint } from "../../../agent/cni/cni-agent.js";

export const NID = "a".repeat(64);
export const EID = "b".repeat(64);

export class FakeAgent implements DockerAgent {
  networks = new Map<string, WeftNetwork>([["lab", { name: "lab", subnet: "10.40.0.0/16", internal: false, hostPrefixLen: 24 }]]);
  /** Slices per network (node "h1" is this host). */
  slices = new Map<string, Array<{ cidr: string; node: string }>>();
  endpoints = new Map<string, CniEndpoint>();
  attached: Array<CniAttachRequest & { ip?: string }> = [];
  detached: string[] = [];
  async findNetwork(name: string) {
    return this.networks.get(name);
  }
  async listNetworks() {
    return [...this.networks.values()];
  }
  async createNetwork({ name, subnet }: { name: string; subnet: string }) {
    if (subnet.startsWith("10.40.")) throw new WeftError("invalid-argument", `subnet: ${subnet} overlaps network lab`, { field: "subnet" });
    if ([...this.networks.values()].some((n) => n.name === name)) throw new WeftError("already-exists", `name: network "${name}" already exists`, { field: "name" });
    this.networks.set(name, { name, subnet, internal: false, hostPrefixLen: 24 });
  }
  async removeNetwork(name: string) {
    if (!this.networks.delete(name)) throw new WeftError("not-found", `network: no network "${name}"`, { field: "network" });
  }
  async networkSlices(name: string): Promise<WeftNetworkSlices | undefined> {
    const network = this.networks.get(name);
    if (!network) return undefined;
    const local = [...this.endpoints.values()].filter((e) => e.network === name);
    return { network: name, subnet: network.subnet, hostPrefixLen: network.hostPrefixLen, node: "h1", slices: this.slices.get(name) ?? [], localAddresses: new Map(local.map((e) => [e.interfaces[0]!.ip.split("/")[0]!, `weft endpoint ${e.name}`])) };
  }
  async attach(request: CniAttachRequest & { ip?: string }): Promise<CniEndpoint> {
    if (this.endpoints.has(request.name)) throw new WeftError("already-exists", `name: an endpoint named "${request.name}" already exists`, { field: "name" });
    this.attached.push(request);
    const endpoint: CniEndpoint = { id: `id-${request.name}`, name: request.name, network: request.network, local: true, gateway: "10.40.1.1", mtu: 1450, interfaces: [{ name: request.ifName, mac: "02:42:0a:28:01:02", ip: `${request.ip ?? "10.40.1.2"}/16` }], dns: { nameservers: ["10.40.1.1"], search: [request.network] } };
    this.endpoints.set(request.name, endpoint);
    return endpoint;
  }
  async detach(name: string) {
    if (!this.endpoints.delete(name)) throw new WeftError("not-found", `endpoint: no endpoint "${name}"`, { field: "endpoint" });
    this.detached.push(name);
  }
  async find(name: string) {
    return this.endpoints.get(name);
  }
}

export class FakeEngine implements DockerEngine {
  containers = new Map<string, DockerContainer>();
  async containerFor(_networkId: string, endpointId: string) {
    return this.containers.get(endpointId);
  }
}

export function memoryStore(): NetworkStore & { records: Map<string, DockerNetworkRecord> } {
  const records = new Map<string, DockerNetworkRecord>();
  const copy = (r: DockerNetworkRecord): DockerNetworkRecord => structuredClone(r);
  return {
    records,
    get: async (id) => (records.has(id) ? copy(records.get(id)!) : undefined),
    put: async (record) => void records.set(record.networkId, copy(record)),
    remove: async (id) => void records.delete(id),
    list: async () => [...records.values()].map(copy),
  };
}

export function memoryPools(): PoolStore & { records: Map<string, DockerPoolRecord> } {
  const records = new Map<string, DockerPoolRecord>();
  return {
    records,
    get: async (key) => (records.has(key) ? structuredClone(records.get(key)!) : undefined),
    put: async (key, value) => void records.set(key, structuredClone(value)),
    remove: async (key) => void records.delete(key),
    list: async () => [...records.values()].map((r) => structuredClone(r)),
  };
}

export function setup(options: { now?: () => number } = {}) {
  const agent = new FakeAgent();
  const engine = new FakeEngine();
  const store = memoryStore();
  let driver: DockerDriver | undefined;
  const resolvConfs: Array<[string, string]> = [];
  const pointResolvConf = async (path: string, content: string) => Boolean(resolvConfs.push([path, content]));
  const attacher = new EndpointAttacher({ agent, engine, record: (n, e, name, wanted) => driver!.recordAttached(n, e, name, wanted), pointResolvConf, pollMs: 1, timeoutMs: 5000, log: () => undefined });
  const pools = memoryPools();
  driver = new DockerDriver({ agent, store, pools, attacher, random: () => 0, ...options });
  return { agent, engine, store, pools, attacher, driver, resolvConfs };
}
