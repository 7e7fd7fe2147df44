// What `weft trace` answers and what the topology page shows: the path of one flow hop by hop, each
// hop with what weft expected and what the kernel holds, and the traffic counters of every link.
// Plain values: the CLI prints them, the API and the page carry them as JSON.

export type TraceProto = "tcp" | "udp" | "icmp";

export interface TraceRequest {
  /** An endpoint name, ID or IP. */
  from: string;
  /** An endpoint name, ID or IP, a service name, or a published HOST:PORT. */
  to: string;
  port?: number;
  proto?: TraceProto;
  /** Send one real probe from the source's namespace and report which counters moved. */
  probe?: boolean;
  /** TCP/UDP: the client's source port the trace assumes (services hash it) and the probe uses; a fixed default. */
  sourcePort?: number;
}

export type HopLayer =
  | "container"
  | "route"
  | "veth"
  | "bridge"
  | "fdb"
  | "neighbour"
  | "underlay"
  | "vxlan"
  | "nftables"
  | "nat"
  | "gwbridge"
  | "peer";

export interface HopCounters {
  packets?: number;
  bytes?: number;
  /** With a probe: how much each moved while it ran. */
  packetsDelta?: number;
  bytesDelta?: number;
}

export interface TraceHop {
  /** The node whose kernel this hop was read from. */
  host: string;
  layer: HopLayer;
  /** The kernel object, as `ip`/`bridge`/`nft` would name it (e.g. "fdb 02:42:0a:.. dst 10.9.0.2 dev weft-vx-42"). */
  object: string;
  expected: string;
  actual: string;
  ok: boolean;
  counters?: HopCounters;
  /** When not ok: what is wrong, in plain words, and its likely cause. */
  problem?: string;
  cause?: string;
  /** Commands that show this hop by hand. */
  see?: string[];
}

export interface TraceEnd {
  kind: "endpoint" | "service" | "published" | "external";
  /** What the user named, resolved (endpoint or service name, or HOST:PORT). */
  name: string;
  ip: string;
  host?: string;
  network?: string;
  endpointId?: string;
}

export interface TraceReport {
  from: TraceEnd;
  to: TraceEnd;
  proto: TraceProto;
  port?: number;
  hops: TraceHop[];
  /** Every hop ok. */
  ok: boolean;
  /** Index in hops of the first hop that is not ok. */
  brokenAt?: number;
  /** One or two sentences: the path, or where and why it breaks. */
  summary: string;
  probe?: { sent: boolean; answered: boolean; detail: string };
  /** TCP/UDP: the client's source port the trace assumed. */
  sourcePort?: number;
}

/** The traffic of one link on one host, read from the kernel's counters. */
export interface LinkTraffic {
  host: string;
  /** endpoint: a container's host-side veth; vxlan: a network's VXLAN device; gwbridge: the egress bridge; peer: VXLAN traffic to one other host. */
  kind: "endpoint" | "vxlan" | "gwbridge" | "peer";
  /** The kernel's name for it (an interface, or a counter). */
  name: string;
  network?: string;
  endpointId?: string;
  /** For kind "peer": the other node. */
  peer?: string;
  rxBytes: number;
  txBytes: number;
  rxPackets: number;
  txPackets: number;
}

/** Cluster-wide observation, asked of the local agent; it asks the other agents for their part. */
export interface ClusterObserver {
  trace(request: TraceRequest): Promise<TraceReport>;
  /** Counters of every link on every host that answered; hosts that did not are listed. */
  traffic(): Promise<{ links: LinkTraffic[]; unreachable: string[] }>;
}
