// A peer that already holds a large part of one owner's entries must still catch up through
// anti-entropy when pushes were lost. Sync replies are capped; if each one offered the owner's
// entries from the start, a peer holding that prefix would get the same duplicates every time and
// never converge (seen with a 50,000-endpoint burst into a real agent).
import { afterEach, describe, expect, it } from "vitest";
import { TestCluster, type TestMember } from "./cluster.js";

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describe("anti-entropy with a large owner", () => {
  it("brings a peer holding a prefix of an owner's entries up to date, despite dropped pushes", async () => {
    // Tiny messages and a tiny push queue: while cut off, almost every push is lost for good.
    cluster = new TestCluster({ size: 2, seed: 3, config: { maxEntriesPerMessage: 10, maxQueuePerPeer: 5 } });
    await cluster.start();
    const [owner, reader] = cluster.members as [TestMember, TestMember];
    for (let host = 1; host <= 100; host++) cluster.publish(owner, host);
    await cluster.until(() => reader.node.entries().length === 100, 30_000);

    cluster.network.cut(owner.address, reader.address);
    for (let host = 101; host <= 250; host++) cluster.publish(owner, host);
    await cluster.clock.advance(3_000);
    expect(reader.node.entries().length).toBeLessThan(250);
    const dropped = reader.node.entries().length;

    cluster.network.heal();
    // 150 missing entries at 10 per reply: well within a minute of anti-entropy.
    await cluster.until(() => reader.node.entries().length === 250, 60_000);
    expect(reader.node.entries().length).toBe(250);
    expect(dropped).toBeGreaterThanOrEqual(100);
    expect(cluster.agree()).toBe(true);
  });
});
