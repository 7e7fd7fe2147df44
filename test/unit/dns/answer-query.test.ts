// The embedded DNS's pure answer function: names of one network, forwarding, truncation, errors.
import dnsPacket, { type DecodedPacket as PacketFields, type Packet, type Question } from "dns-packet";

/** dns-packet decodes the rcode too; its types leave it out. */
type DecodedPacket = PacketFields & { rcode: string };
import { describe, expect, it } from "vitest";
import { answerQuery, ZoneIndex, type AnswerContext, type AnswerDecision, type DnsEndpoint } from "../../../agent/dns/index.js";

const BLUE: DnsEndpoint[] = [
  { name: "api", aliases: ["web"], ip: "10.40.1.2" },
  { name: "api2", aliases: ["web"], ip: "10.40.2.2" },
  { name: "db", aliases: [], ip: "10.40.1.3" },
  { name: "Cache", aliases: [], ip: "10.40.3.7" },
];
const RED: DnsEndpoint[] = [{ name: "secret", aliases: ["web"], ip: "10.50.1.2" }];

function context(endpoints: DnsEndpoint[] = BLUE, overrides: Partial<AnswerContext> = {}): AnswerContext {
  return { zone: ZoneIndex.build("blue", endpoints), transport: "udp", ttlSeconds: 5, random: Math.random, ...overrides };
}

function query(name: string, type: Question["type"] = "A", extra: Partial<Packet> = {}): Buffer {
  return dnsPacket.encode({ type: "query", id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: "IN" }], ...extra });
}

function edns(size: number): Partial<Packet> {
  return { additionals: [{ type: "OPT", name: ".", udpPayloadSize: size, extendedRcode: 0, ednsVersion: 0, flags: 0, options: [] } as never] };
}

function reply(decision: AnswerDecision): DecodedPacket & { result: string } {
  if (decision.kind !== "reply") throw new Error(`expected a reply, got ${decision.kind}`);
  return { ...dnsPacket.decode(decision.response) as DecodedPacket, result: decision.result };
}

const addresses = (packet: DecodedPacket): string[] => (packet.answers ?? []).map((a) => String((a as { data: unknown }).data));

