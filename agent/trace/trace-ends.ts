// FROM and TO of a trace, resolved from what the user typed against the agent's view: an endpoint by
// ID (or a unique prefix of one), name or IP; for TO also a service by name or VIP, or a published
// HOST:PORT. Pure; bad input is a WeftError naming the argument.
import type { NetworkRecord } from "../../controlplane/registry/index.js";
import { maglevTable, maglevTableSize } from "../../controlplane/services/index.js";
import { isIPv4, printable, sliceContains, WeftError } from "../../proto/values/index.js";
import { hashSeed, type ServiceWithBackends } from "../desired-state/mesh-part.js";
import type { EndpointView } from "../endpoints/endpoint-view.js";
import type { EndpointFact, ServiceFact } from "./trace-facts.js";

export interface TraceView {
  endpoints: readonly EndpointView[];
  networks: readonly NetworkRecord[];
  services: readonly ServiceWithBackends[];
  /** Cluster members with their underlay addresses, this node included. */
  nodes: ReadonlyArray<{ name: string; underlayIp: string }>;
}

export type ResolvedTarget =
  | { kind: "endpoint"; endpoint: EndpointFact }
  | { kind: "service"; service: ServiceFact; record: ServiceWithBackends["record"]; published?: { host: string; port: number } };

export function endpointFact(view: EndpointView): EndpointFact {
  return { id: view.id, name: view.name, network: view.network, node: view.node, ip: view.ip, mac: view.mac, vtep: view.vtep };
}

export function serviceFact(s: ServiceWithBackends): ServiceFact {
  const ips = s.backends.map((b) => b.ip);
  const fact: ServiceFact = {
    name: s.record.name,
    network: s.record.network,
    affinity: s.record.affinity,
    hashSeed: hashSeed(s.record.name),
    backends: s.backends.map((b) => ({ ip: b.ip, endpointId: b.endpointId, owner: b.owner, name: b.name })),
    table: ips.length === 0 ? [] : maglevTable(ips, maglevTableSize(ips.length)),
  };
  if (s.record.vip !== undefined) fact.vip = s.record.vip;
  return fact;
}

function fail(field: string, code: "invalid-argument" | "not-found", reason: string): never {
  throw new WeftError(code, `${field}: ${reason}`, { field });
}

/** An endpoint by ID, unique ID prefix (6+ hex digits), name or IP. */
export function resolveEndpoint(text: string, field: string, view: TraceView): EndpointFact {
  const value = text.trim();
  if (value === "") fail(field, "invalid-argument", "is empty: name an endpoint (name, ID or IP)");
  const shown = printable(value, 80);
  let matches = view.endpoints.filter((e) => e.id === value);
  if (matches.length === 0 && /^[0-9a-f]{6,}$/.test(value)) matches = view.endpoints.filter((e) => e.id.startsWith(value));
  if (matches.length === 0) matches = view.endpoints.filter((e) => e.name === value);
  if (matches.length === 0 && isIPv4(value)) {
    matches = view.endpoints.filter((e) => e.ip === value);
    if (matches.length === 0) {
      const network = view.networks.find((n) => sliceContains(n.subnet, value));
      fail(field, "not-found", network === undefined ? `${shown} is in no network` : `no endpoint has the address ${shown} in network ${network.name}`);
    }
  }
  if (matches.length === 0) fail(field, "not-found", `no endpoint is named ${shown} or has that ID (weft endpoint ls lists them)`);
  if (matches.length > 1) {
    fail(field, "invalid-argument", `${shown} is ambiguous: ${matches.slice(0, 4).map((e) => `${e.name || e.id.slice(0, 12)} (${e.network}, ${e.id.slice(0, 12)})`).join(", ")}: give an ID`);
  }
  return endpointFact(matches[0]!);
}

/** TO: an endpoint, a service by name or VIP, or a published HOST:PORT (HOST: a node's name or underlay IP). */
export function resolveTarget(text: string, field: string, view: TraceView): ResolvedTarget {
  const value = text.trim();
  const service = view.services.find((s) => s.record.name === value || (s.record.vip !== undefined && s.record.vip === value));
  if (service !== undefined) return { kind: "service", service: serviceFact(service), record: service.record };
  const published = /^([^:\s]+):([0-9]{1,5})$/.exec(value);
  if (published !== null) {
    const [, hostText, portText] = published;
    const node = view.nodes.find((n) => n.name === hostText || n.underlayIp === hostText);
    if (node === undefined) fail(field, "not-found", `${printable(hostText!, 80)} is not a node of the cluster (a node's name or underlay IP)`);
    const port = Number(portText);
    const owner = view.services.find((s) => s.record.ports.some((p) => p.published === port));
    if (owner === undefined) fail(field, "not-found", `no service publishes port ${port}`);
    return { kind: "service", service: serviceFact(owner), record: owner.record, published: { host: node.name, port } };
  }
  return { kind: "endpoint", endpoint: resolveEndpoint(value, field, view) };
}
