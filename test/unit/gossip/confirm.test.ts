// confirm(): an attach returns only once the peers it pushed to have applied the entry.
import { afterEach, describe, expect, it } from "vitest";
import { TestCluster, type TestMember } from "./cluster.js";

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describe("confirm", () => {
  it("resolves after the peers acknowledged, and they acknowledge only after beforeAck finished", async () => {
    const applied: string[] = [];
    cluster = new TestCluster({
      size: 3,
      seed: 5,
      // Each receiver "programs its kernel" before acknowledging: here, records that it did.
      beforeAck: async (node) => {
        applied.push(node);
      },
    });
    await cluster.start();
    const [n1, n2, n3] = cluster.members as [TestMember, TestMember, TestMember];
    const record = cluster.publish(n1, 1);
    applied.length = 0;
    const acks = await n1.node.confirm(record.network, record.endpointId);
    expect(acks).toBe(2);
    expect(new Set(applied)).toEqual(new Set(["n2", "n3"]));
    expect(n2.node.entries().map((r) => r.endpointId)).toContain(record.endpointId);
    expect(n3.node.entries().map((r) => r.endpointId)).toContain(record.endpointId);
  });

  it("waits for the peers to apply even when they already hold the entry", async () => {
    const applied: string[] = [];
    cluster = new TestCluster({ size: 2, seed: 7, beforeAck: async (node) => void applied.push(node) });
    await cluster.start();
    const [n1, n2] = cluster.members as [TestMember, TestMember];
    const record = cluster.publish(n1, 1);
    await cluster.until(() => n2.node.entries().length === 1, 1000);
    applied.length = 0;
    expect(await n1.node.confirm(record.network, record.endpointId)).toBe(1);
    expect(applied).toEqual(["n2"]);
  });

  it("confirms nothing for entries this node does not own, and does not wait forever on a slow peer", async () => {
    cluster = new TestCluster({ size: 2, seed: 6, beforeAck: () => new Promise(() => undefined) });
    await cluster.start();
    const [n1, n2] = cluster.members as [TestMember, TestMember];
    const record = cluster.publish(n1, 1);
    expect(await n2.node.confirm(record.network, record.endpointId)).toBe(0);
    const pending = n1.node.confirm(record.network, record.endpointId, 1000);
    // The receiver's hook never finishes; its acknowledgement still comes, after the bounded wait.
    await cluster.clock.advance(200);
    expect(await pending).toBe(1);
  });
});
