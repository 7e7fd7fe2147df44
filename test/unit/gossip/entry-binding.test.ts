// Issue 6, trust items 1-3: an entry is bound to its owner (MAC from its IP, the owner's registered
// VTEP, an IP in the owner's slice that no other owner holds), keys include the owner, and tombstones
// cannot pin a key with a deletion time in the future.
import { afterEach, describe, expect, it } from "vitest";
import type { EntryPolicy } from "../../../controlplane/gossip/index.js";
import { WeftError } from "../../../proto/values/index.js";
import {
  counterValue,
  ipOf,
  liveRecord,
  NETWORK,
  pushFrame,
  signedBy,
  sliceOf,
  staticPolicy,
  TestCluster,
  tombstoneRecord,
  vtepOf,
  type TestMember,
} from "./cluster.js";

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

const quiet = { pingIntervalMs: 0, antiEntropyIntervalMs: 1e9 };

async function send(from: TestMember, target: TestMember, records: Parameters<typeof liveRecord>[] | ReturnType<typeof liveRecord>[]): Promise<void> {
  const entries = (records as ReturnType<typeof liveRecord>[]).map((r) => signedBy(r, from.keyPair.secretKey));
  await cluster!.network.transport("mem:attacker").call(target.address, pushFrame(from, entries, { to: target.name, atMs: cluster!.clock.now() }), 1000);
}

function rejected(member: TestMember, reason: string): Promise<number> {
  return counterValue(member.metrics, "weft_gossip_rejected_total", { reason });
}

describe("entries bound to their owner", () => {
  it("refuses another container's MAC and a VTEP that is not the owner's (item 1)", async () => {
    cluster = new TestCluster({ size: 3, config: quiet });
    await cluster.start();
    const [n1, n2, n3] = cluster.members as [TestMember, TestMember, TestMember];
    const victim = cluster.publish(n1, 5);
    await cluster.until(() => n3.node.entries().length === 1, 1000);
    // n2 announces an address of its own slice with the victim's MAC, to steer its traffic.
    await send(n2, n3, [{ ...liveRecord("n2", "steal-mac", 5, ipOf(2, 9)), mac: victim.mac }]);
    expect(await rejected(n3, "malformed-entry")).toBe(1);
    // ... or with a VTEP that is not its registered underlay IP.
    await send(n2, n3, [{ ...liveRecord("n2", "steal-vtep", 5, ipOf(2, 10)), vtep: vtepOf(1) }]);
    expect(await rejected(n3, "vtep-mismatch")).toBe(1);
    expect(n3.node.entries()).toEqual([victim]);
  });

  it("refuses an address another owner holds live, even when the registry gives both a slice with it", async () => {
    // n2's slices overlap n1's (a reassignment in progress): the first holder keeps the address.
    const policy: EntryPolicy = { ...staticPolicy, ownerSlices: (owner, network) => (owner === "n2" ? [sliceOf(1), sliceOf(2)] : staticPolicy.ownerSlices(owner, network)) };
    cluster = new TestCluster({ size: 3, config: quiet, policy });
    await cluster.start();
    const [n1, n2, n3] = cluster.members as [TestMember, TestMember, TestMember];
    const held = cluster.publish(n1, 5);
    await cluster.until(() => n3.node.entries().length === 1, 1000);
    await send(n2, n3, [liveRecord("n2", "same-ip", 5, held.ip)]);
    expect(await rejected(n3, "address-conflict")).toBe(1);
    expect(n3.node.entries()).toEqual([held]);
    // Once n1 withdraws it, the address is free for n2.
    n1.node.withdraw(NETWORK, held.endpointId);
    await cluster.until(() => n3.node.entries().length === 0, 1000);
    await send(n2, n3, [liveRecord("n2", "same-ip", 6, held.ip)]);
    expect(n3.node.entries().map((r) => r.owner)).toEqual(["n2"]);
  });

  it("refuses one entry with an IPv6 VTEP at intake and keeps the rest (item 2)", async () => {
    cluster = new TestCluster({ size: 2, config: quiet });
    await cluster.start();
    const [n1, n2] = cluster.members as [TestMember, TestMember];
    await send(n2, n1, [{ ...liveRecord("n2", "v6", 5, ipOf(2, 9)), vtep: "::1" }, liveRecord("n2", "fine", 6, ipOf(2, 10))]);
    expect(await rejected(n1, "malformed-entry")).toBe(1);
    expect(n1.node.entries().map((r) => [r.endpointId, r.vtep])).toEqual([["fine", vtepOf(2)]]);
    // And this node refuses to announce one.
    expect(() => n1.node.publish({ network: NETWORK, endpointId: "x", ip: ipOf(1, 3), mac: liveRecord("n1", "x", 1, ipOf(1, 3)).mac, vtep: "::1", name: "x" })).toThrow(WeftError);
  });
});

describe("keys and tombstones (item 3)", () => {
  it("a member cannot squat another node's endpoint id, not even with a tombstone dated far ahead", async () => {
    cluster = new TestCluster({ size: 3, config: quiet });
    await cluster.start();
    const [n1, n2, n3] = cluster.members as [TestMember, TestMember, TestMember];
    const farAhead = cluster.clock.now() + 365 * 24 * 3600 * 1000;
    // n2 claims n1's next endpoint id before n1 announces it: as a live entry and as a tombstone.
    await send(n2, n3, [liveRecord("n2", "n1-ep7", 5, ipOf(2, 7)), tombstoneRecord("n2", "n1-ep8", 6, farAhead)]);
    expect(await rejected(n3, "future-deletion")).toBe(1);
    const real = [cluster.publish(n1, 7), cluster.publish(n1, 8)];
    await cluster.until(() => n3.node.entries().filter((r) => r.owner === "n1").length === 2, 1000);
    expect(n3.node.entries().filter((r) => r.owner === "n1")).toEqual(real);
    expect(await rejected(n3, "owner-conflict")).toBe(0);
  });

  it("reaps a tombstone by the time this node received it, whatever deletion time it carries", async () => {
    cluster = new TestCluster({ size: 2, config: { ...quiet, antiEntropyIntervalMs: 1000, tombstoneTtlMs: 10_000 } });
    await cluster.start();
    const [n1, n2] = cluster.members as [TestMember, TestMember];
    // n2 is away (still a member): nobody re-announces its key meanwhile.
    await n2.node.stop();
    // Within the allowed skew (60 s) ahead: accepted, but kept only TTL after receipt.
    await send(n2, n1, [tombstoneRecord("n2", "gone", 5, cluster.clock.now() + 50_000)]);
    expect(n1.node.allEntries().map((r) => r.endpointId)).toEqual(["gone"]);
    await cluster.clock.advance(12_000);
    expect(n1.node.allEntries()).toEqual([]);
  });
});
