// The overlay part of the desired state: per network a bridge and a VXLAN device, a veth per local
// endpoint, and an FDB and neighbour entry per remote endpoint.
import type { NetworkNamespaceId } from "../namespace-identity.js";

export interface DesiredOverlay {
  /** Only networks with at least one local endpoint. */
  networks: DesiredNetwork[];
}

export interface DesiredNetwork {
  /** 1..16777215 */
  vni: number;
  /** MAC for weft-vx<vni>, set explicitly at creation (flannel#1155). */
  vtepMac: string;
  /** Overlay MTU (underlay MTU - 50, unless the network sets one): VXLAN device, bridge, both veth ends. */
  mtu: number;
  /**
   * This host's address on weft-br<vni>, CIDR form with the NETWORK's prefix length ("10.40.3.1/16": the
   * first address of this host's slice). Absent: the bridge carries no address (removed when pruning).
   */
  gateway?: string;
  /** Service VIPs of this network, each put on weft-br<vni> as a /32 (see DesiredService.vip). */
  serviceIps?: string[];
  localEndpoints: DesiredLocalEndpoint[];
  remoteEndpoints: DesiredRemoteEndpoint[];
}

export interface DesiredLocalEndpoint {
  /** Endpoint id (hex). */
  id: string;
  /** Host side of the veth, from hostIfNameFor(id). */
  hostIfName: string;
  /** A name under /run/netns, or a /proc/PID/ns/net path (see parseNetnsReference). */
  netns: string;
  /**
   * The identity of the namespace at attach (inspectNetworkNamespace). When given, the container end is
   * made only in a namespace with exactly this identity: a path such as /proc/PID/ns/net may name
   * another process's namespace once the container is gone.
   */
  netnsId?: NetworkNamespaceId;
  /** Name inside the namespace, usually eth0. */
  ifName: string;
  mac: string;
  ip: string;
  /** The NETWORK's prefix length: all endpoints of a network share one L2 segment. */
  prefixLen: number;
}

export interface DesiredRemoteEndpoint {
  ip: string;
  mac: string;
  vtep: string;
}

export const MAX_VNI = 16_777_215;
