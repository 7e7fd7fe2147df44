// Deciding whether a service may be created next to what exists, and which VIP it gets (pure; both
// registries run it inside their create transaction).
import { WeftError, printable } from "../../proto/values/index.js";
import { comparePorts, type ServiceRecord } from "../services/service-record.js";
import { validateServiceSpec, type ServicePort, type ServiceSpec } from "../services/service-spec.js";
import { chooseVip, serviceSlice } from "../services/vip-allocation.js";
import type { NetworkRecord } from "./records.js";

export interface ServicePlanInput {
  spec: ServiceSpec;
  /** Whether a service of that name exists (even one whose value is unreadable). */
  nameTaken: boolean;
  /** The service's network, or undefined when it does not exist. */
  network: NetworkRecord | undefined;
  /** Who holds a published port ("tcp"/"udp" and number), or undefined when it is free. */
  portHolder: (port: ServicePort) => string | undefined;
  /** VIPs already held in the network. */
  takenVips: ReadonlySet<string>;
  /** The node holding the network's service slice as its own slice, if any. */
  serviceSliceHolder: string | undefined;
  now: Date;
}

/**
 * The record to store for the spec, or the error: invalid-argument for a bad spec; already-exists for
 * a taken name (field "name") or published port (field "ports[i].published", naming the holder);
 * not-found for an unknown network; failed-precondition when a node holds the service slice (vip
 * mode); resource-exhausted when the service slice has no free VIP.
 */
export function planService(input: ServicePlanInput): ServiceRecord {
  const valid = validateServiceSpec(input.spec);
  if (input.nameTaken) throw new WeftError("already-exists", `name: service ${JSON.stringify(valid.name)} already exists`, { field: "name" });
  const network = input.network;
  if (!network) throw new WeftError("not-found", `network: ${JSON.stringify(valid.network)} does not exist`, { field: "network" });
  valid.ports.forEach((port, i) => {
    const holder = input.portHolder(port);
    if (holder === undefined) return;
    const field = `ports[${i}].published`;
    throw new WeftError(
      "already-exists",
      `${field}: ${port.protocol} port ${port.published} is already published by service ${JSON.stringify(printable(holder))}`,
      { field },
    );
  });
  const record: ServiceRecord = {
    name: valid.name,
    network: valid.network,
    selector: valid.selector,
    ports: [...valid.ports].sort(comparePorts),
    mode: valid.mode,
    affinity: valid.affinity,
    createdAt: input.now.toISOString(),
  };
  if (valid.mode === "vip") {
    const slice = serviceSlice(network);
    if (input.serviceSliceHolder !== undefined) {
      throw new WeftError(
        "failed-precondition",
        `network: the service slice ${slice} of network ${JSON.stringify(network.name)} is held by node ${JSON.stringify(printable(input.serviceSliceHolder))} (it claimed it before slices were reserved); it must release it first, or use --mode dnsrr`,
        { field: "network" },
      );
    }
    const vip = chooseVip(network, input.takenVips);
    if (vip === undefined) {
      throw new WeftError("resource-exhausted", `network: the service slice ${slice} of network ${JSON.stringify(network.name)} has no free VIP`, { field: "network" });
    }
    record.vip = vip;
  }
  return record;
}
