// What the Docker driver needs from weft and from dockerd, and nothing more: narrow interfaces so the
// driver is tested against fakes and served over the agent's own gRPC API (grpc-docker-agent.ts),
// like the CNI handler. Errors are WeftErrors ("unavailable" when the agent cannot be reached).
import type { CniAgent, CniAttachRequest, CniEndpoint } from "../cni/cni-agent.js";
import type { SliceView } from "./ipam-addresses.js";

export interface WeftNetwork {
  name: string;
  subnet: string;
  internal: boolean;
  hostPrefixLen: number;
}

/** A weft network's slices as this host sees them, and its local endpoints' addresses (-> name). */
export interface WeftNetworkSlices extends SliceView {
  localAddresses: Map<string, string>;
}

export interface DockerAgent extends Pick<CniAgent, "detach" | "find"> {
  /** `ip`: the address weft's IPAM gave the endpoint (in this host's slice). */
  attach(request: CniAttachRequest & { ip?: string }): Promise<CniEndpoint>;
  /** Undefined when weft has no network of that name. */
  findNetwork(name: string): Promise<WeftNetwork | undefined>;
  listNetworks(): Promise<WeftNetwork[]>;
  /** Undefined when weft has no network of that name. */
  networkSlices(name: string): Promise<WeftNetworkSlices | undefined>;
  createNetwork(request: { name: string; subnet: string; labels: Record<string, string> }): Promise<void>;
  /** Throws not-found when the network is gone already, failed-precondition while in use. */
  removeNetwork(name: string): Promise<void>;
}

/** A container as dockerd reports it once it runs: its name and the pid whose namespace it uses. */
export interface DockerContainer {
  name: string;
  pid: number;
  /** The host file dockerd bind-mounts as the container's /etc/resolv.conf. */
  resolvConfPath?: string;
}

export interface DockerEngine {
  /**
   * The running container joined to `networkId` through `endpointId`; undefined while dockerd has
   * not started it yet (the driver's Join comes before the container's process exists).
   */
  containerFor(networkId: string, endpointId: string): Promise<DockerContainer | undefined>;
}
