// What the kernel holds for a flow on one host, as plain values read from iproute2's and nft's JSON
// (host-inspector.ts) and parsed by pure functions (iproute-json.ts, nft-json.ts). JSON-safe: an agent
// sends its snapshot to the agent that asked, which compares it with what weft expected.

export interface LinkCounters {
  rxBytes: number;
  rxPackets: number;
  txBytes: number;
  txPackets: number;
  rxDropped: number;
  txDropped: number;
}

export interface LinkSnapshot {
  name: string;
  /** Operationally usable: admin UP and the lower layer up (or a device without carrier, like VXLAN: UNKNOWN). */
  up: boolean;
  operstate: string;
  mtu: number;
  mac: string;
  /** The bridge it is a port of. */
  master?: string;
  counters: LinkCounters;
}

/** One `bridge fdb` entry of a VXLAN device: MAC -> remote VTEP (dst). */
export interface FdbSnapshot {
  device: string;
  mac: string;
  dst?: string;
  state: string;
}

export interface NeighbourSnapshot {
  device: string;
  ip: string;
  mac?: string;
  /** PERMANENT, REACHABLE, FAILED, ... */
  state: string[];
}

/** `ip route get DST`: the route the kernel picks. */
export interface RouteSnapshot {
  dst: string;
  dev: string;
  gateway?: string;
  prefsrc?: string;
}

/** A container's side, read inside its network namespace. */
export interface NamespaceSnapshot {
  /** The namespace as the agent recorded it (a name under /run/netns, or a path). */
  netns?: string;
  /** The endpoint's interface there (eth0). */
  link?: LinkSnapshot;
  route?: RouteSnapshot;
  /** The interface the route leaves by, when it is not the endpoint's own (its egress leg, say). */
  routeLink?: LinkSnapshot;
  /** What went wrong reading it (namespace gone, ...). */
  error?: string;
}

export interface NftCounterSnapshot {
  name: string;
  packets: number;
  bytes: number;
}

/** A map of weft's table: key -> value, as nft lists them (slot -> backend IP for the Maglev maps). */
export interface NftMapSnapshot {
  name: string;
  elements: Array<[string, string]>;
}

export interface NftRuleSnapshot {
  chain: string;
  handle: number;
  /** A short nft-like text of the rule (matches and verdict). */
  text: string;
}

export interface NftSnapshot {
  /** False when weft's table is not there at all. */
  table: boolean;
  counters: NftCounterSnapshot[];
  maps: NftMapSnapshot[];
  rules: NftRuleSnapshot[];
}

export interface HostSnapshot {
  host: string;
  /** When it was read (ms since the epoch, the reader's clock). */
  readAtMs: number;
  links: LinkSnapshot[];
  fdb: FdbSnapshot[];
  neighbours: NeighbourSnapshot[];
  /** `ip route get` on the host, by destination (the underlay route to a peer's VTEP, ...). */
  routes: RouteSnapshot[];
  /** By endpoint id. */
  namespaces: Record<string, NamespaceSnapshot>;
  nft?: NftSnapshot;
  /** Commands that failed (each one line), so a partial snapshot says what it lacks. */
  errors: string[];
}
