// Validation of the overlay part, entry by entry: an invalid network, local endpoint or remote endpoint
// is left out and reported, and the rest is applied. What an invalid entry may still describe in the
// kernel is held (neither changed nor removed) rather than guessed at.
import { isIPv4, isInterfaceName, isMulticastMac, parseIPv4, parseMac, parseNetnsReference, printable } from "../../proto/values/index.js";
import { isHostAddress, splitHostAddress } from "../address-format.js";
import { isMtu } from "../desired-state.js";
import { isEndpointId, isWeftVethName } from "../link-names.js";
import { isNetworkNamespaceId } from "../namespace-identity.js";
import { macOf, shown } from "../desired-value.js";
import type { SkippedEntry } from "../reconcile-report.js";
import { MAX_VNI, type DesiredLocalEndpoint, type DesiredNetwork, type DesiredOverlay, type DesiredRemoteEndpoint } from "./overlay-state.js";

export interface ValidOverlay {
  /** The valid entries, MACs in lower case. */
  overlay: DesiredOverlay;
  skipped: SkippedEntry[];
  /** Kernel objects of skipped entries: left exactly as they are. */
  held: { vnis: Set<number>; veths: Set<string> };
}

export function validateOverlay(overlay: DesiredOverlay | undefined): ValidOverlay {
  const result: ValidOverlay = { overlay: { networks: [] }, skipped: [], held: { vnis: new Set(), veths: new Set() } };
  const vnis = new Set<number>();
  const hostIfNames = new Set<string>();
  const vteps = new Map<unknown, boolean>(); // a few nodes' addresses behind thousands of entries: check each once
  for (const network of overlay?.networks ?? []) {
    const vni = network?.vni;
    const object = `network vni ${shown(vni)}`;
    const problem = networkProblem(network, vnis);
    if (problem !== undefined) {
      result.skipped.push({ object, reason: problem });
      if (isVni(vni) && !vnis.has(vni)) result.held.vnis.add(vni);
      continue;
    }
    vnis.add(vni);
    const valid: DesiredNetwork = { ...network, vtepMac: parseMac(network.vtepMac), localEndpoints: [], remoteEndpoints: [] };
    // This host's gateway address counts as local: a remote entry claiming it is refused.
    const ips = new Map<string, string>(valid.gateway === undefined ? [] : [[splitHostAddress(valid.gateway)!.ip, "this host's gateway"]]);
    const macs = new Map<string, string>(); // mac -> ip holding it
    for (const endpoint of network.localEndpoints ?? []) {
      const local = validLocal(endpoint, hostIfNames);
      if (typeof local === "string") {
        const id = typeof endpoint?.id === "string" ? { endpointId: printable(endpoint.id, 64) } : {};
        result.skipped.push({ object: `local endpoint ${shown(endpoint?.hostIfName)} in ${object}`, ...id, reason: local });
        if (isWeftVethName(endpoint?.hostIfName) && !hostIfNames.has(endpoint.hostIfName)) result.held.veths.add(endpoint.hostIfName);
        continue;
      }
      hostIfNames.add(local.hostIfName);
      ips.set(local.ip, "a local endpoint");
      macs.set(local.mac, local.ip);
      valid.localEndpoints.push(local);
    }
    if (network.serviceIps !== undefined) valid.serviceIps = validServiceIps(network.serviceIps, ips, object, result.skipped);
    const remotes = new Map<string, DesiredRemoteEndpoint>(); // ip -> entry
    for (const endpoint of network.remoteEndpoints ?? []) {
      const remote = validRemote(endpoint, vteps);
      const conflict = typeof remote === "string" ? remote : remoteConflict(remote, remotes, ips, macs);
      if (conflict === null) continue; // the same entry twice
      if (conflict !== undefined) {
        result.skipped.push({ object: `remote endpoint ${shown(endpoint?.ip)} in ${object}`, reason: conflict });
        continue;
      }
      const accepted = remote as DesiredRemoteEndpoint;
      remotes.set(accepted.ip, accepted);
      macs.set(accepted.mac, accepted.ip);
      valid.remoteEndpoints.push(accepted);
    }
    result.overlay.networks.push(valid);
  }
  return result;
}

/** VIPs put on the bridge as /32: a bad one is left out and reported; the good ones count as local addresses. */
function validServiceIps(serviceIps: unknown, ips: Map<string, string>, object: string, skipped: SkippedEntry[]): string[] {
  if (!Array.isArray(serviceIps)) {
    skipped.push({ object: `service ips of ${object}`, reason: "serviceIps: must be a list" });
    return [];
  }
  const valid: string[] = [];
  for (const ip of serviceIps as unknown[]) {
    const holder = isIPv4(ip) ? ips.get(ip) : undefined;
    const reason = !isIPv4(ip) ? `${shown(ip)} is not an IPv4 address` : holder !== undefined ? `${ip} belongs to ${holder}` : undefined;
    if (reason !== undefined) {
      skipped.push({ object: `service ip ${shown(ip)} in ${object}`, reason });
      continue;
    }
    ips.set(ip as string, "a service VIP");
    valid.push(ip as string);
  }
  return valid;
}

