// Garbage in: the DNS handler answers FORMERR or nothing, never throws, never sends what does not decode.
import dnsPacket from "dns-packet";
import fc from "fast-check";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { answerQuery, DnsServer, ZoneIndex, type DnsEndpoint } from "../../../agent/dns/index.js";

const ENDPOINTS: DnsEndpoint[] = [
  { name: "api", aliases: ["web"], ip: "10.40.1.2" },
  { name: "api2", aliases: ["web"], ip: "10.40.2.2" },
];
const zone = ZoneIndex.build("blue", ENDPOINTS);

const VALID = [
  dnsPacket.encode({ type: "query", id: 1, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name: "web.blue" }] }),
  dnsPacket.encode({ type: "query", id: 2, questions: [{ type: "PTR", name: "2.1.40.10.in-addr.arpa" }] }),
  dnsPacket.encode({
    type: "query", id: 3, questions: [{ type: "AAAA", name: "api" }],
    additionals: [{ type: "OPT", name: ".", udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, options: [] } as never],
  }),
  dnsPacket.encode({ type: "query", id: 4, questions: [{ type: "A", name: "example.test" }] }),
];

/** A valid query with some bytes changed, some cut off, or some inserted. */
const mutatedQuery = fc
  .tuple(
    fc.constantFrom(...VALID),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
    fc.option(fc.nat(), { nil: undefined }),
    fc.option(fc.uint8Array({ maxLength: 32 }), { nil: undefined }),
  )
  .map(([valid, flips, cut, inserted]) => {
    let bytes = Buffer.from(valid);
    for (const [at, value] of flips) bytes[at % bytes.length] = value;
    if (cut !== undefined) bytes = bytes.subarray(0, cut % (bytes.length + 1));
    if (inserted !== undefined) bytes = Buffer.concat([bytes, Buffer.from(inserted)]);
    return bytes;
  });

const anyBytes = fc.uint8Array({ maxLength: 700 }).map((bytes) => Buffer.from(bytes));

function checkDecision(bytes: Buffer, transport: "udp" | "tcp"): void {
  const decision = answerQuery(bytes, { zone, transport, ttlSeconds: 5, random: Math.random });
  expect(["reply", "forward", "drop"]).toContain(decision.kind);
  if (decision.kind === "reply") {
    const response = dnsPacket.decode(decision.response);
    expect(response.type).toBe("response");
    expect(response.id).toBe(bytes.readUInt16BE(0));
    if (transport === "udp") expect(decision.response.length).toBeLessThanOrEqual(1232);
  }
  if (decision.kind === "drop") expect(bytes.length < 12 || (bytes[2]! & 0x80) !== 0).toBe(true);
}

describe("DNS fuzzing", () => {
  it("answerQuery never throws on random bytes", () => {
    fc.assert(fc.property(anyBytes, fc.constantFrom("udp" as const, "tcp" as const), (bytes, transport) => checkDecision(bytes, transport)), { numRuns: 3000 });
  });

  it("answerQuery never throws on mutated valid queries", () => {
    fc.assert(fc.property(mutatedQuery, fc.constantFrom("udp" as const, "tcp" as const), (bytes, transport) => checkDecision(bytes, transport)), { numRuns: 3000 });
  });

  it("the server's handler never throws and answers with decodable messages or nothing", async () => {
    const server = DnsServer.create({
      records: { endpoints: (network) => (network === "blue" ? ENDPOINTS : []) },
      upstreams: [], // a query to forward fails at once: SERVFAIL
      metrics: new Registry(),
      log: () => undefined,
    });
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyBytes, mutatedQuery), fc.constantFrom("udp" as const, "tcp" as const), async (bytes, transport) => {
        const response = await server.respond(bytes, "blue", transport);
        if (response !== undefined) expect(dnsPacket.decode(response).type).toBe("response");
      }),
      { numRuns: 2000 },
    );
    await server.close();
  });
});
