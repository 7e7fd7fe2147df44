// C5: entry signatures are verified in batches through a pluggable verifier.
import nacl from "tweetnacl";
import { afterEach, describe, expect, it } from "vitest";
import {
  ed25519Signatures,
  GossipNode,
  inProcessVerifier,
  type BatchSignatureVerifier,
  type SignatureCheck,
} from "../../../controlplane/gossip/index.js";
import { ipOf, liveRecord, pushFrame, signedBy, staticPolicy, TestCluster, type TestMember } from "./cluster.js";

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describe("batch signature verification", () => {
  it("the in-process verifier answers one boolean per check, in order, and false for malformed checks", async () => {
    const key = nacl.sign.keyPair();
    const message = new TextEncoder().encode("entry");
    const good = { message, signature: ed25519Signatures.sign(message, key.secretKey), publicKey: key.publicKey };
    const checks: SignatureCheck[] = [good, { ...good, message: new TextEncoder().encode("other") }, { ...good, publicKey: new Uint8Array(3) }, good];
    expect(await inProcessVerifier(ed25519Signatures).verify(checks)).toEqual([true, false, false, true]);
  });

  it("a node verifies incoming entries through the verifier it is given, in batches, and trusts its answer", async () => {
    cluster = new TestCluster({ size: 2, config: { pingIntervalMs: 0, antiEntropyIntervalMs: 1e9 } });
    const [n1, n2] = cluster.members as [TestMember, TestMember];
    const batches: number[] = [];
    const inner = inProcessVerifier(ed25519Signatures);
    const verifier: BatchSignatureVerifier = {
      async verify(checks) {
        batches.push(checks.length);
        return (await inner.verify(checks)).map((ok, i) => ok && i !== 0);
      },
      close: async () => undefined,
    };
    n1.node = new GossipNode({
      name: n1.name,
      keyPair: n1.keyPair,
      transport: cluster.network.transport(n1.address),
      policy: staticPolicy,
      clock: cluster.clock,
      config: { pingIntervalMs: 0, antiEntropyIntervalMs: 1e9 },
      metrics: n1.metrics,
      verifier,
    });
    await cluster.start();
    const entries = Array.from({ length: 3 }, (_, i) => signedBy(liveRecord("n2", `e${i}`, 10 + i, ipOf(2, 10 + i)), n2.keyPair.secretKey));
    await cluster.network.transport("mem:t").call(n1.address, pushFrame(n2, entries, { to: "n1", atMs: cluster.clock.now() }), 1000);
    expect(batches).toEqual([3]);
    // The verifier said the first is forged: it is refused, the others are taken.
    expect(n1.node.entries().map((r) => r.endpointId).sort()).toEqual(["e1", "e2"]);
  });

  it("checks an entry arriving in two frames at once only once, and answers neither before it is stored", async () => {
    cluster = new TestCluster({ size: 2, config: { pingIntervalMs: 0, antiEntropyIntervalMs: 1e9 } });
    const [n1, n2] = cluster.members as [TestMember, TestMember];
    const batches: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const inner = inProcessVerifier(ed25519Signatures);
    n1.node = new GossipNode({
      name: n1.name,
      keyPair: n1.keyPair,
      transport: cluster.network.transport(n1.address),
      policy: staticPolicy,
      clock: cluster.clock,
      config: { pingIntervalMs: 0, antiEntropyIntervalMs: 1e9 },
      verifier: {
        async verify(checks) {
          batches.push(checks.length);
          await gate;
          return inner.verify(checks);
        },
        close: async () => undefined,
      },
    });
    await cluster.start();
    const entries = Array.from({ length: 3 }, (_, i) => signedBy(liveRecord("n2", `e${i}`, 10 + i, ipOf(2, 10 + i)), n2.keyPair.secretKey));
    const send = () => cluster!.network.transport("mem:t").call(n1.address, pushFrame(n2, entries, { to: "n1", atMs: cluster!.clock.now() }), 1000);
    const first = send();
    const second = send();
    await new Promise((resolve) => setImmediate(resolve));
    release();
    await second;
    expect(n1.node.entries()).toHaveLength(3);
    await first;
    expect(batches).toEqual([3]);
  });
});
