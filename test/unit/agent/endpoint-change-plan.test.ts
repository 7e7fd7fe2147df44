import { describe, expect, it } from "vitest";
import { planEndpointChanges, type EndpointChangeContext } from "../../../agent/kernel-sync/endpoint-change-plan.js";
import type { EndpointRecord } from "../../../controlplane/gossip/index.js";
// EndpointRecord.aliases (issue 7, the DNS helper) as a spread: compiles before and after it lands.
const NO_ALIASES = { aliases: [] as readonly string[] };

const record = (owner: string, id: string, ip: string, mac: string, vtep: string, network = "blue", tombstone = false): EndpointRecord => ({
  network, endpointId: id, owner, version: 1, tombstone, ip, mac, vtep, name: id, ...NO_ALIASES, labels: {}, deletedAtMs: tombstone ? 1 : 0,
});

const context = (current: EndpointRecord[] = []): EndpointChangeContext => ({
  node: "h1",
  underlayIp: "10.251.0.1",
  programmedVnis: new Map([["blue", 42]]),
  current: () => current,
});

const a = record("h2", "a", "10.40.2.2", "02:42:0a:28:02:02", "10.251.0.2");

describe("planEndpointChanges", () => {
  it("adds a new remote endpoint's FDB and neighbour entries, and removes them when it goes", () => {
    expect(planEndpointChanges([{ next: a }], context())).toEqual({
      links: [],
      fdbAdd: [{ device: "weft-vx42", mac: a.mac, dst: a.vtep }],
      neighboursAdd: [{ device: "weft-vx42", ip: a.ip, mac: a.mac }],
      fdbRemove: [],
      neighboursRemove: [],
    });
    const gone = planEndpointChanges([{ previous: a }], context());
    expect(gone.fdbRemove).toEqual([{ device: "weft-vx42", mac: a.mac, dst: a.vtep }]);
    expect(gone.neighboursRemove).toEqual([{ device: "weft-vx42", ip: a.ip, mac: a.mac }]);
    expect(gone.fdbAdd).toEqual([]);
  });

  it("moves an endpoint whose VTEP changed: the old destination goes, the neighbour is replaced in place", () => {
    const moved = { ...a, vtep: "10.251.0.3", version: 2 };
    const plan = planEndpointChanges([{ previous: a, next: moved }], context([moved]));
    expect(plan.fdbRemove).toEqual([{ device: "weft-vx42", mac: a.mac, dst: "10.251.0.2" }]);
    expect(plan.fdbAdd).toEqual([{ device: "weft-vx42", mac: a.mac, dst: "10.251.0.3" }]);
    expect(plan.neighboursRemove).toEqual([]);
    expect(plan.neighboursAdd).toEqual([]);
  });

  it("ignores this node's own endpoints, tombstones, entries pointing at this host and unprogrammed networks", () => {
    const plan = planEndpointChanges(
      [
        { next: record("h1", "own", "10.40.1.2", "02:42:0a:28:01:02", "10.251.0.1") },
        { next: record("h3", "here", "10.40.3.2", "02:42:0a:28:03:02", "10.251.0.1") },
        { next: record("h2", "dead", "", "", "", "blue", true) },
        { next: record("h2", "red", "10.50.2.2", "02:42:0a:32:02:02", "10.251.0.2", "red") },
        { previous: a, next: { ...a, version: 2, name: "renamed" } },
      ],
      context(),
    );
    expect(plan).toEqual({ links: [], fdbAdd: [], neighboursAdd: [], fdbRemove: [], neighboursRemove: [] });
  });

  it("keeps entries an endpoint still holding the same address needs, whichever batch brought it", () => {
    // A container detached and another attached with the same IP (hence MAC); the newcomer arrived first.
    const newcomer = record("h2", "b", a.ip, a.mac, a.vtep);
    const plan = planEndpointChanges([{ previous: a }], context([newcomer]));
    expect(plan.fdbRemove).toEqual([]);
    expect(plan.neighboursRemove).toEqual([]);
  });
});
