// What the tracing agent knows before it reads any kernel: the two ends resolved from its gossip view
// and the registry, what weft wants programmed for them (names, MACs, VTEPs, MTUs, the service's
// Maglev table), and the peers' states. Plain values, the input of the pure analysis.
import type { HostSnapshot } from "../../dataplane/inspect/index.js";
import type { EndpointView } from "../endpoints/endpoint-view.js";
import type { TraceProto } from "./trace-report.js";

/** An endpoint as gossip has it, on any host. */
export type EndpointFact = Pick<EndpointView, "id" | "name" | "network" | "node" | "ip" | "mac" | "vtep">;

export interface NetworkFact {
  name: string;
  vni: number;
  subnet: string;
  /** The MTU weft gives the network's interfaces (overlayMtu). */
  mtu: number;
  internal: boolean;
}

export interface PeerFact {
  name: string;
  state: "alive" | "suspect" | "dead" | "self";
  underlayIp: string;
}

export interface ServiceFact {
  name: string;
  network: string;
  vip?: string;
  affinity: "none" | "client-ip";
  hashSeed: number;
  /** Sorted by IP, as every node's mesh part has them. */
  backends: Array<{ ip: string; endpointId: string; owner: string; name: string }>;
  /** Maglev: slot -> index into backends ([] without backends). */
  table: number[];
}

/** A port published on every host: reached at `hostIp:port`, DNATed there to `target` on a backend. */
export interface PublishedFact {
  service: ServiceFact;
  host: string;
  hostIp: string;
  protocol: "tcp" | "udp";
  port: number;
  target: number;
  /** Mode local: only the publishing host's own backends, from its local table. */
  local: boolean;
  /** The client address the publishing host sees (the source host's underlay address after the egress masquerade, or the container's egress leg on the same host). */
  clientIp: string;
  /** Maglev slot -> index into service.backends, the table this port's chain uses. */
  table: number[];
}

export type TraceTarget =
  | { kind: "endpoint"; endpoint: EndpointFact }
  | { kind: "service"; service: ServiceFact; port?: number }
  | ({ kind: "published" } & PublishedFact);

/** One host's part: its snapshot, or why there is none (did not answer, refused, not a member). */
export interface HostPart {
  host: string;
  snapshot?: HostSnapshot;
  /** Read before the probe, for counter deltas. */
  before?: HostSnapshot;
  missing?: string;
}

export interface TraceFacts {
  from: EndpointFact;
  to: TraceTarget;
  proto: TraceProto;
  port?: number;
  /** The client's source port the trace (and the probe) uses for TCP and UDP. */
  sourcePort?: number;
  networks: ReadonlyMap<string, NetworkFact>;
  peers: ReadonlyMap<string, PeerFact>;
  /** The underlay MTU of the tracing host (every host's is assumed alike). */
  underlayMtu: number;
  hosts: ReadonlyMap<string, HostPart>;
  probe?: { sent: boolean; answered: boolean; detail: string };
}
