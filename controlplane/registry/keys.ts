// The etcd key layout under the prefix (default /weft/v1):
//   <prefix>/nodes/<node>                     NodeRecord, bound to the node's lease
//   <prefix>/networks/<network>               NetworkRecord
//   <prefix>/subnets/<network>/<a.b.c.d_len>  SubnetLeaseValue (the slice's "/" written as "_")
//   <prefix>/services/<service>               ServiceRecord
//   <prefix>/ports/<tcp|udp>/<port>           the name of the service publishing it
//   <prefix>/vips/<network>/<a.b.c.d>         the name of the service holding the VIP
export const DEFAULT_PREFIX = "/weft/v1";

export interface RegistryKeys {
  readonly prefix: string;
  readonly nodes: string;
  readonly networks: string;
  readonly subnets: string;
  readonly services: string;
  readonly ports: string;
  readonly vips: string;
  node(name: string): string;
  network(name: string): string;
  subnetsOf(network: string): string;
  subnet(network: string, cidr: string): string;
  service(name: string): string;
  port(protocol: string, port: number): string;
  vipsOf(network: string): string;
  vip(network: string, ip: string): string;
}

export function registryKeys(prefix = DEFAULT_PREFIX): RegistryKeys {
  const root = prefix.replace(/\/+$/, "");
  return {
    prefix: `${root}/`,
    nodes: `${root}/nodes/`,
    networks: `${root}/networks/`,
    subnets: `${root}/subnets/`,
    services: `${root}/services/`,
    ports: `${root}/ports/`,
    vips: `${root}/vips/`,
    node: (name) => `${root}/nodes/${name}`,
    network: (name) => `${root}/networks/${name}`,
    subnetsOf: (network) => `${root}/subnets/${network}/`,
    subnet: (network, cidr) => `${root}/subnets/${network}/${cidrToKeySegment(cidr)}`,
    service: (name) => `${root}/services/${name}`,
    port: (protocol, port) => `${root}/ports/${protocol}/${port}`,
    vipsOf: (network) => `${root}/vips/${network}/`,
    vip: (network, ip) => `${root}/vips/${network}/${ip}`,
  };
}

export function cidrToKeySegment(cidr: string): string {
  return cidr.replace("/", "_");
}

export function cidrFromKeySegment(segment: string): string {
  return segment.replace("_", "/");
}

/**
 * Which record a key under the prefix holds, or undefined for keys weft does not cache (ports/ and
 * vips/ are reservations read only inside the service transactions).
 */
export type ParsedKey =
  | { kind: "node"; name: string }
  | { kind: "network"; name: string }
  | { kind: "subnet"; network: string; cidr: string }
  | { kind: "service"; name: string };

export function classifyKey(keys: RegistryKeys, key: string): ParsedKey | undefined {
  if (!key.startsWith(keys.prefix)) return undefined;
  const parts = key.slice(keys.prefix.length).split("/");
  if (parts[0] === "nodes" && parts.length === 2 && parts[1]) return { kind: "node", name: parts[1] };
  if (parts[0] === "networks" && parts.length === 2 && parts[1]) return { kind: "network", name: parts[1] };
  if (parts[0] === "services" && parts.length === 2 && parts[1]) return { kind: "service", name: parts[1] };
  if (parts[0] === "subnets" && parts.length === 3 && parts[1] && parts[2]) {
    return { kind: "subnet", network: parts[1], cidr: cidrFromKeySegment(parts[2]) };
  }
  return undefined;
}
