// The names weft gives its kernel links. Anything not matching these is never touched.
import { invalidArgument } from "../proto/values/index.js";

export function bridgeName(vni: number): string {
  return `weft-br${vni}`;
}

export function vxlanName(vni: number): string {
  return `weft-vx${vni}`;
}

/** An endpoint id: at least 11 hex digits (the veth's name carries the first 11). */
export function isEndpointId(id: unknown): id is string {
  return typeof id === "string" && /^[0-9a-f]{11,}$/i.test(id);
}

/** "weft" + the first 11 hex digits of the endpoint id: 15 characters, the kernel's limit. */
export function hostIfNameFor(endpointId: string): string {
  if (!isEndpointId(endpointId)) {
    throw invalidArgument("endpointId", `${endpointId} is not a hex id of at least 11 digits`);
  }
  return `weft${endpointId.slice(0, 11).toLowerCase()}`;
}

/**
 * The host end of an endpoint's egress leg: "weftg" + the first 10 hex digits of the endpoint id, 15
 * characters. "g" is not a hex digit, so it never collides with hostIfNameFor's names.
 */
export function egressHostIfNameFor(endpointId: string): string {
  if (!isEndpointId(endpointId)) {
    throw invalidArgument("endpointId", `${endpointId} is not a hex id of at least 11 digits`);
  }
  return `weftg${endpointId.slice(0, 10).toLowerCase()}`;
}

/** A name egressHostIfNameFor gives: weft removes such a link only under the prune/ownsVeth rules. */
export function isWeftEgressVethName(name: unknown): name is string {
  return typeof name === "string" && /^weftg[0-9a-f]{10}$/.test(name);
}

/** The VNI of a weft-br<vni> name, or undefined for any other name. */
export function vniOfBridge(name: string): number | undefined {
  return vniAfter("weft-br", name);
}

/** The VNI of a weft-vx<vni> name, or undefined for any other name. */
export function vniOfVxlan(name: string): number | undefined {
  return vniAfter("weft-vx", name);
}

export function isWeftVethName(name: unknown): name is string {
  return typeof name === "string" && /^weft[0-9a-f]{11}$/.test(name);
}

function vniAfter(prefix: string, name: string): number | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const digits = name.slice(prefix.length);
  if (!/^[1-9]\d{0,7}$/.test(digits)) return undefined;
  return Number(digits);
}
