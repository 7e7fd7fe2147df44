// Issue 6, trust items 5 and 8: frames name their receiver and carry a send time checked against a
// window, a replayed frame is refused, replies answer their request, and what a frame claims is
// escaped in logs whose rate limit is keyed by authenticated peers only.
import { create } from "@bufbuild/protobuf";
import nacl from "tweetnacl";
import { afterEach, describe, expect, it } from "vitest";
import { PingSchema, PongSchema } from "../../../proto/gen/weft/v1/gossip_pb.js";
import { counterValue, frameOf, ipOf, liveRecord, pushFrame, signedBy, TestCluster, type TestMember } from "./cluster.js";

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

async function inject(target: TestMember, frame: Uint8Array): Promise<Uint8Array> {
  return cluster!.network.transport("mem:attacker").call(target.address, frame, 1000);
}

function rejected(member: TestMember, reason: string): Promise<number> {
  return counterValue(member.metrics, "weft_gossip_rejected_total", { reason });
}

const ping = () => ({ case: "ping" as const, value: create(PingSchema, { nonce: 1n }) });

describe("frames bound to receiver, time and request", () => {
  it("refuses a frame addressed to another node, one sent outside the clock window, and a replay", async () => {
    cluster = new TestCluster({ size: 3, config: { pingIntervalMs: 0, antiEntropyIntervalMs: 1e9 } });
    await cluster.start();
    const [, n2, n3] = cluster.members as [TestMember, TestMember, TestMember];
    const now = cluster.clock.now();
    const entry = (id: string, host: number) => [signedBy(liveRecord("n2", id, 5, ipOf(2, host)), n2.keyPair.secretKey)];
    // A frame n2 really sent to n1, replayed to n3.
    await inject(n3, pushFrame(n2, entry("for-n1", 3), { to: "n1", atMs: now }));
    expect(await rejected(n3, "wrong-receiver")).toBe(1);
    await inject(n3, pushFrame(n2, entry("old", 4), { to: "n3", atMs: now - 61_000 }));
    await inject(n3, pushFrame(n2, entry("ahead", 5), { to: "n3", atMs: now + 61_000 }));
    expect(await rejected(n3, "stale-frame")).toBe(2);
    const frame = pushFrame(n2, entry("once", 6), { to: "n3", atMs: now });
    expect((await inject(n3, frame)).length).toBeGreaterThan(0);
    expect((await inject(n3, frame)).length).toBe(0);
    // The same id in a frame with other content is a replay too: ids are per origin.
    await inject(n3, pushFrame(n2, entry("again", 7), { to: "n3", atMs: now, messageId: 424242n }));
    await inject(n3, pushFrame(n2, entry("again2", 8), { to: "n3", atMs: now, messageId: 424242n }));
    expect(await rejected(n3, "replayed-frame")).toBe(2);
    expect(n3.node.entries().map((r) => r.endpointId).sort()).toEqual(["again", "once"]);
  });

  it("a replayed ping does not keep a dead peer alive", async () => {
    cluster = new TestCluster({ size: 3, config: { antiEntropyIntervalMs: 1e9 } });
    await cluster.start();
    const [n1, , n3] = cluster.members as [TestMember, TestMember, TestMember];
    // A ping n3 sent to n1, captured on the wire.
    const captured = frameOf(n3, ping(), { to: "n1", atMs: cluster.clock.now() });
    expect((await inject(n1, captured)).length).toBeGreaterThan(0);
    await n3.node.stop();
    // The attacker replays it every 500 ms, well within the clock window.
    for (let t = 0; t < 8; t++) {
      await cluster.clock.advance(500);
      await inject(n1, captured);
    }
    expect(n1.node.peerStatus().find((p) => p.name === "n3")?.state).toBe("suspect");
    expect(await rejected(n1, "replayed-frame")).toBe(8);
  });

  it("refuses a reply that does not answer the request it came back for", async () => {
    cluster = new TestCluster({ size: 2, config: { pingIntervalMs: 0, antiEntropyIntervalMs: 1e9 } });
    await cluster.start();
    const [n1, n2] = cluster.members as [TestMember, TestMember];
    await n2.node.stop();
    // Whoever answers at n2's address replays a pong n2 once sent for another request.
    const oldPong = frameOf(n2, { case: "pong", value: create(PongSchema, { nonce: 1n }) }, { to: "n1", atMs: cluster.clock.now(), inReplyTo: 1n });
    await cluster.network.transport(n2.address).serve(async () => oldPong);
    await n1.node.antiEntropyWith("n2");
    expect(await rejected(n1, "unbound-reply")).toBe(1);
    expect(n1.node.isSynced()).toBe(false);
  });
});

describe("logs of what peers claim", () => {
  it("escapes a claimed origin and rate-limits unauthenticated frames under one key", async () => {
    cluster = new TestCluster({ size: 2, config: { pingIntervalMs: 0, antiEntropyIntervalMs: 1e9 } });
    await cluster.start();
    const [n1] = cluster.members as [TestMember];
    const stranger = nacl.sign.keyPair();
    for (let i = 0; i < 20; i++) {
      await inject(n1, frameOf({ name: `evil${i}\ngossip: peer n2 is alive again`, keyPair: stranger }, ping(), { to: "n1", atMs: cluster.clock.now() }));
    }
    expect(await rejected(n1, "unknown-origin")).toBe(20);
    const lines = n1.logs.filter((l) => l.includes("unknown-origin"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("evil0\\x0agossip: peer n2 is alive again");
    expect(n1.logs.every((l) => !l.includes("\n"))).toBe(true);
  });
});
