// A service: a durable record in etcd (services/<name>) naming a network, a label selector and the
// ports it publishes. Its backends are not stored: they are the endpoints of the network whose labels
// match the selector, on any host, as gossip reports them (see service-backends.ts).

export type ServiceMode = "vip" | "dnsrr";
export type ServiceAffinity = "none" | "client-ip";
export type PortProtocol = "tcp" | "udp";
/** ingress: every node forwards to backends on any node; local: each node only to its own backends. */
export type PublishMode = "ingress" | "local";

/** A published port: PUBLISHED on every node's underlay address reaches TARGET on a backend. */
export interface ServicePort {
  protocol: PortProtocol;
  /** 1-65535 */
  published: number;
  /** 1-65535 */
  target: number;
  publishMode: PublishMode;
}

/** What a user asks for (`weft service create`). */
export interface ServiceSpec {
  name: string;
  network: string;
  /** At least one key; an endpoint matches when it carries every key with the same value. */
  selector: Record<string, string>;
  ports?: ServicePort[];
  /** Default vip. */
  mode?: ServiceMode;
  /** Default none. */
  affinity?: ServiceAffinity;
}

/** What etcd holds under services/<name>. */
export interface ServiceRecord {
  name: string;
  network: string;
  selector: Record<string, string>;
  /** Sorted by protocol, then published port. */
  ports: ServicePort[];
  mode: ServiceMode;
  affinity: ServiceAffinity;
  /** vip mode only: an address of the network's reserved service slice (its last slice). */
  vip?: string;
  createdAt: string;
}
