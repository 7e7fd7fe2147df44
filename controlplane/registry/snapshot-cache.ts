// The registry's cache of what is in etcd, and the events that changes to it produce. Shared by both
// registries so that they report changes identically.
import type { ParsedKey } from "./keys.js";
import type { ServiceRecord } from "../services/service-record.js";
import type { NetworkRecord, NodeRecord, SubnetLease } from "./records.js";
import type { RegistryValue } from "./registry-values.js";
import type { RegistryEvent, RegistrySnapshot } from "./registry.js";

/** A fresh listing of the prefix: the valid records, and the keys whose values failed validation. */
export interface RegistryListing {
  nodes: NodeRecord[];
  networks: NetworkRecord[];
  subnets: SubnetLease[];
  services: ServiceRecord[];
  /** Keys that exist but hold invalid values: the cache keeps what it held for them. */
  unreadable?: readonly ParsedKey[];
}

export class SnapshotCache {
  readonly nodes = new Map<string, NodeRecord>();
  readonly networks = new Map<string, NetworkRecord>();
  /** network -> cidr -> lease */
  readonly subnets = new Map<string, Map<string, SubnetLease>>();
  readonly services = new Map<string, ServiceRecord>();
  private frozen: RegistrySnapshot | undefined;

  snapshot(): RegistrySnapshot {
    if (!this.frozen) {
      const subnets = new Map<string, readonly SubnetLease[]>();
      for (const [network, leases] of this.subnets) {
        if (leases.size > 0) subnets.set(network, [...leases.values()].sort((a, b) => a.cidr.localeCompare(b.cidr)));
      }
      this.frozen = { nodes: new Map(this.nodes), networks: new Map(this.networks), subnets, services: new Map(this.services) };
    }
    return this.frozen;
  }

  leasesOf(network: string): SubnetLease[] {
    return [...(this.subnets.get(network)?.values() ?? [])];
  }

  /** Applies a valid value read from a key; returns the event to emit, or undefined when nothing changed. */
  put(value: RegistryValue): RegistryEvent | undefined {
    if (value.kind === "node") return this.putNode(value.record);
    if (value.kind === "network") return this.putNetwork(value.record);
    if (value.kind === "service") return this.putService(value.record);
    return this.putSubnet(value.record);
  }

  /** Applies the deletion of a key. */
  delete(key: ParsedKey): RegistryEvent | undefined {
    if (key.kind === "node") return this.deleteNode(key.name);
    if (key.kind === "network") return this.deleteNetwork(key.name);
    if (key.kind === "service") return this.deleteService(key.name);
    return this.deleteSubnet(key.network, key.cidr);
  }

  /** What the cache holds for `key`, if anything. */
  get(key: ParsedKey): RegistryValue | undefined {
    if (key.kind === "node") {
      const record = this.nodes.get(key.name);
      return record && { kind: "node", record };
    }
    if (key.kind === "network") {
      const record = this.networks.get(key.name);
      return record && { kind: "network", record };
    }
    if (key.kind === "service") {
      const record = this.services.get(key.name);
      return record && { kind: "service", record };
    }
    const record = this.subnets.get(key.network)?.get(key.cidr);
    return record && { kind: "subnet", record };
  }

  /** Applies a put; returns the event to emit, or undefined when nothing changed. */
  putNode(record: NodeRecord): RegistryEvent | undefined {
    if (sameJson(this.nodes.get(record.name), record)) return undefined;
    this.nodes.set(record.name, record);
    this.frozen = undefined;
    return { kind: "node", type: "put", name: record.name, record };
  }

  deleteNode(name: string): RegistryEvent | undefined {
    if (!this.nodes.delete(name)) return undefined;
    this.frozen = undefined;
    return { kind: "node", type: "delete", name };
  }

  putNetwork(record: NetworkRecord): RegistryEvent | undefined {
    if (sameJson(this.networks.get(record.name), record)) return undefined;
    this.networks.set(record.name, record);
    this.frozen = undefined;
    return { kind: "network", type: "put", name: record.name, record };
  }

  deleteNetwork(name: string): RegistryEvent | undefined {
    if (!this.networks.delete(name)) return undefined;
    this.frozen = undefined;
    return { kind: "network", type: "delete", name };
  }

  putSubnet(lease: SubnetLease): RegistryEvent | undefined {
    let leases = this.subnets.get(lease.network);
    if (sameJson(leases?.get(lease.cidr), lease)) return undefined;
    if (!leases) this.subnets.set(lease.network, (leases = new Map()));
    leases.set(lease.cidr, lease);
    this.frozen = undefined;
    return { kind: "subnet", type: "put", network: lease.network, cidr: lease.cidr, lease };
  }

  deleteSubnet(network: string, cidr: string): RegistryEvent | undefined {
    const leases = this.subnets.get(network);
    if (!leases?.delete(cidr)) return undefined;
    if (leases.size === 0) this.subnets.delete(network);
    this.frozen = undefined;
    return { kind: "subnet", type: "delete", network, cidr };
  }

  putService(record: ServiceRecord): RegistryEvent | undefined {
    if (sameJson(this.services.get(record.name), record)) return undefined;
    this.services.set(record.name, record);
    this.frozen = undefined;
    return { kind: "service", type: "put", name: record.name, record };
  }

  deleteService(name: string): RegistryEvent | undefined {
    if (!this.services.delete(name)) return undefined;
    this.frozen = undefined;
    return { kind: "service", type: "delete", name };
  }

  /**
   * Replaces the whole cache with `next` (a fresh listing), returning the events that turn the old
   * view into the new one: deletes for what vanished (e.g. while a compacted watch was away), puts
   * for what is new or changed. A key holding an invalid value keeps what the cache held for it.
   */
  replaceWith(listing: RegistryListing): RegistryEvent[] {
    const next = { nodes: [...listing.nodes], networks: [...listing.networks], subnets: [...listing.subnets], services: [...listing.services] };
    for (const key of listing.unreadable ?? []) {
      const kept = this.get(key);
      if (kept?.kind === "node") next.nodes.push(kept.record);
      else if (kept?.kind === "network") next.networks.push(kept.record);
      else if (kept?.kind === "subnet") next.subnets.push(kept.record);
      else if (kept?.kind === "service") next.services.push(kept.record);
    }
    const events: RegistryEvent[] = [];
    const push = (e: RegistryEvent | undefined): void => void (e && events.push(e));
    const nodeNames = new Set(next.nodes.map((n) => n.name));
    const networkNames = new Set(next.networks.map((n) => n.name));
    const subnetKeys = new Set(next.subnets.map((s) => `${s.network} ${s.cidr}`));
    const serviceNames = new Set(next.services.map((s) => s.name));
    for (const name of [...this.services.keys()]) if (!serviceNames.has(name)) push(this.deleteService(name));
    for (const [network, leases] of [...this.subnets]) {
      for (const cidr of [...leases.keys()]) if (!subnetKeys.has(`${network} ${cidr}`)) push(this.deleteSubnet(network, cidr));
    }
    for (const name of [...this.networks.keys()]) if (!networkNames.has(name)) push(this.deleteNetwork(name));
    for (const name of [...this.nodes.keys()]) if (!nodeNames.has(name)) push(this.deleteNode(name));
    for (const n of next.nodes) push(this.putNode(n));
    for (const n of next.networks) push(this.putNetwork(n));
    for (const s of next.subnets) push(this.putSubnet(s));
    for (const s of next.services) push(this.putService(s));
    return events;
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}
