import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SignedEntry } from "../../../proto/gen/weft/v1/gossip_pb.js";
import { encodeAndSignEntry, type EndpointRecord } from "../../../controlplane/gossip/index.js";
import { macForAddress } from "../../../proto/values/index.js";
import { liveRecord, pushFrame, signedBy, tableFingerprint, TestCluster, vtepOf } from "./cluster.js";

// What happens on each node: publish (host h with a new address) or withdraw of one of its own endpoints.
const operation = fc.record({ node: fc.nat(5), host: fc.integer({ min: 1, max: 3 }), withdraw: fc.boolean(), salt: fc.integer({ min: 10, max: 250 }) });
// A delivery of the k-th produced delta to a node, relayed by some node, 0-2 times (0 = lost).
const delivery = fc.record({ delta: fc.nat(), target: fc.nat(5), relay: fc.nat(5), copies: fc.integer({ min: 0, max: 2 }) });

describe("convergence (property)", () => {
  it("any interleaving, duplication or loss of deltas, then anti-entropy, gives identical tables of the owners' latest versions", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 3, max: 6 }),
        fc.array(operation, { minLength: 1, maxLength: 10 }),
        fc.array(delivery, { maxLength: 40 }),
        fc.array(fc.record({ victim: fc.nat(5), forger: fc.nat(5), version: fc.nat() }), { maxLength: 3 }),
        async (size, operations, deliveries, forgeries) => {
          const cluster = new TestCluster({ size, config: { antiEntropyIntervalMs: 1e9, pingIntervalMs: 0 } });
          try {
            await cluster.start();
            const addresses = cluster.members.map((m) => m.address);
            for (const a of addresses) cluster.network.isolate(a, addresses);
            // Each operation's resulting delta, re-signed deterministically (ed25519 is deterministic).
            const deltas: { signed: SignedEntry; owner: number }[] = [];
            for (const op of operations) {
              const member = cluster.members[op.node % size]!;
              const endpointId = `${member.name}-ep${op.host}`;
              if (op.withdraw) member.node.withdraw("blue", endpointId);
              else
                member.node.publish({
                  network: "blue",
                  endpointId,
                  ip: `10.40.${member.index}.${op.salt}`,
                  mac: macForAddress(`10.40.${member.index}.${op.salt}`),
                  vtep: vtepOf(member.index),
                  name: endpointId,
                });
              const record = member.node.allEntries().find((r) => r.endpointId === endpointId)!;
              deltas.push({ signed: encodeAndSignEntry(record, member.keyPair.secretKey).signed, owner: op.node % size });
            }
            const injector = cluster.network.transport("mem:injector");
            for (const d of deliveries) {
              const delta = deltas[d.delta % deltas.length]!;
              const target = cluster.members[d.target % size]!;
              const relay = cluster.members[d.relay % size]!;
              for (let c = 0; c < d.copies; c++) await injector.call(target.address, pushFrame(relay, [delta.signed], { to: target.name, atMs: cluster.clock.now() }), 1000);
            }
            // Forgeries: an entry claiming the victim as owner, signed by someone else, must never land.
            for (const f of forgeries) {
              const victim = cluster.members[f.victim % size]!;
              const forger = cluster.members[f.forger % size]!;
              if (victim === forger) continue;
              const forged: EndpointRecord = liveRecord(victim.name, `${victim.name}-ep1`, Number.MAX_SAFE_INTEGER - f.version % 1000, `10.40.${victim.index}.7`);
              const target = cluster.members[(f.forger + 1) % size]!;
              await injector.call(target.address, pushFrame(forger, [signedBy(forged, forger.keyPair.secretKey)], { to: target.name, atMs: cluster.clock.now() }), 1000);
            }
            // Anti-entropy: heal, then two passes of push-pull around the ring.
            cluster.network.heal();
            for (let pass = 0; pass < 2; pass++)
              for (let i = 0; i < size; i++) await cluster.members[i]!.node.antiEntropyWith(cluster.members[(i + 1) % size]!.name);
            await cluster.until(() => cluster.agree(), 1000);
            // What everyone holds is exactly what the owners hold of their own entries.
            const owners = cluster.members.flatMap((m) => m.node.allEntries().filter((r) => r.owner === m.name));
            expect(tableFingerprint(cluster.members[0]!.node.allEntries())).toBe(tableFingerprint(owners));
          } finally {
            await cluster.stop();
          }
        },
      ),
      { numRuns: 30 },
    );
  });
});
