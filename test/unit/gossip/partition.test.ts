import { afterEach, describe, expect, it } from "vitest";
import { macForAddress } from "../../../proto/values/index.js";
import { TestCluster, type TestMember } from "./cluster.js";

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describe("partition", () => {
  it("after a partition heals, all nodes agree within one anti-entropy interval", async () => {
    cluster = new TestCluster({ size: 5, seed: 7 });
    await cluster.start();
    const members = cluster.members as TestMember[];
    const [n1, n2, , , n5] = members as [TestMember, TestMember, TestMember, TestMember, TestMember];
    const gone = cluster.publish(n2, 1);
    cluster.publish(n5, 1);
    await cluster.until(() => cluster!.agree() && n1.node.entries().length === 2, 2000);
    cluster.network.isolate(n5.address, members.map((m) => m.address));
    // Changes on both sides, including a delete and an update by the isolated node.
    cluster.publish(n1, 2);
    n2.node.withdraw(gone.network, gone.endpointId);
    cluster.publish(n5, 2);
    n5.node.publish({ ...cluster.publish(n5, 3), ip: "10.40.5.33", mac: macForAddress("10.40.5.33") });
    await cluster.clock.advance(10_000);
    expect(cluster.agree()).toBe(false);
    cluster.network.heal();
    const took = await cluster.until(() => cluster!.agree(), 1000);
    expect(took).toBeLessThanOrEqual(1000);
    expect(n1.node.entries().map((r) => r.endpointId).sort()).toEqual(["n1-ep2", "n5-ep1", "n5-ep2", "n5-ep3"]);
    expect(n1.node.entries().find((r) => r.endpointId === "n5-ep3")!.ip).toBe("10.40.5.33");
  });
});
