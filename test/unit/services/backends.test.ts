// Selector matching and a service's backends from gossip entries.
import { describe, expect, it } from "vitest";
import type { EndpointRecord } from "../../../controlplane/gossip/endpoint-record.js";
import { selectorMatches, serviceBackends, type ServiceRecord } from "../../../controlplane/services/index.js";
import { macForAddress } from "../../../proto/values/index.js";

const service: ServiceRecord = {
  name: "web",
  network: "blue",
  selector: { app: "web", tier: "front" },
  ports: [],
  mode: "vip",
  affinity: "none",
  vip: "10.40.255.1",
  createdAt: "2026-01-01T00:00:00.000Z",
};

function entry(ip: string, owner: string, labels: Record<string, string>, more: Partial<EndpointRecord> = {}): EndpointRecord {
  return {
    network: "blue",
    endpointId: `ep-${ip}`,
    owner,
    version: 1,
    tombstone: false,
    ip,
    mac: macForAddress(ip),
    vtep: "192.168.1.1",
    name: `c-${ip.split(".")[3]}`,
    aliases: [],
    labels,
    deletedAtMs: 0,
    ...more,
  };
}

const web = { app: "web", tier: "front" };

describe("selectorMatches", () => {
  it("needs every key with the same value; extra labels do not matter", () => {
    expect(selectorMatches({ app: "web" }, { app: "web", version: "2" })).toBe(true);
    expect(selectorMatches({ app: "web", tier: "front" }, { app: "web" })).toBe(false);
    expect(selectorMatches({ app: "web" }, { app: "api" })).toBe(false);
    expect(selectorMatches({ app: "" }, { app: "" })).toBe(true);
    expect(selectorMatches({ app: "" }, {})).toBe(false);
  });

  it("matches nothing with an empty selector, and ignores inherited properties", () => {
    expect(selectorMatches({}, { app: "web" })).toBe(false);
    expect(selectorMatches({ toString: Object.prototype.toString as unknown as string }, {})).toBe(false);
    expect(selectorMatches({ constructor: "x" }, {})).toBe(false);
  });
});

describe("serviceBackends", () => {
  it("takes the live, matching entries of the service's network, sorted by IP as numbers", () => {
    const entries = [
      entry("10.40.1.10", "h1", web),
      entry("10.40.0.9", "h2", web),
      entry("10.40.0.10", "h1", { ...web, extra: "yes" }),
      entry("10.40.0.11", "h1", { app: "web" }), // lacks tier
      entry("10.41.0.12", "h1", web, { network: "red" }),
      { ...entry("10.40.0.13", "h3", {}), tombstone: true, ip: "", mac: "", vtep: "", name: "", deletedAtMs: 5 },
    ];
    expect(serviceBackends(service, entries)).toEqual([
      { ip: "10.40.0.9", endpointId: "ep-10.40.0.9", owner: "h2", name: "c-9" },
      { ip: "10.40.0.10", endpointId: "ep-10.40.0.10", owner: "h1", name: "c-10" },
      { ip: "10.40.1.10", endpointId: "ep-10.40.1.10", owner: "h1", name: "c-10" },
    ]);
  });

  it("keeps one backend per IP, the same one whatever the entries' order", () => {
    const a = entry("10.40.0.5", "h2", web, { endpointId: "b" });
    const b = entry("10.40.0.5", "h1", web, { endpointId: "z" });
    expect(serviceBackends(service, [a, b])).toEqual([{ ip: "10.40.0.5", endpointId: "z", owner: "h1", name: "c-5" }]);
    expect(serviceBackends(service, [b, a])).toEqual(serviceBackends(service, [a, b]));
  });

  it("is empty when nothing matches", () => {
    expect(serviceBackends(service, [])).toEqual([]);
    expect(serviceBackends(service, [entry("10.40.0.5", "h1", { app: "api" })])).toEqual([]);
  });
});
