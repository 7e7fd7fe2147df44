// The egress part of the desired state: per host a gateway bridge (Swarm's docker_gwbridge) with the
// host's address on it, and per endpoint of a non-internal network a leg: a veth whose host end is an
// isolated port of that bridge and whose container end carries the container's default route.
import type { NetworkNamespaceId } from "../namespace-identity.js";

export interface DesiredEgress {
  bridge: DesiredEgressBridge;
  legs: DesiredEgressLeg[];
}

export interface DesiredEgressBridge {
  /** "weft_gwbridge" */
  name: string;
  /** The host's address on the bridge, CIDR form: "172.18.0.1/16". */
  address: string;
  /** The MTU of the bridge and of both ends of every leg. */
  mtu: number;
}

export interface DesiredEgressLeg {
  /** Endpoint id (hex). */
  endpointId: string;
  /** Host end, from egressHostIfNameFor(endpointId). */
  hostIfName: string;
  /** A name under /run/netns, or a /proc/PID/ns/net path (see parseNetnsReference). */
  netns: string;
  /** The identity of the namespace at attach: the container end is made only in that very namespace. */
  netnsId?: NetworkNamespaceId;
  /** Name inside the namespace, "eth1" by default. */
  ifName: string;
  /** CIDR form, with the bridge's prefix length: "172.18.0.5/16". */
  ip: string;
  mac: string;
  /** The container's default route goes via this address on this leg: "172.18.0.1". */
  gateway: string;
}
