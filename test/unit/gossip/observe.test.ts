// Observation requests ride the gossip's signed frames: the node routes them to the handler the agent
// gave it, refuses them without one, bounds the answer's size, and a peer that does not answer is an
// error naming it (never a hang).
import { afterEach, describe, expect, it } from "vitest";
import { TestCluster } from "./cluster.js";

describe("observe", () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it("routes a query to the receiver's handler with the authenticated sender, and returns its report", async () => {
    cluster = new TestCluster({ size: 2 });
    await cluster.start();
    const seen: string[] = [];
    cluster.member("n2").node.setObserveHandler(async (query, from) => {
      seen.push(`${from}:${Buffer.from(query).toString()}`);
      return Buffer.from("report of n2");
    });
    const report = await cluster.member("n1").node.observe("n2", Buffer.from("q"), 1000);
    expect(Buffer.from(report).toString()).toBe("report of n2");
    expect(seen).toEqual(["n1:q"]);
  });

  it("is refused by a node without a handler, and by one whose report is too large", async () => {
    cluster = new TestCluster({ size: 2, config: { maxMessageBytes: 1024 } });
    await cluster.start();
    await expect(cluster.member("n1").node.observe("n2", Buffer.from("q"), 1000)).rejects.toThrow(/n2 did not answer/);
    expect(cluster.member("n1").logs.join("\n")).toContain("answers no observations");
    await cluster.stop();
    cluster = new TestCluster({ size: 2, config: { maxMessageBytes: 1024 } });
    await cluster.start();
    cluster.member("n2").node.setObserveHandler(async () => new Uint8Array(4096));
    await expect(cluster.member("n1").node.observe("n2", Buffer.from("q"), 1000)).rejects.toThrow(/n2 did not answer/);
    expect(cluster.member("n1").logs.join("\n")).toContain("observation too large");
  });

  it("names a peer that is cut off or not a member", async () => {
    cluster = new TestCluster({ size: 2 });
    await cluster.start();
    cluster.member("n2").node.setObserveHandler(async () => Buffer.from("x"));
    cluster.network.cut("mem:n1", "mem:n2");
    await expect(cluster.member("n1").node.observe("n2", Buffer.from("q"), 1000)).rejects.toMatchObject({ code: "unavailable" });
    await expect(cluster.member("n1").node.observe("n9", Buffer.from("q"), 1000)).rejects.toMatchObject({ code: "not-found", field: "peer" });
  });
});