describe("answerQuery", () => {
  it("answers NAME and NAME.NETWORK with the endpoint's address, a short TTL, authoritative", () => {
    for (const name of ["db", "db.blue", "DB.Blue.", "cache", "Cache.blue"]) {
      const r = reply(answerQuery(query(name), context()));
      expect(r.result, name).toBe("answered");
      expect(r.rcode).toBe("NOERROR");
      expect(r.id).toBe(4242);
      expect(r.flag_aa && r.flag_rd && r.flag_ra && r.flag_qr).toBe(true);
      expect(r.questions).toEqual([expect.objectContaining({ name: name.replace(/\.$/, ""), type: "A" })]);
      expect(r.answers).toHaveLength(1);
      expect(r.answers![0]).toMatchObject({ type: "A", ttl: 5 });
    }
    expect(addresses(reply(answerQuery(query("db"), context())))).toEqual(["10.40.1.3"]);
    expect(addresses(reply(answerQuery(query("cache.blue"), context())))).toEqual(["10.40.3.7"]);
  });

  it("answers a shared alias with every address behind it, shuffled", () => {
    const seen = new Set<string>();
    let state = 1;
    const random = (): number => ((state = (state * 48271) % 2147483647) / 2147483647);
    for (let i = 0; i < 20; i++) {
      const r = reply(answerQuery(query("web.blue"), context(BLUE, { random })));
      expect([...addresses(r)].sort()).toEqual(["10.40.1.2", "10.40.2.2"]);
      seen.add(addresses(r).join(","));
    }
    expect(seen.size).toBe(2);
  });

  it("answers PTR for the network's addresses with NAME.NETWORK, and forwards other addresses", () => {
    const r = reply(answerQuery(query("2.1.40.10.in-addr.arpa", "PTR"), context()));
    expect(r.result).toBe("answered");
    expect(r.answers).toEqual([expect.objectContaining({ type: "PTR", data: "api.blue", ttl: 5 })]);
    expect(answerQuery(query("2.1.50.10.in-addr.arpa", "PTR"), context()).kind).toBe("forward");
    expect(answerQuery(query("1.1.1.in-addr.arpa", "PTR"), context()).kind).toBe("forward");
  });

  it("never shows another network's names", () => {
    // red's endpoint is not in blue's zone: its name goes upstream, and "web" answers blue's only.
    expect(answerQuery(query("secret"), context()).kind).toBe("forward");
    expect(reply(answerQuery(query("secret.blue"), context())).rcode).toBe("NXDOMAIN");
    expect(answerQuery(query("secret.red"), context()).kind).toBe("forward");
    expect([...addresses(reply(answerQuery(query("web"), context())))].sort()).toEqual(["10.40.1.2", "10.40.2.2"]);
    expect(answerQuery(query("2.1.50.10.in-addr.arpa", "PTR"), context()).kind).toBe("forward");
    // ...and red's own zone answers red's.
    const red = { ...context(), zone: ZoneIndex.build("red", RED) };
    expect(addresses(reply(answerQuery(query("web.red"), red)))).toEqual(["10.50.1.2"]);
    expect(reply(answerQuery(query("db.red"), red)).rcode).toBe("NXDOMAIN");
  });

  it("is authoritative under .NETWORK: NXDOMAIN for unknown names, NODATA for other types", () => {
    const nx = reply(answerQuery(query("nobody.blue"), context()));
    expect([nx.result, nx.rcode, nx.flag_aa, nx.answers?.length]).toEqual(["nxdomain", "NXDOMAIN", true, 0]);
    const aaaa = reply(answerQuery(query("db.blue", "AAAA"), context()));
    expect([aaaa.result, aaaa.rcode, aaaa.answers?.length]).toEqual(["nodata", "NOERROR", 0]);
    const mx = reply(answerQuery(query("db", "MX"), context()));
    expect([mx.result, mx.rcode]).toEqual(["nodata", "NOERROR"]);
    const apex = reply(answerQuery(query("blue"), context()));
    expect([apex.result, apex.rcode]).toEqual(["nodata", "NOERROR"]);
  });

  it("forwards everything that is not the network's", () => {
    for (const [name, type] of [["example.test", "A"], ["nobody", "A"], ["db.red", "A"], ["example.test", "AAAA"], ["example.test", "MX"]] as const) {
      const decision = answerQuery(query(name, type), context());
      expect(decision.kind, `${name} ${type}`).toBe("forward");
      expect(decision.kind === "forward" && decision.query.questions![0]!.name).toBe(name);
    }
    const chaos = dnsPacket.encode({ type: "query", id: 1, questions: [{ type: "TXT", name: "version.bind", class: "CH" }] });
    expect(answerQuery(chaos, context()).kind).toBe("forward");
  });

  it("sets TC on UDP when the answer exceeds 512 bytes without EDNS, and sends it whole over TCP", () => {
    const many = Array.from({ length: 60 }, (_, i): DnsEndpoint => ({ name: `w${i}`, aliases: ["shared"], ip: `10.40.9.${i + 1}` }));
    const udp = answerQuery(query("shared"), context(many));
    const truncated = reply(udp);
    expect(truncated.flag_tc).toBe(true);
    expect(truncated.answers).toEqual([]);
    expect(udp.kind === "reply" && udp.response.length).toBeLessThanOrEqual(512);
    const tcp = reply(answerQuery(query("shared"), context(many, { transport: "tcp" })));
    expect(tcp.flag_tc).toBe(false);
    expect(tcp.answers).toHaveLength(60);
  });

  it("respects the EDNS size: larger answers fit, up to 1232 bytes; the OPT record is echoed", () => {
    const many = Array.from({ length: 40 }, (_, i): DnsEndpoint => ({ name: `w${i}`, aliases: ["shared"], ip: `10.40.9.${i + 1}` }));
    const plain = reply(answerQuery(query("shared"), context(many)));
    expect(plain.flag_tc).toBe(true);
    const big = answerQuery(query("shared", "A", edns(4096)), context(many));
    const r = reply(big);
    expect(r.flag_tc).toBe(false);
    expect(r.answers).toHaveLength(40);
    expect(r.additionals).toEqual([expect.objectContaining({ type: "OPT", udpPayloadSize: 1232 })]);
    const small = reply(answerQuery(query("shared", "A", edns(600)), context(many)));
    expect(small.flag_tc).toBe(true);
    const tooMany = Array.from({ length: 120 }, (_, i): DnsEndpoint => ({ name: `w${i}`, aliases: ["shared"], ip: `10.40.9.${i + 1}` }));
    const capped = answerQuery(query("shared", "A", edns(65000)), context(tooMany));
    expect(reply(capped).flag_tc).toBe(true);
    expect(capped.kind === "reply" && capped.response.length).toBeLessThanOrEqual(1232);
  });

  it("answers FORMERR to garbage with a readable header, and drops what has none or is a response", () => {
    const garbage = Buffer.concat([Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]), Buffer.from([0x3f, 0x61])]);
    const r = reply(answerQuery(garbage, context()));
    expect([r.result, r.rcode, r.id, r.flag_rd]).toEqual(["formerr", "FORMERR", 0x1234, true]);
    const twoQuestions = dnsPacket.encode({ type: "query", id: 7, questions: [{ type: "A", name: "db" }, { type: "A", name: "api" }] });
    expect(reply(answerQuery(twoQuestions, context())).rcode).toBe("FORMERR");
    const none = dnsPacket.encode({ type: "query", id: 7, questions: [] });
    expect(reply(answerQuery(none, context())).rcode).toBe("FORMERR");
    expect(answerQuery(Buffer.from([1, 2, 3]), context())).toEqual({ kind: "drop" });
    expect(answerQuery(Buffer.alloc(0), context())).toEqual({ kind: "drop" });
    const response = dnsPacket.encode({ type: "response", id: 9, questions: [{ type: "A", name: "db" }] });
    expect(answerQuery(response, context())).toEqual({ kind: "drop" });
  });

  it("answers NOTIMP to other opcodes and BADVERS to EDNS versions it does not speak", () => {
    const update = query("db");
    update.writeUInt16BE(update.readUInt16BE(2) | (5 << 11), 2); // opcode UPDATE
    expect(reply(answerQuery(update, context())).rcode).toBe("NOTIMP");
    const v1 = dnsPacket.encode({
      type: "query", id: 3, questions: [{ type: "A", name: "db" }],
      additionals: [{ type: "OPT", name: ".", udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 1, flags: 0, options: [] } as never],
    });
    const r = reply(answerQuery(v1, context()));
    expect(r.answers).toEqual([]);
    expect(r.additionals).toEqual([expect.objectContaining({ type: "OPT", extendedRcode: 1 })]);
  });
});
