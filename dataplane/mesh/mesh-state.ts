// The mesh part of the desired state: the services this host forwards to, each with its live backends
// and its Maglev lookup tables, computed by the agent so that every node holds the same tables and
// picks the same backend for the same flow. Rendered into weft's nftables table by dataplane/mesh/.

export type MeshProtocol = "tcp" | "udp";

export interface DesiredMesh {
  /** Sorted by name; names unique. */
  services: DesiredService[];
}

export interface DesiredService {
  /** The service's name (the one name rule). */
  name: string;
  /** weft-br<vni> of the service's network on this host; that network is in DesiredFirewall.networks. */
  bridge: string;
  /**
   * vip mode: the virtual IP. Connections from containers to VIP:any tcp/udp port go to a backend's
   * same port. The overlay part puts it on the bridge as a /32 (DesiredNetwork.serviceIps) so that
   * containers' ARP for it is answered by their own host. Absent in dnsrr mode.
   */
  vip?: string;
  /** client-ip: the backend is chosen by the client address alone, so a client stays on one backend. */
  affinity: "none" | "client-ip";
  /** jhash seed, the same on every node (the agent derives it from the service name). */
  hashSeed: number;
  /** Live backends, sorted by ip, the same list on every node; local: on this host. */
  backends: Array<{ ip: string; local: boolean }>;
  /**
   * Maglev table over `backends`: slot -> index into `backends`. Its length is a prime from
   * controlplane's maglevTableSize(); [] when there is no backend (connections are then rejected at once).
   */
  table: number[];
  /** The same over the local backends only (indexes into `backends`), for ports published with mode local; [] when none. */
  localTable: number[];
  /** Published ports: PUBLISHED on any local address of this host -> TARGET on a backend. */
  ports: Array<{ protocol: MeshProtocol; published: number; target: number; publishMode: "ingress" | "local" }>;
}
