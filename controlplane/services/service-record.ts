// A service: a durable record in etcd (services/<name>) naming a network, a label selector and the
// ports it publishes. Its backends are not stored: they are the endpoints of the network whose labels
// match the selector, on any host, as gossip reports them (see service-backends.ts).
import { WeftError, isIPv4 } from "../../proto/values/index.js";
import { fail, lastSegments, objectOf, timestamp } from "../registry/record-fields.js";
import { validateServiceSpec, type ServiceAffinity, type ServiceMode, type ServicePort } from "./service-spec.js";

export type { ServiceMode, ServiceAffinity, PortProtocol, PublishMode, ServicePort, ServiceSpec } from "./service-spec.js";

/** What etcd holds under services/<name>. */
export interface ServiceRecord {
  name: string;
  network: string;
  selector: Record<string, string>;
  /** Sorted by protocol, then published port. */
  ports: ServicePort[];
  mode: ServiceMode;
  affinity: ServiceAffinity;
  /** vip mode only: an address of the network's reserved service slice (its last slice). */
  vip?: string;
  createdAt: string;
}

/** The order of a record's ports: by protocol, then published port. */
export function comparePorts(a: ServicePort, b: ServicePort): number {
  return a.protocol.localeCompare(b.protocol) || a.published - b.published;
}

/**
 * Parses and validates the JSON under services/<name> (anyone may have written it): every field as
 * validateServiceSpec checks it, the name matching the key, mode and affinity present, a vip exactly
 * in vip mode, and createdAt. `key` may be "" for a record not read from etcd.
 */
export function parseServiceRecord(json: string, key: string): ServiceRecord {
  const obj = objectOf(key, json);
  for (const field of ["name", "network", "selector", "mode", "affinity"]) {
    if (obj[field] === undefined) fail(key, field, "is missing");
  }
  let valid;
  try {
    valid = validateServiceSpec({
      name: obj.name as string,
      network: obj.network as string,
      selector: obj.selector as Record<string, string>,
      ports: (obj.ports ?? []) as ServicePort[],
      mode: obj.mode as ServiceMode,
      affinity: obj.affinity as ServiceAffinity,
    });
  } catch (err) {
    if (!(err instanceof WeftError)) throw err;
    const field = err.field ?? "value";
    fail(key, field, err.message.startsWith(`${field}: `) ? err.message.slice(field.length + 2) : err.message, err);
  }
  const keyName = lastSegments(key, 1)?.[0];
  if (keyName !== undefined && keyName !== valid.name) fail(key, "name", `${JSON.stringify(valid.name)} does not match the key`);
  const record: ServiceRecord = { ...valid, ports: [...valid.ports].sort(comparePorts), createdAt: "" };
  if (valid.mode === "vip") {
    if (!isIPv4(obj.vip)) fail(key, "vip", obj.vip === undefined ? "is missing (mode vip)" : `${JSON.stringify(obj.vip)} is not an IPv4 address`);
    record.vip = obj.vip;
  } else if (obj.vip !== undefined) {
    fail(key, "vip", `must be absent in mode ${valid.mode}`);
  }
  record.createdAt = timestamp(key, obj, "createdAt");
  return record;
}
