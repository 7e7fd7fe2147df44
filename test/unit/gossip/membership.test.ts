import { afterEach, describe, expect, it } from "vitest";
import { GossipNode, type EndpointChange } from "../../../controlplane/gossip/index.js";
import { ipOf, macOf, NETWORK, staticPolicy, TestCluster, vtepOf, type TestMember } from "./cluster.js";

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

function holds(member: TestMember, endpointId: string, ip?: string): boolean {
  return member.node.entries().some((r) => r.endpointId === endpointId && (ip === undefined || r.ip === ip));
}

describe("membership", () => {
  it("drops the transport's connection to a peer that leaves or joins, so it is dialled afresh", async () => {
    cluster = new TestCluster({ size: 3 });
    const [n1] = cluster.members as [TestMember];
    const forgotten: string[] = [];
    const transport = cluster.network.transport(n1.address);
    n1.node = new GossipNode({
      name: n1.name,
      keyPair: n1.keyPair,
      transport: { ...transport, forget: (address) => void forgotten.push(address) },
      policy: staticPolicy,
      clock: cluster.clock,
      log: () => undefined,
      metrics: n1.metrics,
    });
    n1.node.setPeers(cluster.peersOf(n1));
    expect(forgotten.sort()).toEqual(["mem:n2", "mem:n3"]);
    forgotten.length = 0;
    n1.node.setPeers(cluster.peersOf(n1).filter((p) => p.name === "n2"));
    expect(forgotten).toEqual(["mem:n3"]);
    n1.node.setPeers(cluster.peersOf(n1).map((p) => (p.name === "n2" ? { ...p, gossipAddr: "mem:n2b" } : p)));
    expect(forgotten.sort()).toEqual(["mem:n2", "mem:n3", "mem:n3"]);
  });

  it("keeps a peer that only answers pings alive: a reply is a sign of life", async () => {
    // n2 never starts an exchange of its own (no pings, no anti-entropy): n1 can know that n2 is
    // alive only from n2's replies to n1's pings.
    cluster = new TestCluster({ size: 2, config: { antiEntropyIntervalMs: 600_000 } });
    const [n1, n2] = cluster.members as [TestMember, TestMember];
    n2.node = new GossipNode({
      name: n2.name,
      keyPair: n2.keyPair,
      transport: cluster.network.transport(n2.address),
      policy: staticPolicy,
      clock: cluster.clock,
      config: { pingIntervalMs: 0, antiEntropyIntervalMs: 600_000 },
      log: () => undefined,
    });
    await cluster.start();
    for (let second = 0; second < 10; second++) {
      await cluster.clock.advance(1000);
      expect(n1.node.peerStatus().map((p) => p.state)).toEqual(["alive"]);
    }
    expect(n1.logs.some((l) => l.includes("is suspect"))).toBe(false);
  });

  it("marks a silent peer suspect but keeps its entries; drops them only when it leaves the registry", async () => {
    cluster = new TestCluster({ size: 3 });
    await cluster.start();
    const [n1, n2, n3] = cluster.members as [TestMember, TestMember, TestMember];
    const record = cluster.publish(n3, 5);
    await cluster.until(() => holds(n1, record.endpointId) && holds(n2, record.endpointId), 2000);
    await n3.node.stop();
    await cluster.clock.advance(4000);
    expect(n1.node.peerStatus().find((p) => p.name === "n3")).toMatchObject({ state: "suspect", endpoints: 1 });
    expect(n1.logs.some((l) => l.includes("peer n3 is suspect"))).toBe(true);
    expect(holds(n1, record.endpointId)).toBe(true);

    const changes: EndpointChange[] = [];
    n1.node.subscribe((change) => changes.push(change));
    n1.node.setPeers(cluster.peersOf(n1, [n1, n2]));
    expect(n1.node.entries()).toEqual([]);
    expect(changes).toEqual([{ previous: record }]);
    expect(n1.node.peerStatus().map((p) => p.name)).toEqual(["n2"]);
  });

  it("a restarted owner's publishes win over its old entries (versionFloor)", async () => {
    cluster = new TestCluster({ size: 3 });
    await cluster.start();
    const [n1, n2] = cluster.members as [TestMember, TestMember];
    const old = cluster.publish(n1, 2, "web");
    await cluster.until(() => holds(n2, "web"), 2000);
    const floor = n1.node.version();
    await n1.node.stop();
    n1.node = cluster.makeNode(n1, floor);
    n1.node.setPeers(cluster.peersOf(n1));
    expect(n1.node.version()).toBeGreaterThanOrEqual(floor);
    const renewed = n1.node.publish({ network: NETWORK, endpointId: "web", ip: ipOf(1, 3), mac: macOf(1, 3), vtep: vtepOf(1), name: "web" });
    expect(renewed.version).toBeGreaterThan(old.version);
    await n1.node.start();
    await cluster.until(() => cluster!.members.every((m) => holds(m, "web", ipOf(1, 3))), 3000);
  });

  it("an owner re-announces over stale copies of entries it no longer holds", async () => {
    cluster = new TestCluster({ size: 3 });
    await cluster.start();
    const [n1, n2, n3] = cluster.members as [TestMember, TestMember, TestMember];
    cluster.publish(n1, 2, "gone");
    cluster.publish(n1, 3, "kept");
    await cluster.until(() => holds(n2, "gone") && holds(n3, "kept"), 2000);
    // Restart without the floor and with only "kept" republished: "gone" lingers elsewhere as a stale copy.
    await n1.node.stop();
    n1.node = cluster.makeNode(n1);
    n1.node.setPeers(cluster.peersOf(n1));
    cluster.publish(n1, 3, "kept");
    await n1.node.start();
    await cluster.until(
      () => cluster!.members.every((m) => !holds(m, "gone") && holds(m, "kept")) && cluster!.agree(),
      5000,
    );
  });

  it("a newly added peer gets a full sync at once", async () => {
    cluster = new TestCluster({ size: 3, config: { antiEntropyIntervalMs: 1e9, pingIntervalMs: 0 } });
    const [n1, n2, n3] = cluster.members as [TestMember, TestMember, TestMember];
    n1.node.setPeers(cluster.peersOf(n1, [n1, n2]));
    n2.node.setPeers(cluster.peersOf(n2, [n1, n2]));
    n3.node.setPeers(cluster.peersOf(n3));
    for (const m of cluster.members) await m.node.start();
    cluster.publish(n1, 1);
    cluster.publish(n2, 1);
    await cluster.until(() => n1.node.entries().length === 2, 1000);
    n1.node.setPeers(cluster.peersOf(n1));
    // Anti-entropy runs every 1e9 ms here: only the sync on joining can bring the entries.
    await cluster.until(() => n3.node.entries().length === 2, 100);
    expect(n3.node.entries().map((r) => r.owner).sort()).toEqual(["n1", "n2"]);
  });
});
