// TEMPORARY stand-in for controlplane/services (the cp helper's branch); deleted before the last commit.
import type { EndpointRecord } from "../../controlplane/gossip/index.js";
import type { ServicePort, ServiceRecord, ServiceSpec } from "../../controlplane/services/index.js";
import { invalidArgument } from "../../proto/values/index.js";

export interface ServiceBackend {
  ip: string;
  endpointId: string;
  owner: string;
  name: string;
}

export function validateServiceSpec(spec: ServiceSpec): ServiceSpec {
  return spec;
}

export function parsePublish(text: string, field: string): ServicePort {
  const m = /^(\d+):(\d+)(?:\/(tcp|udp))?(?:,mode=(ingress|local))?$/.exec(text);
  if (!m) throw invalidArgument(field, `"${text}" is not PUBLISHED:TARGET[/tcp|/udp][,mode=ingress|local]`);
  return { published: Number(m[1]), target: Number(m[2]), protocol: (m[3] ?? "tcp") as "tcp" | "udp", publishMode: (m[4] ?? "ingress") as "ingress" | "local" };
}

export function parseSelector(text: string, field: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(",")) {
    const at = part.indexOf("=");
    if (at <= 0) throw invalidArgument(field, `"${part}" is not key=value`);
    out[part.slice(0, at)] = part.slice(at + 1);
  }
  return out;
}

export function selectorMatches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

export function serviceBackends(service: ServiceRecord, entries: Iterable<EndpointRecord>): ServiceBackend[] {
  const byIp = new Map<string, ServiceBackend>();
  for (const e of entries) {
    if (e.tombstone || e.network !== service.network || !selectorMatches(service.selector, e.labels)) continue;
    if (!byIp.has(e.ip)) byIp.set(e.ip, { ip: e.ip, endpointId: e.endpointId, owner: e.owner, name: e.name });
  }
  const key = (ip: string): number => ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
  return [...byIp.values()].sort((a, b) => key(a.ip) - key(b.ip));
}

export function maglevTableSize(backends: number): number {
  return backends <= 51 ? 1021 : backends <= 204 ? 4093 : backends <= 819 ? 16381 : 65521;
}

export function maglevTable(backends: readonly string[], size: number): number[] {
  if (backends.length === 0) return [];
  return Array.from({ length: size }, (_, i) => i % backends.length);
}
