import nacl from "tweetnacl";
import { afterEach, describe, expect, it } from "vitest";
import { counterValue, ipOf, liveRecord, pushFrame, signedBy, TestCluster, type FrameHead, type TestMember } from "./cluster.js";

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

async function inject(target: TestMember, frame: Uint8Array): Promise<Uint8Array> {
  return cluster!.network.transport("mem:attacker").call(target.address, frame, 1000);
}

async function rejected(member: TestMember, reason: string): Promise<number> {
  return counterValue(member.metrics, "weft_gossip_rejected_total", { reason });
}

/** Frame head for a frame to `to` sent now. */
function to(member: TestMember, extra: Partial<FrameHead> = {}): FrameHead {
  return { to: member.name, atMs: cluster!.clock.now(), ...extra };
}

describe("trust", () => {
  it("rejects a forged entry, an unknown owner, an IP outside the owner's slice and an unknown network, counting each", async () => {
    cluster = new TestCluster({ size: 3, config: { pingIntervalMs: 0, antiEntropyIntervalMs: 1e9 } });
    await cluster.start();
    const [n1, n2, n3] = cluster.members as [TestMember, TestMember, TestMember];
    const stranger = nacl.sign.keyPair();
    const cases: [string, Uint8Array][] = [
      // n2 forges an entry claiming n1 as owner.
      ["bad-entry-signature", pushFrame(n2, [signedBy(liveRecord("n1", "forged", 5, ipOf(1, 9)), n2.keyPair.secretKey)], to(n3))],
      // A properly self-signed entry from a node etcd does not know, relayed by n2.
      ["unknown-owner", pushFrame(n2, [signedBy(liveRecord("n9", "ghost", 5, ipOf(9, 9)), stranger.secretKey)], to(n3))],
      // n2 announces an address in n1's slice.
      ["ip-outside-slice", pushFrame(n2, [signedBy(liveRecord("n2", "squatter", 5, ipOf(1, 9)), n2.keyPair.secretKey)], to(n3))],
      ["unknown-network", pushFrame(n2, [signedBy(liveRecord("n2", "elsewhere", 5, ipOf(2, 9), "red"), n2.keyPair.secretKey)], to(n3))],
      // A whole frame from a node nobody knows.
      ["unknown-origin", pushFrame({ name: "n9", keyPair: stranger }, [signedBy(liveRecord("n9", "x", 5, ipOf(9, 9)), stranger.secretKey)], to(n3))],
    ];
    for (const [reason, frame] of cases) {
      await inject(n3, frame);
      expect(await rejected(n3, reason), reason).toBe(1);
    }
    // A frame signed by a key other than its claimed origin's.
    await inject(n3, pushFrame({ name: "n2", keyPair: n1.keyPair }, [signedBy(liveRecord("n1", "y", 5, ipOf(1, 9)), n1.keyPair.secretKey)], to(n3)));
    expect(await rejected(n3, "bad-frame-signature")).toBe(1);
    expect(n3.node.entries()).toEqual([]);
    expect(n3.logs.some((l) => l.includes("rejected: bad-entry-signature"))).toBe(true);
  });

  it("logs a rejection at most once per peer and reason per minute", async () => {
    cluster = new TestCluster({ size: 2, config: { pingIntervalMs: 0, antiEntropyIntervalMs: 1e9 } });
    await cluster.start();
    const [n1, n2] = cluster.members as [TestMember, TestMember];
    const squat = () => pushFrame(n2, [signedBy(liveRecord("n2", "squatter", 5, ipOf(1, 9)), n2.keyPair.secretKey)], to(n1));
    for (let i = 0; i < 5; i++) await inject(n1, squat());
    await cluster.clock.advance(61_000);
    await inject(n1, squat());
    expect(await rejected(n1, "ip-outside-slice")).toBe(6);
    expect(n1.logs.filter((l) => l.includes("ip-outside-slice"))).toHaveLength(2);
  });

  it("with a cluster key, refuses unsealed and wrongly sealed frames and still gossips among key holders", async () => {
    const key = nacl.randomBytes(32);
    cluster = new TestCluster({ size: 3, clusterKey: key, config: { pingIntervalMs: 0 } });
    await cluster.start();
    const [n1, n2, n3] = cluster.members as [TestMember, TestMember, TestMember];
    const entry = signedBy(liveRecord("n2", "e", 5, ipOf(2, 9)), n2.keyPair.secretKey);
    await inject(n1, pushFrame(n2, [entry], to(n1)));
    expect(await rejected(n1, "unsealed-frame")).toBe(1);
    expect(n1.logs).toContain("gossip: peer n2: frame not sealed with the cluster key (sent without one) (rejected: unsealed-frame)");
    await inject(n1, pushFrame(n2, [entry], to(n1, { clusterKey: nacl.randomBytes(32) })));
    expect(await rejected(n1, "wrong-cluster-key")).toBe(1);
    expect(n1.node.entries()).toEqual([]);
    cluster.publish(n3, 4);
    await cluster.until(() => n1.node.entries().length === 1 && n2.node.entries().length === 1, 3000);
  });
});

describe("fuzz", () => {
  it("never throws out of the handler on garbage, truncated, huge or mutated frames, and keeps working", async () => {
    cluster = new TestCluster({ size: 2, config: { pingIntervalMs: 0, antiEntropyIntervalMs: 1e9, maxMessageBytes: 64 * 1024 } });
    await cluster.start();
    const [n1, n2] = cluster.members as [TestMember, TestMember];
    const random = cluster.random;
    const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
    for (let i = 0; i < 3000; i++) await inject(n1, bytes(Math.floor(random() * 300)));
    const valid = pushFrame(n2, [signedBy(liveRecord("n2", "v", 7, ipOf(2, 9)), n2.keyPair.secretKey)], to(n1));
    for (let cut = 0; cut < valid.length; cut++) await inject(n1, valid.subarray(0, cut));
    await inject(n1, bytes(512 * 1024));
    expect(await rejected(n1, "oversized-frame")).toBe(1);
    for (let i = 0; i < 200; i++) {
      const mutated = valid.slice();
      mutated[Math.floor(random() * mutated.length)] ^= 1 + Math.floor(random() * 255);
      await inject(n1, mutated);
    }
    // Whatever a mutation did, it never lands an entry n2 did not sign.
    expect(n1.node.entries().every((r) => r.endpointId === "v" && r.ip === ipOf(2, 9))).toBe(true);
    cluster.publish(n2, 3);
    await cluster.until(() => n1.node.entries().some((r) => r.ip === ipOf(2, 3)), 1000);
  });
});
