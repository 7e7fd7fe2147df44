// Issue 6, trust item 4: limits enforced on receipt (entries and bytes per frame, entries per owner,
// per-peer rates), intake that yields to the event loop, so a flood is bounded without any timing.
import { create } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it } from "vitest";
import { SignedEntrySchema } from "../../../proto/gen/weft/v1/gossip_pb.js";
import type { EntryPolicy } from "../../../controlplane/gossip/index.js";
import { formatIPv4 } from "../../../proto/values/index.js";
import { counterValue, ipOf, liveRecord, pushFrame, signedBy, staticPolicy, TestCluster, tombstoneRecord, type TestMember } from "./cluster.js";

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

const quiet = { pingIntervalMs: 0, antiEntropyIntervalMs: 1e9 };

function inject(target: TestMember, frame: Uint8Array): Promise<Uint8Array> {
  return cluster!.network.transport("mem:attacker").call(target.address, frame, 1000);
}

function rejected(member: TestMember, reason: string): Promise<number> {
  return counterValue(member.metrics, "weft_gossip_rejected_total", { reason });
}

/** n2 owns 10.41.0.0/16 as well, room for many entries. */
const widePolicy: EntryPolicy = {
  ...staticPolicy,
  ownerSlices: (owner, network) => (owner === "n2" ? ["10.41.0.0/16"] : staticPolicy.ownerSlices(owner, network)),
};

function wideEntries(owner: TestMember, count: number, from = 0) {
  return Array.from({ length: count }, (_, i) => signedBy(liveRecord("n2", `w${from + i}`, 10 + i, formatIPv4(0x0a290000 + 2 + from + i)), owner.keyPair.secretKey));
}

describe("receive limits", () => {
  it("refuses a frame with more entries than allowed before decoding any of them", async () => {
    cluster = new TestCluster({ size: 2, config: { ...quiet, maxEntriesPerFrame: 100 } });
    await cluster.start();
    const [n1, n2] = cluster.members as [TestMember, TestMember];
    const junk = Array.from({ length: 101 }, () => create(SignedEntrySchema, { entry: new Uint8Array([0xff, 0xff]), signature: new Uint8Array(64) }));
    expect((await inject(n1, pushFrame(n2, junk, { to: "n1", atMs: cluster.clock.now() }))).length).toBe(0);
    expect(await rejected(n1, "too-many-entries")).toBe(1);
    expect(await rejected(n1, "malformed-entry")).toBe(0);
    // At the limit, each entry is looked at (and refused on its own).
    await inject(n1, pushFrame(n2, junk.slice(1), { to: "n1", atMs: cluster.clock.now() }));
    expect(await rejected(n1, "malformed-entry")).toBe(100);
  });

  it("holds an owner to as many live entries as its slices have addresses, and to a bounded number of tombstones", async () => {
    const policy: EntryPolicy = { ...staticPolicy, ownerSlices: (owner, network) => (owner === "n2" ? ["10.40.2.0/30"] : staticPolicy.ownerSlices(owner, network)) };
    cluster = new TestCluster({ size: 2, config: { ...quiet, maxTombstonesPerOwner: 3 }, policy });
    await cluster.start();
    const [n1, n2] = cluster.members as [TestMember, TestMember];
    // The same four addresses announced under six endpoint ids.
    const live = Array.from({ length: 6 }, (_, i) => signedBy(liveRecord("n2", `e${i}`, 10 + i, ipOf(2, i % 4)), n2.keyPair.secretKey));
    await inject(n1, pushFrame(n2, live, { to: "n1", atMs: cluster.clock.now() }));
    expect(n1.node.entries()).toHaveLength(4);
    expect(await rejected(n1, "owner-quota")).toBe(2);
    const now = cluster.clock.now();
    const tombs = Array.from({ length: 5 }, (_, i) => signedBy(tombstoneRecord("n2", `t${i}`, 20 + i, now), n2.keyPair.secretKey));
    await inject(n1, pushFrame(n2, tombs, { to: "n1", atMs: cluster.clock.now() }));
    expect(n1.node.allEntries().filter((r) => r.tombstone)).toHaveLength(3);
    expect(await rejected(n1, "owner-quota")).toBe(4);
    // A tombstone for an entry held replaces it whatever the count: deletes always get through.
    await inject(n1, pushFrame(n2, [signedBy(tombstoneRecord("n2", "e0", 30, now), n2.keyPair.secretKey)], { to: "n1", atMs: cluster.clock.now() }));
    expect(n1.node.entries()).toHaveLength(3);
  });

  it("limits each peer's frames per second and refuses the excess with a signed refusal", async () => {
    cluster = new TestCluster({ size: 2, config: { ...quiet, peerFramesPerSecond: 1, peerFrameBurst: 3 } });
    await cluster.start();
    const [n1, n2] = cluster.members as [TestMember, TestMember];
    for (let i = 0; i < 5; i++) await inject(n1, pushFrame(n2, [signedBy(liveRecord("n2", `r${i}`, 10 + i, ipOf(2, 10 + i)), n2.keyPair.secretKey)], { to: "n1", atMs: cluster.clock.now() }));
    expect(n1.node.entries()).toHaveLength(3);
    expect(await rejected(n1, "rate-limited")).toBe(2);
    await cluster.clock.advance(1000);
    await inject(n1, pushFrame(n2, [signedBy(liveRecord("n2", "later", 20, ipOf(2, 30)), n2.keyPair.secretKey)], { to: "n1", atMs: cluster.clock.now() }));
    expect(n1.node.entries()).toHaveLength(4);
  });

  it("yields to the event loop while taking in a large frame: a timer set meanwhile fires before intake ends", async () => {
    cluster = new TestCluster({ size: 2, config: quiet, policy: widePolicy });
    await cluster.start();
    const [n1, n2] = cluster.members as [TestMember, TestMember];
    const frame = pushFrame(n2, wideEntries(n2, 1000), { to: "n1", atMs: cluster.clock.now() });
    let timerFired = false;
    const reply = inject(n1, frame);
    setImmediate(() => (timerFired = true));
    let firedBeforeIntakeEnded: boolean | undefined;
    await reply.then(() => (firedBeforeIntakeEnded = timerFired));
    expect(firedBeforeIntakeEnded).toBe(true);
    expect(n1.node.entries()).toHaveLength(1000);
  });
});
