import { isIPv4, isName } from "../../proto/values/index.js";

/** One endpoint as the DNS sees it: its name, its aliases and its address on the network. */
export interface DnsEndpoint {
  name: string;
  aliases: readonly string[];
  ip: string;
}

/** A service as the DNS sees it: what NAME (and NAME.NETWORK) answers, and what tasks.NAME answers. */
export interface DnsService {
  name: string;
  /** vip mode: the VIP; dnsrr mode: the backends. */
  addresses: readonly string[];
  /** The backends' addresses. */
  tasks: readonly string[];
  /** vip mode: the VIP, which a PTR query names as NAME.NETWORK. */
  vip?: string;
}

/** The live gossip view of endpoints, per network, and the network's services. */
export interface DnsRecordSource {
  endpoints(network: string): Iterable<DnsEndpoint>;
  /** Optional: the network's services; a service's name wins over an endpoint's of the same name. */
  services?(network: string): Iterable<DnsService>;
  /**
   * Optional: a number that changes whenever any endpoint changes. When given, the server rebuilds a
   * network's index only when it moved; without it, on every query.
   */
  revision?(): number;
}

/**
 * One network's names, ready for lookups: lower-case name (or alias) -> addresses, and address ->
 * the names a PTR answer gives. DNS names compare case-insensitively; weft names keep their case.
 */
export class ZoneIndex {
  readonly #addresses = new Map<string, string[]>();
  readonly #names = new Map<string, string[]>();

  private constructor(
    /** The network's name in lower case: the zone's own domain. */
    readonly domain: string,
  ) {}

  /**
   * Indexes the endpoints of `network`. Entries that are not usable (an address that is not IPv4, a
   * name that breaks the name rule) are skipped: gossip has validated them, but the source is an
   * interface and the index must never hold something the wire format cannot carry.
   */
  static build(network: string, endpoints: Iterable<DnsEndpoint>, services: Iterable<DnsService> = []): ZoneIndex {
    const index = new ZoneIndex(network.toLowerCase());
    for (const endpoint of endpoints) {
      if (!isIPv4(endpoint.ip)) continue;
      const names = [endpoint.name, ...endpoint.aliases].filter((name) => isName(name));
      for (const name of names) index.#add(index.#addresses, name.toLowerCase(), endpoint.ip);
      // A PTR names the endpoint by its own name; an endpoint without one, by its first alias.
      if (names[0] !== undefined) index.#add(index.#names, endpoint.ip, `${names[0]}.${network}`);
    }
    for (const service of services) {
      if (!isName(service.name)) continue;
      const name = service.name.toLowerCase();
      // A service with no address to give (dnsrr with no backend) leaves the name to whatever else has it.
      const addresses = service.addresses.filter(isIPv4);
      if (addresses.length > 0) index.#addresses.set(name, [...new Set(addresses)]);
      const tasks = service.tasks.filter(isIPv4);
      if (tasks.length > 0) index.#addresses.set(`tasks.${name}`, [...new Set(tasks)]);
      if (service.vip !== undefined && isIPv4(service.vip)) index.#names.set(service.vip, [`${service.name}.${network}`]);
    }
    return index;
  }

  /** Addresses behind a lower-case name, in no particular order; undefined when none. */
  addresses(name: string): readonly string[] | undefined {
    return this.#addresses.get(name);
  }

  /** Fully qualified names (NAME.NETWORK) of the endpoints holding `ip`; undefined when none. */
  names(ip: string): readonly string[] | undefined {
    return this.#names.get(ip);
  }

  #add(map: Map<string, string[]>, key: string, value: string): void {
    const list = map.get(key);
    if (list === undefined) map.set(key, [value]);
    else if (!list.includes(value)) list.push(value);
  }
}
