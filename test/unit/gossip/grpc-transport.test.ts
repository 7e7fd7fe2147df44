import nacl from "tweetnacl";
import { afterAll, describe, expect, it } from "vitest";
import { createGrpcTransport, GossipNode, type GrpcGossipTransport } from "../../../controlplane/gossip/index.js";
import { ipOf, macOf, NETWORK, staticPolicy, vtepOf } from "./cluster.js";

const nodes: GossipNode[] = [];
afterAll(async () => {
  for (const node of nodes) await node.stop();
});

async function pollUntil(done: () => boolean, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("gRPC transport", () => {
  it("two nodes on 127.0.0.1 exchange entries", async () => {
    const members = [1, 2].map((i) => {
      const transport = createGrpcTransport({ listen: "127.0.0.1:0" });
      const keyPair = nacl.sign.keyPair();
      const node = new GossipNode({ name: `n${i}`, keyPair, transport, policy: staticPolicy, clusterKey: new Uint8Array(32).fill(9) });
      nodes.push(node);
      return { i, transport, keyPair, node };
    });
    for (const m of members) await m.node.start();
    for (const m of members) {
      const other = members.find((o) => o !== m)!;
      m.node.setPeers([{ name: `n${other.i}`, gossipAddr: (other.transport as GrpcGossipTransport).boundAddress!, publicKey: other.keyPair.publicKey }]);
    }
    for (const m of members)
      m.node.publish({ network: NETWORK, endpointId: `c${m.i}`, ip: ipOf(m.i, 2), mac: macOf(m.i, 2), vtep: vtepOf(m.i), name: `c${m.i}` });
    await pollUntil(() => members.every((m) => m.node.entries().length === 2), 10_000);
    expect(members[0]!.node.entries().find((r) => r.owner === "n2")).toMatchObject({ endpointId: "c2", ip: ipOf(2, 2) });
    expect(members[1]!.node.peerStatus()).toMatchObject([{ name: "n1", state: "alive", endpoints: 1 }]);
  });
});
