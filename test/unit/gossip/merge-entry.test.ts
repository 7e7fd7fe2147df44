import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyEntry, endpointKey, mergeEntry, type EndpointKey, type EndpointRecord } from "../../../controlplane/gossip/index.js";

function live(owner: string, endpointId: string, version: number, ip = "10.40.1.2"): EndpointRecord {
  return { network: "blue", endpointId, owner, version, tombstone: false, ip, mac: "02:00:00:00:01:02", vtep: "192.168.0.1", name: "", aliases: [], labels: {}, deletedAtMs: 0 };
}

function tomb(owner: string, endpointId: string, version: number): EndpointRecord {
  return { network: "blue", endpointId, owner, version, tombstone: true, ip: "", mac: "", vtep: "", name: "", aliases: [], labels: {}, deletedAtMs: 1 };
}

function tableOf(...records: EndpointRecord[]): Map<EndpointKey, EndpointRecord> {
  return new Map(records.map((r) => [endpointKey(r), r]));
}

describe("mergeEntry", () => {
  it("accepts a new key and a newer version of the owner's entry", () => {
    expect(mergeEntry(new Map(), live("n1", "a", 5))).toEqual({ kind: "accepted" });
    const held = live("n1", "a", 5);
    expect(mergeEntry(tableOf(held), live("n1", "a", 6, "10.40.1.3"))).toEqual({ kind: "accepted", previous: held });
  });

  it("drops stale versions", () => {
    const held = live("n1", "a", 5);
    expect(mergeEntry(tableOf(held), live("n1", "a", 4)).kind).toBe("stale");
  });

  it("ignores an equal version even when its content differs", () => {
    const held = live("n1", "a", 5);
    expect(mergeEntry(tableOf(held), live("n1", "a", 5, "10.40.1.99")).kind).toBe("duplicate");
  });

  it("lets a newer tombstone beat an older value and never the reverse", () => {
    expect(mergeEntry(tableOf(live("n1", "a", 5)), tomb("n1", "a", 6)).kind).toBe("accepted");
    expect(mergeEntry(tableOf(tomb("n1", "a", 6)), live("n1", "a", 5)).kind).toBe("stale");
  });

  it("keys name the owner: another node's entry with the same endpoint id never touches the owner's", () => {
    const held = live("n1", "a", 5);
    const { table } = applyEntry(tableOf(held), tomb("n2", "a", 99));
    expect(table.get("blue/n1/a")).toBe(held);
    expect(table.get("blue/n2/a")!.tombstone).toBe(true);
  });

  it("does not mutate the table it is given", () => {
    const table = tableOf(live("n1", "a", 5));
    const { table: next } = applyEntry(table, live("n1", "a", 6));
    expect(table.get("blue/n1/a")!.version).toBe(5);
    expect(next.get("blue/n1/a")!.version).toBe(6);
  });

  // One owner's history of one key: versions 1..n, each live or a tombstone.
  const history = fc
    .array(fc.boolean(), { minLength: 1, maxLength: 8 })
    .map((tombstones) => tombstones.map((t, i) => (t ? tomb("n1", "a", i + 1) : live("n1", "a", i + 1, `10.40.1.${i + 2}`))));

  it("converges to the newest version under any order, duplication and foreign forgeries", () => {
    fc.assert(
      fc.property(
        history,
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 20 }), { maxLength: 5 }),
        (versions, extraPicks, forgedVersions) => {
          // Every version delivered at least once, plus duplicates and forged entries by n2, shuffled.
          const deliveries = [
            ...versions,
            ...extraPicks.map((p) => versions[p % versions.length]!),
            ...forgedVersions.map((v) => live("n2", "a", v, "10.40.2.9")),
          ];
          const orders = [deliveries, [...deliveries].reverse(), [...deliveries].sort((x, y) => (x.ip < y.ip ? -1 : 1))];
          const newest = versions[versions.length - 1]!;
          for (const order of orders) {
            let table = new Map<EndpointKey, EndpointRecord>();
            // Seed with the owner's first version so forgeries arrive at a held key.
            table = applyEntry(table, versions[0]!).table;
            for (const record of order) table = applyEntry(table, record).table;
            expect(table.get("blue/n1/a")).toEqual(newest);
          }
        },
      ),
    );
  });

  it("never lets an older value replace a tombstone", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 1000 }), fc.integer({ min: 1, max: 1000 }), (tombVersion, older) => {
        fc.pre(older < tombVersion);
        const { table } = applyEntry(tableOf(tomb("n1", "a", tombVersion)), live("n1", "a", older));
        expect(table.get("blue/n1/a")!.tombstone).toBe(true);
      }),
    );
  });
});
