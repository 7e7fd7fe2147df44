// Aliases travel in the signed entry like every other field: canonical, validated, refused by name.
import nacl from "tweetnacl";
import { afterEach, describe, expect, it } from "vitest";
import { decodeEntry, encodeAndSignEntry, type EndpointRecord } from "../../../controlplane/gossip/index.js";
import { WeftError } from "../../../proto/values/index.js";
import { NETWORK, TestCluster, ipOf, macOf, vtepOf, type TestMember } from "./cluster.js";

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

const owner = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(9));

function announcement(aliases: unknown): Parameters<TestMember["node"]["publish"]>[0] {
  return { network: NETWORK, endpointId: "c1", ip: ipOf(1, 2), mac: macOf(1, 2), vtep: vtepOf(1), name: "api", aliases: aliases as string[] };
}

describe("endpoint aliases in gossip", () => {
  it("survive gossip between two nodes, sorted and without repeats", async () => {
    cluster = new TestCluster({ size: 2, seed: 11 });
    await cluster.start();
    const [n1, n2] = cluster.members as [TestMember, TestMember];
    const published = n1.node.publish(announcement(["web", "Frontend", "web", "api-v2"]));
    expect(published.aliases).toEqual(["Frontend", "api-v2", "web"]);
    await cluster.until(() => n2.node.entries().length === 1, 2000);
    expect(n2.node.entries()[0]!.aliases).toEqual(["Frontend", "api-v2", "web"]);
  });

  it("a change of aliases alone is a new version; the same aliases in another order are not", async () => {
    cluster = new TestCluster({ size: 2, seed: 12 });
    await cluster.start();
    const [n1, n2] = cluster.members as [TestMember, TestMember];
    const first = n1.node.publish(announcement(["a", "b"]));
    expect(n1.node.publish(announcement(["b", "a"])).version).toBe(first.version);
    const second = n1.node.publish(announcement(["a"]));
    expect(second.version).toBeGreaterThan(first.version);
    await cluster.until(() => n2.node.entries()[0]?.version === second.version, 2000);
    expect(n2.node.entries()[0]!.aliases).toEqual(["a"]);
  });

  it("refuses an invalid alias, naming the field", () => {
    cluster = new TestCluster({ size: 1 });
    const [n1] = cluster.members as [TestMember];
    for (const bad of [["ok", "bad name"], ["-dash"], [""], ["x".repeat(64)], [7], "web", Array.from({ length: 17 }, (_, i) => `a${i}`)]) {
      let error: unknown;
      try {
        n1.node.publish(announcement(bad));
      } catch (err) {
        error = err;
      }
      expect(error, JSON.stringify(bad)).toBeInstanceOf(WeftError);
      expect((error as WeftError).field).toBe("aliases");
      expect((error as WeftError).code).toBe("invalid-argument");
    }
    expect(n1.node.entries()).toEqual([]);
  });

  it("are signed: a receiver refuses entries whose aliases are not canonical or not names", () => {
    const record: EndpointRecord = {
      network: NETWORK, endpointId: "c1", owner: "n1", version: 1, tombstone: false, ip: ipOf(1, 2), mac: macOf(1, 2),
      vtep: vtepOf(1), name: "api", aliases: ["a", "b"], labels: {}, deletedAtMs: 0,
    };
    const good = decodeEntry(encodeAndSignEntry(record, owner.secretKey).parts());
    expect(good.ok && good.entry.record.aliases).toEqual(["a", "b"]);
    for (const aliases of [["b", "a"], ["a", "a"], ["bad name"], Array.from({ length: 17 }, (_, i) => `a${String(i).padStart(2, "0")}`)]) {
      const decoded = decodeEntry(encodeAndSignEntry({ ...record, aliases }, owner.secretKey).parts());
      expect(decoded).toMatchObject({ ok: false, reason: "malformed-entry" });
      expect(!decoded.ok && decoded.detail).toMatch(/^aliases: /);
    }
  });

  it("a tombstone carries none", () => {
    const record: EndpointRecord = {
      network: NETWORK, endpointId: "c1", owner: "n1", version: 2, tombstone: true, ip: "", mac: "", vtep: "", name: "",
      aliases: ["a"], labels: {}, deletedAtMs: 5,
    };
    const tomb = encodeAndSignEntry(record, owner.secretKey);
    expect(tomb.record.aliases).toEqual([]);
    expect(decodeEntry(tomb.parts())).toMatchObject({ ok: true });
  });
});
