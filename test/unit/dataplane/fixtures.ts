import type { DesiredLocalEndpoint, DesiredNetwork, DesiredState, ObservedLink, ObservedState } from "../../../dataplane/index.js";
import { hostIfNameFor } from "../../../dataplane/index.js";

export const LOCAL_IP = "192.168.0.1";
export const VTEP_MAC = "02:aa:00:00:00:2a";

export function network(vni: number, overrides: Partial<DesiredNetwork> = {}): DesiredNetwork {
  return { vni, vtepMac: VTEP_MAC, mtu: 1450, localEndpoints: [], remoteEndpoints: [], ...overrides };
}

export function localEndpoint(id: string, netns = "c1"): DesiredLocalEndpoint {
  return { id, hostIfName: hostIfNameFor(id), netns, ifName: "eth0", mac: "02:42:0a:28:00:02", ip: "10.40.0.2", prefixLen: 16 };
}

export function desiredState(networks: DesiredNetwork[]): DesiredState {
  return { underlay: { ip: LOCAL_IP, mtu: 1500 }, overlay: { networks } };
}

export function bridgeLink(vni: number, overrides: Partial<ObservedLink> = {}): ObservedLink {
  return { name: `weft-br${vni}`, ifindex: 100 + vni, kind: "bridge", mac: "02:00:00:00:00:01", mtu: 1450, up: true, ...overrides };
}

export function vxlanLink(vni: number, overrides: Partial<ObservedLink> = {}): ObservedLink {
  return {
    name: `weft-vx${vni}`,
    ifindex: 200 + vni,
    kind: "vxlan",
    mac: VTEP_MAC,
    mtu: 1450,
    up: true,
    master: `weft-br${vni}`,
    vxlan: { id: vni, local: LOCAL_IP, dstport: 4789, learning: false, proxy: true },
    ...overrides,
  };
}

export function observedWith(links: ObservedLink[], extra: Partial<ObservedState> = {}): ObservedState {
  return { links, fdb: extra.fdb ?? [], neighbours: extra.neighbours ?? [], addresses: extra.addresses ?? [], sysctls: extra.sysctls ?? { "net.ipv4.ip_forward": "1" } };
}
