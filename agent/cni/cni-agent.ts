// What the CNI handler needs from the agent, and nothing more: a narrow interface so the handler is
// tested against a fake and served either over the agent's gRPC API (grpc-cni-agent.ts) or in-process.
// Errors are WeftErrors (code + field), "unavailable" when the agent cannot be reached.

export interface CniInterface {
  name: string;
  mac: string;
  /** CIDR form, e.g. "10.40.1.2/16". */
  ip: string;
}

export interface CniEndpoint {
  id: string;
  name: string;
  network: string;
  /** True when this agent owns the endpoint. */
  local: boolean;
  /** The container's gateway on its network (the bridge's address). */
  gateway: string;
  mtu: number;
  /** The overlay interface first, then the egress leg (absent on internal networks). */
  interfaces: CniInterface[];
  dns?: { nameservers: string[]; search: string[] };
}

export interface CniAttachRequest {
  network: string;
  netns: string;
  name: string;
  ifName: string;
  aliases: string[];
  /** An address of this node's slice the endpoint must get (Docker's IPAM chose it); absent: weft picks. */
  ip?: string;
}

export interface CniAgent {
  attach(request: CniAttachRequest): Promise<CniEndpoint>;
  /** Throws not-found when this node has no such endpoint. */
  detach(name: string): Promise<void>;
  /** Undefined when no endpoint has that name. */
  find(name: string): Promise<CniEndpoint | undefined>;
  /** Every endpoint of the network (local and remote). */
  list(network: string): Promise<CniEndpoint[]>;
  /** Resolves when the agent answers (STATUS, and `weft cni install`). */
  ping(): Promise<void>;
}
