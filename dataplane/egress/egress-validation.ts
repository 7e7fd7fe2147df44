// Validation of the egress part, entry by entry: a bad bridge makes the whole part invalid (nothing is
// changed), a bad leg is left out and reported on its own, and its host end, if weft named it, is held
// (neither changed nor removed) rather than guessed at.
import { isIPv4, isInterfaceName, isMulticastMac, parseNetnsReference, printable } from "../../proto/values/index.js";
import { sameNetwork, splitHostAddress } from "../address-format.js";
import { isMtu } from "../desired-state.js";
import { macOf, shown } from "../desired-value.js";
import { isEndpointId, isWeftEgressVethName, isWeftVethName, vniOfBridge, vniOfVxlan } from "../link-names.js";
import { isNetworkNamespaceId } from "../namespace-identity.js";
import type { SkippedEntry } from "../reconcile-report.js";
import type { DesiredEgress, DesiredEgressBridge, DesiredEgressLeg } from "./egress-state.js";

export interface ValidEgress {
  /** The valid part (MACs in lower case), or undefined when the part as a whole is invalid. */
  egress: DesiredEgress | undefined;
  skipped: SkippedEntry[];
  /** Host ends of skipped legs: left exactly as they are. */
  heldLegs: Set<string>;
}

export function validateEgress(egress: DesiredEgress): ValidEgress {
  const result: ValidEgress = { egress: undefined, skipped: [], heldLegs: new Set() };
  const problem = partProblem(egress);
  if (problem !== undefined) {
    result.skipped.push({ object: "egress", reason: problem });
    return result;
  }
  const bridge = splitHostAddress(egress.bridge.address)!;
  const valid: DesiredEgress = { bridge: { name: egress.bridge.name, address: egress.bridge.address, mtu: egress.bridge.mtu }, legs: [] };
  const taken = { hostIfNames: new Set<string>(), ips: new Set<string>([bridge.ip]), macs: new Set<string>() };
  for (const leg of egress.legs) {
    const checked = validLeg(leg, bridge, taken);
    if (typeof checked === "string") {
      const id = typeof leg?.endpointId === "string" ? { endpointId: printable(leg.endpointId, 64) } : {};
      result.skipped.push({ object: `egress leg ${shown(leg?.hostIfName)}`, ...id, reason: checked });
      if (isWeftEgressVethName(leg?.hostIfName) && !taken.hostIfNames.has(leg.hostIfName)) result.heldLegs.add(leg.hostIfName);
      continue;
    }
    taken.hostIfNames.add(checked.hostIfName);
    taken.ips.add(splitHostAddress(checked.ip)!.ip);
    taken.macs.add(checked.mac);
    valid.legs.push(checked);
  }
  result.egress = valid;
  return result;
}

function partProblem(egress: DesiredEgress): string | undefined {
  if (typeof egress !== "object" || egress === null) return "must be an object with bridge and legs";
  const bridge: DesiredEgressBridge | undefined = egress.bridge;
  if (typeof bridge !== "object" || bridge === null) return "bridge: must be an object with name, address and mtu";
  if (!isInterfaceName(bridge.name)) return `bridge.name: ${shown(bridge.name)} is not a valid interface name`;
  if (vniOfBridge(bridge.name) !== undefined || vniOfVxlan(bridge.name) !== undefined || isWeftVethName(bridge.name) || isWeftEgressVethName(bridge.name)) {
    return `bridge.name: ${shown(bridge.name)} is the name of another weft device`;
  }
  if (splitHostAddress(bridge.address) === undefined) return `bridge.address: ${shown(bridge.address)} is not a host address with a prefix length, e.g. 172.18.0.1/16`;
  if (!isMtu(bridge.mtu)) return `bridge.mtu: ${shown(bridge.mtu)} is outside 68..65535`;
  if (!Array.isArray(egress.legs)) return "legs: must be a list";
  return undefined;
}

function validLeg(
  leg: DesiredEgressLeg,
  bridge: { ip: string; prefixLen: number },
  taken: { hostIfNames: ReadonlySet<string>; ips: ReadonlySet<string>; macs: ReadonlySet<string> },
): DesiredEgressLeg | string {
  if (!isEndpointId(leg?.endpointId)) return `endpointId: ${shown(leg?.endpointId)} is not a hex id of at least 11 digits`;
  if (!isWeftEgressVethName(leg.hostIfName)) return `hostIfName: ${shown(leg.hostIfName)} is not weftg + 10 hex digits`;
  if (taken.hostIfNames.has(leg.hostIfName)) return `hostIfName: ${leg.hostIfName} appears twice`;
  try {
    parseNetnsReference(leg.netns);
  } catch (error) {
    return (error as Error).message;
  }
  if (leg.netnsId !== undefined && !isNetworkNamespaceId(leg.netnsId)) return `netnsId: ${shown(JSON.stringify(leg.netnsId))} is not { dev, ino, cookie? }`;
  if (!isInterfaceName(leg.ifName)) return `ifName: ${shown(leg.ifName)} is not a valid interface name`;
  const address = splitHostAddress(leg.ip);
  if (address === undefined) return `ip: ${shown(leg.ip)} is not a host address with a prefix length`;
  if (address.prefixLen !== bridge.prefixLen || !sameNetwork(address.ip, bridge.ip, bridge.prefixLen)) {
    return `ip: ${leg.ip} is outside the bridge's network ${bridge.ip}/${bridge.prefixLen}`;
  }
  if (taken.ips.has(address.ip)) return `ip: ${address.ip} is already taken on the bridge`;
  const mac = macOf(leg.mac);
  if (mac === undefined || mac === "00:00:00:00:00:00" || isMulticastMac(mac)) return `mac: ${shown(leg.mac)} is not a unicast MAC address`;
  if (taken.macs.has(mac)) return `mac: ${mac} is already taken on the bridge`;
  if (!isIPv4(leg.gateway) || leg.gateway === address.ip || !sameNetwork(leg.gateway, address.ip, address.prefixLen)) {
    return `gateway: ${shown(leg.gateway)} is not another address of the leg's network ${leg.ip}`;
  }
  const valid: DesiredEgressLeg = { endpointId: leg.endpointId, hostIfName: leg.hostIfName, netns: leg.netns, ifName: leg.ifName, ip: leg.ip, mac, gateway: leg.gateway };
  if (leg.netnsId !== undefined) valid.netnsId = leg.netnsId;
  return valid;
}
