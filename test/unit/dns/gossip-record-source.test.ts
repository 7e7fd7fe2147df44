// Names come from gossip: answerable on another node once the entry arrived, gone once withdrawn.
import dnsPacket, { type DecodedPacket as PacketFields } from "dns-packet";
import { afterEach, describe, expect, it } from "vitest";
import { answerQuery, GossipRecordSource, ZoneIndex } from "../../../agent/dns/index.js";
import { NETWORK, TestCluster, ipOf, macOf, vtepOf, type TestMember } from "../gossip/cluster.js";

type DecodedPacket = PacketFields & { rcode: string };

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

function ask(source: GossipRecordSource, name: string): DecodedPacket {
  const query = dnsPacket.encode({ type: "query", id: 1, questions: [{ type: "A", name }] });
  const decision = answerQuery(query, { zone: ZoneIndex.build(NETWORK, source.endpoints(NETWORK)), transport: "udp", ttlSeconds: 5, random: Math.random });
  if (decision.kind !== "reply") throw new Error(`expected a reply, got ${decision.kind}`);
  return dnsPacket.decode(decision.response) as DecodedPacket;
}

describe("GossipRecordSource", () => {
  it("serves a remote endpoint's name and aliases once gossip delivered it, and drops them on withdrawal", async () => {
    cluster = new TestCluster({ size: 2, seed: 21 });
    await cluster.start();
    const [n1, n2] = cluster.members as [TestMember, TestMember];
    const source = new GossipRecordSource(n2.node);
    const before = source.revision();
    expect(ask(source, `api.${NETWORK}`).rcode).toBe("NXDOMAIN");
    n1.node.publish({ network: NETWORK, endpointId: "c1", ip: ipOf(1, 2), mac: macOf(1, 2), vtep: vtepOf(1), name: "api", aliases: ["web"] });
    await cluster.until(() => [...source.endpoints(NETWORK)].length === 1, 2000);
    expect(source.revision()).toBeGreaterThan(before);
    expect(ask(source, `api.${NETWORK}`).answers).toEqual([expect.objectContaining({ data: ipOf(1, 2) })]);
    expect(ask(source, `web.${NETWORK}`).answers).toEqual([expect.objectContaining({ data: ipOf(1, 2) })]);
    n1.node.withdraw(NETWORK, "c1");
    await cluster.until(() => [...source.endpoints(NETWORK)].length === 0, 2000);
    expect(ask(source, `web.${NETWORK}`).rcode).toBe("NXDOMAIN");
    source.close();
  });

  it("starts from what the node already holds, own entries included", () => {
    cluster = new TestCluster({ size: 1 });
    const [n1] = cluster.members as [TestMember];
    n1.node.publish({ network: NETWORK, endpointId: "c1", ip: ipOf(1, 3), mac: macOf(1, 3), vtep: vtepOf(1), name: "db" });
    const source = new GossipRecordSource(n1.node);
    expect([...source.endpoints(NETWORK)]).toEqual([{ name: "db", aliases: [], ip: ipOf(1, 3) }]);
    expect([...source.endpoints("other")]).toEqual([]);
    source.close();
  });
});
