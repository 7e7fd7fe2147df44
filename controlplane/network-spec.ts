// What a user asks for when creating a network, and its validation (pure).
import { invalidArgument as invalid, parseIPv4Cidr, parseName } from "../proto/values/index.js";

export interface NetworkSpec {
  name: string;
  subnet: string;
  vni?: number;
  hostPrefixLen?: number;
  mtu?: number;
  /** No way out: no egress leg, no forwarding off the network (Docker's --internal). */
  internal?: boolean;
  labels?: Record<string, string>;
}

export type ValidNetworkSpec = Required<Omit<NetworkSpec, "vni" | "mtu" | "internal">> & { vni?: number; mtu?: number; internal?: true };

export const MAX_VNI = 16777215;
export const MIN_SUBNET_PREFIX = 8;
export const MAX_SUBNET_PREFIX = 28;
export const MAX_HOST_PREFIX = 30;
export const MIN_MTU = 576;
export const MAX_MTU = 9000;

export function validateVni(vni: unknown, field = "vni"): number {
  if (typeof vni !== "number" || !Number.isInteger(vni) || vni < 1 || vni > MAX_VNI) {
    throw invalid(field, `${JSON.stringify(vni)} must be an integer from 1 to ${MAX_VNI}`);
  }
  return vni;
}

/** The host prefix length used when none is given: /24 slices, or 256 slices for small subnets. */
export function defaultHostPrefixLen(subnetPrefix: number): number {
  return Math.min(MAX_HOST_PREFIX, Math.max(24, subnetPrefix + 8));
}

export function validateNetworkSpec(input: NetworkSpec): ValidNetworkSpec {
  if (typeof input !== "object" || input === null) throw invalid("spec", "must be an object");
  const name = parseName(input.name, "name");

  if (typeof input.subnet !== "string") throw invalid("subnet", `must be a string, got ${typeof input.subnet}`);
  const subnet = parseIPv4Cidr(input.subnet, "subnet");
  if (subnet.prefix < MIN_SUBNET_PREFIX || subnet.prefix > MAX_SUBNET_PREFIX) {
    throw invalid("subnet", `${JSON.stringify(input.subnet)} prefix length must be from /${MIN_SUBNET_PREFIX} to /${MAX_SUBNET_PREFIX}`);
  }

  if (input.internal !== undefined && typeof input.internal !== "boolean") throw invalid("internal", `must be true or false, got ${JSON.stringify(input.internal)}`);
  const out: ValidNetworkSpec = { name, subnet: input.subnet, hostPrefixLen: 0, labels: {} };
  if (input.internal === true) out.internal = true;
  if (input.vni !== undefined) out.vni = validateVni(input.vni);

  if (input.hostPrefixLen === undefined) {
    out.hostPrefixLen = defaultHostPrefixLen(subnet.prefix);
  } else {
    const h = input.hostPrefixLen;
    if (typeof h !== "number" || !Number.isInteger(h) || h <= subnet.prefix || h > MAX_HOST_PREFIX) {
      throw invalid("hostPrefixLen", `${JSON.stringify(h)} must be an integer longer than the subnet prefix (/${subnet.prefix}) and at most ${MAX_HOST_PREFIX}`);
    }
    out.hostPrefixLen = h;
  }

  if (input.mtu !== undefined) {
    const m = input.mtu;
    if (typeof m !== "number" || !Number.isInteger(m) || m < MIN_MTU || m > MAX_MTU) {
      throw invalid("mtu", `${JSON.stringify(m)} must be an integer from ${MIN_MTU} to ${MAX_MTU}`);
    }
    out.mtu = m;
  }

  out.labels = validateLabels(input.labels);
  return out;
}

export function validateLabels(labels: unknown, field = "labels"): Record<string, string> {
  if (labels === undefined) return {};
  if (typeof labels !== "object" || labels === null || Array.isArray(labels)) throw invalid(field, "must be an object of string values");
  const entries = Object.entries(labels);
  for (const [key, value] of entries) {
    if (key.length === 0 || key.length > 253) throw invalid(`${field}.${key}`, "label keys must be 1-253 characters");
    if (typeof value !== "string") throw invalid(`${field}.${key}`, `must be a string, got ${typeof value}`);
  }
  // fromEntries defines own properties, so a key like "__proto__" is kept rather than lost.
  return Object.fromEntries(entries) as Record<string, string>;
}
