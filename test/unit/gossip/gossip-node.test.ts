import { afterEach, describe, expect, it } from "vitest";
import { TestCluster } from "./cluster.js";

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describe("GossipNode over MemoryNetwork", () => {
  it("spreads a publish to every node and a withdraw removes it everywhere", async () => {
    cluster = new TestCluster({ size: 5 });
    await cluster.start();
    const [a] = cluster.members;
    const record = cluster.publish(a!, 2);
    expect(record.owner).toBe("n1");
    await cluster.until(() => cluster!.members.every((m) => m.node.entries().length === 1), 3000);
    const removals: string[] = [];
    cluster.members[4]!.node.subscribe((change) => {
      if (change.previous && !change.next) removals.push(change.previous.endpointId);
    });
    a!.node.withdraw(record.network, record.endpointId);
    await cluster.until(() => cluster!.members.every((m) => m.node.entries().length === 0), 3000);
    expect(removals).toEqual([record.endpointId]);
    expect(cluster.agree()).toBe(true);
  });
});