function networkProblem(network: DesiredNetwork, vnis: ReadonlySet<number>): string | undefined {
  if (!isVni(network?.vni)) return `vni: ${shown(network?.vni)} is outside 1..${MAX_VNI}`;
  if (vnis.has(network.vni)) return `vni: ${network.vni} appears twice`;
  if (macOf(network.vtepMac) === undefined) return `vtepMac: ${shown(network.vtepMac)} is not a MAC address`;
  if (!isMtu(network.mtu)) return `mtu: ${shown(network.mtu)} is outside 68..65535`;
  if (network.gateway !== undefined && !isHostAddress(network.gateway)) return `gateway: ${shown(network.gateway)} is not a host address with a prefix length, e.g. 10.40.3.1/16`;
  if (!Array.isArray(network.localEndpoints) || !Array.isArray(network.remoteEndpoints)) return "localEndpoints and remoteEndpoints must be lists";
  return undefined;
}

function validLocal(endpoint: DesiredLocalEndpoint, hostIfNames: ReadonlySet<string>): DesiredLocalEndpoint | string {
  if (!isEndpointId(endpoint?.id)) return `id: ${shown(endpoint?.id)} is not a hex id of at least 11 digits`;
  if (!isWeftVethName(endpoint.hostIfName)) return `hostIfName: ${shown(endpoint.hostIfName)} is not weft + 11 hex digits`;
  if (hostIfNames.has(endpoint.hostIfName)) return `hostIfName: ${endpoint.hostIfName} appears twice`;
  try {
    parseNetnsReference(endpoint.netns);
  } catch (error) {
    return (error as Error).message;
  }
  const id = endpoint.netnsId;
  if (id !== undefined && !isNetworkNamespaceId(id)) {
    return `netnsId: ${shown(JSON.stringify(id))} is not { dev, ino, cookie? }`;
  }
  if (!isInterfaceName(endpoint.ifName)) return `ifName: ${shown(endpoint.ifName)} is not a valid interface name`;
  const mac = macOf(endpoint.mac);
  if (mac === undefined) return `mac: ${shown(endpoint.mac)} is not a MAC address`;
  if (!isIPv4(endpoint.ip)) return `ip: ${shown(endpoint.ip)} is not an IPv4 address`;
  if (!Number.isInteger(endpoint.prefixLen) || endpoint.prefixLen < 1 || endpoint.prefixLen > 32) return `prefixLen: ${shown(endpoint.prefixLen)} is outside 1..32`;
  return mac === endpoint.mac ? endpoint : { ...endpoint, mac };
}

function validRemote(endpoint: DesiredRemoteEndpoint, vteps: Map<unknown, boolean>): DesiredRemoteEndpoint | string {
  if (!isIPv4(endpoint?.ip)) return `ip: ${shown(endpoint?.ip)} is not an IPv4 address`;
  const mac = macOf(endpoint.mac);
  if (mac === undefined || mac === "00:00:00:00:00:00" || isMulticastMac(mac)) return `mac: ${shown(endpoint.mac)} is not a unicast MAC address`;
  let unicast = vteps.get(endpoint.vtep);
  if (unicast === undefined) vteps.set(endpoint.vtep, (unicast = isUnicastIPv4(endpoint.vtep)));
  if (!unicast) return `vtep: ${shown(endpoint.vtep)} is not a unicast IPv4 address`;
  return mac === endpoint.mac ? endpoint : { ip: endpoint.ip, mac, vtep: endpoint.vtep };
}

/** undefined: no conflict; null: exactly this entry is already there; else why it conflicts. */
function remoteConflict(
  remote: DesiredRemoteEndpoint,
  remotes: ReadonlyMap<string, DesiredRemoteEndpoint>,
  localIps: ReadonlyMap<string, string>,
  macs: ReadonlyMap<string, string>,
): string | null | undefined {
  const same = remotes.get(remote.ip);
  if (same !== undefined && same.mac === remote.mac && same.vtep === remote.vtep) return null;
  const local = localIps.get(remote.ip);
  if (local !== undefined) return `ip: ${remote.ip} belongs to ${local}`;
  if (same !== undefined) return `ip: ${remote.ip} is already announced with ${same.mac} at ${same.vtep}`;
  const holder = macs.get(remote.mac);
  if (holder !== undefined) return `mac: ${remote.mac} already belongs to ${holder}`;
  return undefined;
}

function isVni(vni: unknown): vni is number {
  return Number.isInteger(vni) && (vni as number) >= 1 && (vni as number) <= MAX_VNI;
}


/** Not 0.0.0.0/8, loopback, multicast or broadcast: a VTEP frames can be sent to. */
function isUnicastIPv4(text: unknown): text is string {
  if (!isIPv4(text)) return false;
  const first = parseIPv4(text) >>> 24;
  return first !== 0 && first !== 127 && first < 224;
}
