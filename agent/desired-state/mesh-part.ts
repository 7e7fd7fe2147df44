// The mesh part of the desired state: the services of the networks this host serves, each with its
// live backends and its Maglev tables, plus the VIPs the overlay puts on the bridges. Every node
// computes the same tables from the same inputs (backends sorted by IP, seed from the service name),
// so every node picks the same backend for the same flow. Pure.
import { maglevTable, maglevTableSize, type ServiceBackend, type ServiceRecord } from "../../controlplane/services/index.js";
import { bridgeName } from "../../dataplane/index.js";
import type { DesiredMesh, DesiredService } from "../../dataplane/desired-state.js";

/** A service with its backends as the service view computed them (sorted by IP, unique by IP). */
export interface ServiceWithBackends {
  record: ServiceRecord;
  backends: readonly ServiceBackend[];
}

export interface MeshInput {
  node: string;
  services: readonly ServiceWithBackends[];
  /** The networks this host serves (programs a bridge with its gateway for): name -> VNI. */
  served: ReadonlyMap<string, number>;
}

export interface MeshPart {
  mesh: DesiredMesh;
  /** network -> the VIPs of its vip-mode services, sorted: DesiredNetwork.serviceIps. */
  serviceIps: Map<string, string[]>;
}

export function buildMeshPart(input: MeshInput): MeshPart {
  const services: DesiredService[] = [];
  const serviceIps = new Map<string, string[]>();
  for (const { record, backends } of input.services) {
    const vni = input.served.get(record.network);
    if (vni === undefined) continue;
    const vip = record.mode === "vip" ? record.vip : undefined;
    if (vip !== undefined) serviceIps.set(record.network, [...(serviceIps.get(record.network) ?? []), vip]);
    services.push(desiredService(record, backends, input.node, bridgeName(vni), vip));
  }
  services.sort((a, b) => byCodeUnits(a.name, b.name));
  for (const ips of serviceIps.values()) ips.sort(byCodeUnits);
  return { mesh: { services }, serviceIps };
}

function desiredService(record: ServiceRecord, backends: readonly ServiceBackend[], node: string, bridge: string, vip: string | undefined): DesiredService {
  const desiredBackends = backends.map((b) => ({ ip: b.ip, local: b.owner === node }));
  const localIndexes = desiredBackends.flatMap((b, i) => (b.local ? [i] : []));
  return {
    name: record.name,
    bridge,
    ...(vip !== undefined ? { vip } : {}),
    affinity: record.affinity,
    hashSeed: hashSeed(record.name),
    backends: desiredBackends,
    table: lookupTable(desiredBackends.map((b) => b.ip)),
    // Over the local backends only, mapped back to their indexes in `backends`.
    localTable: lookupTable(localIndexes.map((i) => desiredBackends[i]!.ip)).map((slot) => localIndexes[slot]!),
    ports: record.ports.map((p) => ({ protocol: p.protocol, published: p.published, target: p.target, publishMode: p.publishMode })),
  };
}

function lookupTable(ips: readonly string[]): number[] {
  return ips.length === 0 ? [] : maglevTable(ips, maglevTableSize(ips.length));
}

/** FNV-1a (32 bits) of the service name: the jhash seed, the same on every node. */
export function hashSeed(name: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(name, "utf8")) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
