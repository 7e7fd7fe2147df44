// The driver's state per Docker network: which weft network it maps onto, whether the driver created
// it (then DeleteNetwork removes it), the weft endpoint of each Docker endpoint, and, on networks
// whose addresses weft's IPAM hands out, each endpoint's address. Kept on disk, one file per Docker
// network, because dockerd never repeats CreateNetwork: after a restart of weftd the driver must
// still know the networks dockerd already has.
import { jsonFileStore } from "./json-file-store.js";

export interface DockerNetworkRecord {
  networkId: string;
  weftNetwork: string;
  /** True when the driver created the weft network (and so removes it with the Docker network). */
  created: boolean;
  /** Docker endpoint id -> the weft endpoint's name (once attached). */
  endpoints: Record<string, string>;
  /** True when weft's IPAM driver hands out the network's addresses (IPv4Data's AddressSpace). */
  weftIpam?: boolean;
  /** Docker endpoint id -> the address weft's IPAM gave it, which the attach then asks for. */
  addresses?: Record<string, string>;
}

export interface NetworkStore {
  get(networkId: string): Promise<DockerNetworkRecord | undefined>;
  put(record: DockerNetworkRecord): Promise<void>;
  remove(networkId: string): Promise<void>;
  list(): Promise<DockerNetworkRecord[]>;
}

/** Files under `dir`, named by the Docker network id (validated by the caller: 64 hex digits). */
export function fileNetworkStore(dir: string): NetworkStore {
  const files = jsonFileStore<DockerNetworkRecord>(dir);
  return { get: (id) => files.get(id), put: (record) => files.put(record.networkId, record), remove: (id) => files.remove(id), list: () => files.list() };
}
