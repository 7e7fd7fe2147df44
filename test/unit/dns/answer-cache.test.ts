// The server's kept responses: a query asked again gets the same answer with its own ID, and never an
// answer the records, the transport, the EDNS size or the shuffle would have made different.
import dnsPacket, { type DecodedPacket, type Question } from "dns-packet";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { DnsServer, type DnsEndpoint } from "../../../agent/dns/index.js";

function query(id: number, name: string, type: Question["type"] = "A", edns?: number): Buffer {
  return dnsPacket.encode({
    type: "query",
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name }],
    additionals: edns === undefined ? [] : [{ type: "OPT", name: ".", udpPayloadSize: edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
  });
}

function ask(server: DnsServer, request: Buffer, transport: "udp" | "tcp" = "udp"): Buffer {
  const response = server.respond(request, "blue", transport);
  if (!(response instanceof Buffer)) throw new Error("expected a response at once");
  return response;
}

const decode = (bytes: Buffer): DecodedPacket & { rcode?: string } => dnsPacket.decode(bytes) as DecodedPacket & { rcode?: string };
const data = (bytes: Buffer): string[] => (decode(bytes).answers ?? []).map((a) => String((a as { data: unknown }).data));

function serve(live: DnsEndpoint[], state: { revision: number }, random: () => number = Math.random): { server: DnsServer; metrics: Registry } {
  const metrics = new Registry();
  const server = DnsServer.create({
    records: { endpoints: (network) => (network === "blue" ? live : []), revision: () => state.revision },
    upstreams: [],
    metrics,
    log: () => undefined,
    random,
  });
  return { server, metrics };
}

describe("DnsServer's kept responses", () => {
  it("answers a query asked again with the same bytes under the new query's ID, and counts every answer", async () => {
    const { server, metrics } = serve([{ name: "db", aliases: [], ip: "10.40.1.3" }], { revision: 1 });
    const first = ask(server, query(0x1111, "db.blue"));
    const second = ask(server, query(0x2222, "db.blue"));
    expect(second.readUInt16BE(0)).toBe(0x2222);
    expect(first.readUInt16BE(0)).toBe(0x1111);
    expect(second.subarray(2)).toEqual(first.subarray(2));
    expect(data(second)).toEqual(["10.40.1.3"]);
    // The bytes handed out are the caller's own: changing them changes no later answer.
    second.fill(0);
    expect(data(ask(server, query(3, "db.blue")))).toEqual(["10.40.1.3"]);
    expect(await metrics.getSingleMetricAsString("weft_dns_queries_total")).toContain('weft_dns_queries_total{result="answered"} 3');
  });

  it("answers from the records as they are once their revision moved", () => {
    const live: DnsEndpoint[] = [{ name: "db", aliases: [], ip: "10.40.1.3" }];
    const state = { revision: 1 };
    const { server } = serve(live, state);
    expect(data(ask(server, query(1, "db.blue")))).toEqual(["10.40.1.3"]);
    live[0] = { name: "db", aliases: [], ip: "10.40.1.4" };
    state.revision += 1;
    expect(data(ask(server, query(2, "db.blue")))).toEqual(["10.40.1.4"]);
    live.length = 0;
    state.revision += 1;
    expect(decode(ask(server, query(3, "db.blue"))).rcode).toBe("NXDOMAIN");
  });

  it("keeps shuffling the addresses behind a shared name", () => {
    const live: DnsEndpoint[] = [
      { name: "a", aliases: ["web"], ip: "10.40.1.2" },
      { name: "b", aliases: ["web"], ip: "10.40.2.2" },
    ];
    // Fisher-Yates over two: random() < 0.5 swaps them, >= 0.5 keeps them.
    const draws = [0.9, 0.1, 0.9, 0.1];
    const { server } = serve(live, { revision: 1 }, () => draws.shift()!);
    const orders = [1, 2, 3, 4].map((id) => data(ask(server, query(id, "web.blue"))).join(" "));
    expect(new Set(orders).size).toBe(2);
  });

  it("answers the same question by its own transport and EDNS size", () => {
    // 40 endpoints on one address: a PTR answer (not shuffled) far over 512 bytes.
    const live = Array.from({ length: 40 }, (_, i): DnsEndpoint => ({ name: `endpoint-with-a-long-name-${i}`, aliases: [], ip: "10.40.1.3" }));
    const { server } = serve(live, { revision: 1 });
    const ptr = (id: number, edns?: number): Buffer => query(id, "3.1.40.10.in-addr.arpa", "PTR", edns);
    const udp = decode(ask(server, ptr(1)));
    expect([udp.flag_tc, udp.answers?.length]).toEqual([true, 0]);
    const tcp = decode(ask(server, ptr(2), "tcp"));
    expect([tcp.flag_tc, tcp.answers?.length]).toEqual([false, 40]);
    const small = decode(ask(server, ptr(3, 1232)));
    expect(small.flag_tc).toBe(true);
    expect(decode(ask(server, ptr(4))).additionals ?? []).toEqual([]);
    expect(small.additionals).toEqual([expect.objectContaining({ type: "OPT" })]);
    const few = serve(live.slice(0, 5), { revision: 1 }).server;
    expect(decode(ask(few, ptr(5), "tcp")).answers).toHaveLength(5);
    expect(decode(ask(few, ptr(6))).answers).toHaveLength(5);
  });
});
