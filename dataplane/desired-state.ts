// What the kernel of THIS host should look like: plain values built by the control plane.
import { isIPv4Address, isMacAddress } from "./address-format.js";

export interface DesiredState {
  /** Local VTEP address and the underlay interface's MTU. */
  underlay: { ip: string; mtu: number };
  /** Only networks with at least one local endpoint. */
  networks: DesiredNetwork[];
}

export interface DesiredNetwork {
  /** 1..16777215 */
  vni: number;
  /** MAC for weft-vx<vni>, set explicitly at creation (flannel#1155). */
  vtepMac: string;
  /** Overlay MTU (underlay MTU - 50). */
  mtu: number;
  localEndpoints: DesiredLocalEndpoint[];
  remoteEndpoints: DesiredRemoteEndpoint[];
}

export interface DesiredLocalEndpoint {
  /** Endpoint id (hex). */
  id: string;
  /** Host side of the veth, from hostIfNameFor(id). */
  hostIfName: string;
  /** A name under /run/netns, or an absolute path such as /proc/PID/ns/net. */
  netns: string;
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

export class DesiredStateError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = "DesiredStateError";
  }
}

const IF_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** Throws a DesiredStateError naming the first bad field; a state that passes can be applied as a whole. */
export function validateDesiredState(desired: DesiredState): void {
  const fail = (field: string, reason: string): never => {
    throw new DesiredStateError(field, reason);
  };
  if (!isIPv4Address(desired.underlay?.ip)) fail("underlay.ip", `${String(desired.underlay?.ip)} is not an IPv4 address`);
  checkMtu("underlay.mtu", desired.underlay.mtu, fail);
  const vnis = new Set<number>();
  const hostIfNames = new Set<string>();
  desired.networks.forEach((network, n) => {
    const at = `networks[${n}]`;
    if (!Number.isInteger(network.vni) || network.vni < 1 || network.vni > MAX_VNI) {
      fail(`${at}.vni`, `${String(network.vni)} is outside 1..${MAX_VNI}`);
    }
    if (vnis.has(network.vni)) fail(`${at}.vni`, `${network.vni} appears twice`);
    vnis.add(network.vni);
    if (!isMacAddress(network.vtepMac)) fail(`${at}.vtepMac`, `${String(network.vtepMac)} is not a MAC address`);
    checkMtu(`${at}.mtu`, network.mtu, fail);
    network.localEndpoints.forEach((endpoint, e) => {
      const where = `${at}.localEndpoints[${e}]`;
      if (!/^[0-9a-f]{11,}$/i.test(endpoint.id)) fail(`${where}.id`, `${String(endpoint.id)} is not a hex id of at least 11 digits`);
      if (!/^weft[0-9a-f]{11}$/.test(endpoint.hostIfName)) fail(`${where}.hostIfName`, `${String(endpoint.hostIfName)} is not weft + 11 hex digits`);
      if (hostIfNames.has(endpoint.hostIfName)) fail(`${where}.hostIfName`, `${endpoint.hostIfName} appears twice`);
      hostIfNames.add(endpoint.hostIfName);
      if (typeof endpoint.netns !== "string" || endpoint.netns === "" || (!endpoint.netns.startsWith("/") && endpoint.netns.includes("/"))) {
        fail(`${where}.netns`, `${String(endpoint.netns)} is neither a namespace name nor an absolute path`);
      }
      if (!IF_NAME.test(endpoint.ifName)) fail(`${where}.ifName`, `${String(endpoint.ifName)} is not a valid interface name`);
      if (!isMacAddress(endpoint.mac)) fail(`${where}.mac`, `${String(endpoint.mac)} is not a MAC address`);
      if (!isIPv4Address(endpoint.ip)) fail(`${where}.ip`, `${String(endpoint.ip)} is not an IPv4 address`);
      if (!Number.isInteger(endpoint.prefixLen) || endpoint.prefixLen < 1 || endpoint.prefixLen > 32) {
        fail(`${where}.prefixLen`, `${String(endpoint.prefixLen)} is outside 1..32`);
      }
    });
    network.remoteEndpoints.forEach((endpoint, e) => {
      const where = `${at}.remoteEndpoints[${e}]`;
      if (!isIPv4Address(endpoint.ip)) fail(`${where}.ip`, `${String(endpoint.ip)} is not an IPv4 address`);
      if (!isMacAddress(endpoint.mac)) fail(`${where}.mac`, `${String(endpoint.mac)} is not a MAC address`);
      if (!isIPv4Address(endpoint.vtep)) fail(`${where}.vtep`, `${String(endpoint.vtep)} is not an IPv4 address`);
    });
  });
}

function checkMtu(field: string, mtu: number, fail: (field: string, reason: string) => never): void {
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) fail(field, `${String(mtu)} is outside 68..65535`);
}
