// C1: isSynced()/whenSynced() tell the agent when pruning the kernel is safe.
import { afterEach, describe, expect, it } from "vitest";
import { TestCluster, type TestMember } from "./cluster.js";

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describe("sync state", () => {
  it("is synced at once without peers", async () => {
    cluster = new TestCluster({ size: 1 });
    await cluster.start();
    const [n1] = cluster.members as [TestMember];
    expect(n1.node.isSynced()).toBe(true);
    await n1.node.whenSynced();
  });

  it("becomes synced after one complete push-pull exchange, truncated follow-ups included", async () => {
    cluster = new TestCluster({ size: 2, config: { pingIntervalMs: 0, antiEntropyIntervalMs: 1e9, maxEntriesPerMessage: 10 } });
    const [n1, n2] = cluster.members as [TestMember, TestMember];
    n2.node.setPeers(cluster.peersOf(n2));
    await n2.node.start();
    for (let host = 1; host <= 35; host++) cluster.publish(n2, host);
    n1.node.setPeers(cluster.peersOf(n1));
    expect(n1.node.isSynced()).toBe(false);
    let resolved = false;
    void n1.node.whenSynced().then(() => (resolved = true));
    // Only n1's own start-up anti-entropy runs: 35 entries at 10 per reply take four replies.
    await n1.node.start();
    await cluster.until(() => resolved, 1000);
    expect(n1.node.isSynced()).toBe(true);
    expect(n1.node.entries()).toHaveLength(35);
  });

  it("stays unsynced while no peer answers", async () => {
    cluster = new TestCluster({ size: 2, config: { pingIntervalMs: 0, antiEntropyIntervalMs: 100 } });
    const [n1] = cluster.members as [TestMember];
    n1.node.setPeers(cluster.peersOf(n1));
    await n1.node.start();
    await cluster.clock.advance(2000);
    expect(n1.node.isSynced()).toBe(false);
  });
});
