// The etcd key layout under the prefix (default /weft/v1):
//   <prefix>/nodes/<node>                     NodeRecord, bound to the node's lease
//   <prefix>/networks/<network>               NetworkRecord
//   <prefix>/subnets/<network>/<a.b.c.d_len>  SubnetLeaseValue (the slice's "/" written as "_")
export const DEFAULT_PREFIX = "/weft/v1";

export interface RegistryKeys {
  readonly prefix: string;
  readonly nodes: string;
  readonly networks: string;
  readonly subnets: string;
  node(name: string): string;
  network(name: string): string;
  subnetsOf(network: string): string;
  subnet(network: string, cidr: string): string;
}

export function registryKeys(prefix = DEFAULT_PREFIX): RegistryKeys {
  const root = prefix.replace(/\/+$/, "");
  return {
    prefix: `${root}/`,
    nodes: `${root}/nodes/`,
    networks: `${root}/networks/`,
    subnets: `${root}/subnets/`,
    node: (name) => `${root}/nodes/${name}`,
    network: (name) => `${root}/networks/${name}`,
    subnetsOf: (network) => `${root}/subnets/${network}/`,
    subnet: (network, cidr) => `${root}/subnets/${network}/${cidrToKeySegment(cidr)}`,
  };
}

export function cidrToKeySegment(cidr: string): string {
  return cidr.replace("/", "_");
}

export function cidrFromKeySegment(segment: string): string {
  return segment.replace("_", "/");
}

/** Which record a key under the prefix holds, or undefined for keys weft does not know. */
export type ParsedKey =
  | { kind: "node"; name: string }
  | { kind: "network"; name: string }
  | { kind: "subnet"; network: string; cidr: string };

export function classifyKey(keys: RegistryKeys, key: string): ParsedKey | undefined {
  if (!key.startsWith(keys.prefix)) return undefined;
  const parts = key.slice(keys.prefix.length).split("/");
  if (parts[0] === "nodes" && parts.length === 2 && parts[1]) return { kind: "node", name: parts[1] };
  if (parts[0] === "networks" && parts.length === 2 && parts[1]) return { kind: "network", name: parts[1] };
  if (parts[0] === "subnets" && parts.length === 3 && parts[1] && parts[2]) {
    return { kind: "subnet", network: parts[1], cidr: cidrFromKeySegment(parts[2]) };
  }
  return undefined;
}
