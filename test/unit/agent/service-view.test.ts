import { describe, expect, it } from "vitest";
import { ServiceView, type LiveEntries } from "../../../agent/services/service-view.js";
import type { EndpointChange, EndpointRecord } from "../../../controlplane/gossip/index.js";
import type { ServiceRecord } from "../../../controlplane/services/index.js";
import { macForAddress } from "../../../proto/values/index.js";

const service = (name: string, selector: Record<string, string>, extra: Partial<ServiceRecord> = {}): ServiceRecord => ({
  name, network: "blue", selector, ports: [], mode: "vip", affinity: "none", vip: "10.40.255.1", createdAt: "2026-01-01T00:00:00Z", ...extra,
});
const entry = (id: string, ip: string, labels: Record<string, string>, extra: Partial<EndpointRecord> = {}): EndpointRecord => ({
  network: "blue", endpointId: id, owner: "h2", version: 1, tombstone: false, ip, mac: macForAddress(ip), vtep: "10.251.0.2", name: id, aliases: [], labels, deletedAtMs: 0, ...extra,
});

/** A gossip view whose changes the test makes. */
class FakeGossip implements LiveEntries {
  readonly table = new Map<string, EndpointRecord>();
  private readonly listeners = new Set<(change: EndpointChange) => void>();
  entries(): EndpointRecord[] {
    return [...this.table.values()];
  }
  subscribe(listener: (change: EndpointChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  put(record: EndpointRecord): void {
    const previous = this.table.get(record.endpointId);
    this.table.set(record.endpointId, record);
    for (const l of this.listeners) l({ ...(previous ? { previous } : {}), next: record });
  }
  remove(id: string): void {
    const previous = this.table.get(id)!;
    this.table.delete(id);
    for (const l of this.listeners) l({ previous });
  }
}

function setUp(records: ServiceRecord[], entries: EndpointRecord[] = []) {
  // Like the registry's snapshot: a new map on every change.
  const registry = { services: new Map(records.map((r) => [r.name, r])) };
  const setService = (record: ServiceRecord): void => void (registry.services = new Map([...registry.services, [record.name, record]]));
  const gossip = new FakeGossip();
  for (const e of entries) gossip.table.set(e.endpointId, e);
  const changes: string[][] = [];
  const view = new ServiceView({ services: () => registry.services, gossip, onBackendsChange: (names) => changes.push(names) });
  return { setService, gossip, changes, view };
}

describe("ServiceView", () => {
  it("gives each service the live endpoints of its network whose labels match, sorted by IP", () => {
    const { view } = setUp(
      [service("web", { app: "web" }), service("api", { app: "api", tier: "x" })],
      [
        entry("b", "10.40.2.10", { app: "web" }),
        entry("a", "10.40.2.9", { app: "web", extra: "1" }),
        entry("c", "10.40.2.11", { app: "api" }),
        entry("d", "10.40.2.12", { app: "web" }, { network: "red" }),
      ],
    );
    expect(view.list().map((s) => s.record.name)).toEqual(["api", "web"]);
    expect(view.get("web")!.backends.map((b) => b.ip)).toEqual(["10.40.2.9", "10.40.2.10"]);
    expect(view.get("api")!.backends).toEqual([]);
    expect(view.get("nope")).toBeUndefined();
  });

  it("reports a change only for the services whose backends it may move, and recomputes them", () => {
    const { gossip, changes, view } = setUp([service("web", { app: "web" }), service("api", { app: "api" })]);
    expect(view.get("web")!.backends).toEqual([]);
    const before = view.revision();
    gossip.put(entry("a", "10.40.2.9", { app: "web" }));
    expect(changes).toEqual([["web"]]);
    expect(view.revision()).toBeGreaterThan(before);
    expect(view.get("web")!.backends.map((b) => b.endpointId)).toEqual(["a"]);
    // An endpoint nobody selects: no report.
    gossip.put(entry("z", "10.40.2.30", { app: "other" }));
    expect(changes).toHaveLength(1);
    // Relabelled from web to api: both move.
    gossip.put(entry("a", "10.40.2.9", { app: "api" }, { version: 2 }));
    expect(changes[1]).toEqual(["api", "web"]);
    expect(view.get("web")!.backends).toEqual([]);
    expect(view.get("api")!.backends.map((b) => b.endpointId)).toEqual(["a"]);
    gossip.remove("a");
    expect(changes[2]).toEqual(["api"]);
    expect(view.get("api")!.backends).toEqual([]);
  });

  it("follows the registry: a replaced record is recomputed; networks and publishing networks", () => {
    const { setService, view } = setUp([service("web", { app: "web" })], [entry("a", "10.40.2.9", { app: "web" }), entry("b", "10.40.2.10", { app: "v2" })]);
    expect(view.get("web")!.backends.map((b) => b.endpointId)).toEqual(["a"]);
    setService(service("web", { app: "v2" }));
    expect(view.get("web")!.backends.map((b) => b.endpointId)).toEqual(["b"]);
    expect(view.publishingNetworks()).toEqual(new Set());
    expect(view.inNetwork("red")).toEqual([]);
    setService(service("pub", { app: "x" }, { network: "red", ports: [{ protocol: "udp", published: 53, target: 53, publishMode: "ingress" }] }));
    expect(view.publishingNetworks()).toEqual(new Set(["red"]));
    expect(view.networks()).toEqual(new Set(["blue", "red"]));
    expect(view.inNetwork("red").map((s) => s.record.name)).toEqual(["pub"]);
  });

  it("stops following gossip when closed", () => {
    const { gossip, changes, view } = setUp([service("web", { app: "web" })]);
    view.close();
    gossip.put(entry("a", "10.40.2.9", { app: "web" }));
    expect(changes).toEqual([]);
  });
});
