// Deciding whether a network may be created next to the existing ones (pure; both registries use it
// inside their create transaction).
import { WeftError } from "../../proto/values/index.js";
import { cidrsOverlap, parseIPv4Cidr } from "../../proto/values/index.js";
import { MAX_VNI, validateNetworkSpec, type NetworkSpec } from "../network-spec.js";
import type { NetworkRecord } from "./records.js";

/** The lowest VNI from 1 up that no network uses. */
export function lowestFreeVni(existing: Iterable<NetworkRecord>): number {
  const used = new Set<number>();
  for (const n of existing) used.add(n.vni);
  for (let vni = 1; vni <= MAX_VNI; vni++) if (!used.has(vni)) return vni;
  throw new WeftError("resource-exhausted", "vni: every VNI is in use", { field: "vni" });
}

/**
 * The record to store for `spec`, or an already-exists error naming the clashing field: the name, the
 * VNI, or a subnet overlapping another network's.
 */
export function planNetwork(spec: NetworkSpec, existing: Iterable<NetworkRecord>, now: Date): NetworkRecord {
  const valid = validateNetworkSpec(spec);
  const others = [...existing];
  if (others.some((n) => n.name === valid.name)) {
    throw new WeftError("already-exists", `name: network ${JSON.stringify(valid.name)} already exists`, { field: "name" });
  }
  if (valid.vni !== undefined) {
    const clash = others.find((n) => n.vni === valid.vni);
    if (clash) {
      throw new WeftError("already-exists", `vni: ${valid.vni} is already used by network ${JSON.stringify(clash.name)}`, { field: "vni" });
    }
  }
  const subnet = parseIPv4Cidr(valid.subnet, "subnet");
  const overlapping = others.find((n) => cidrsOverlap(subnet, parseIPv4Cidr(n.subnet, "subnet")));
  if (overlapping) {
    throw new WeftError(
      "already-exists",
      `subnet: ${valid.subnet} overlaps ${overlapping.subnet} of network ${JSON.stringify(overlapping.name)}`,
      { field: "subnet" },
    );
  }
  const record: NetworkRecord = {
    name: valid.name,
    vni: valid.vni ?? lowestFreeVni(others),
    subnet: valid.subnet,
    hostPrefixLen: valid.hostPrefixLen,
    internal: valid.internal ?? false,
    mode: "overlay",
    attachable: true,
    labels: valid.labels,
    createdAt: now.toISOString(),
  };
  if (valid.mtu !== undefined) record.mtu = valid.mtu;
  return record;
}
