// A real DnsServer on loopback addresses (UDP and TCP), with a fake upstream resolver on loopback too.
import dgram from "node:dgram";
import net from "node:net";
import dnsPacket, { type DecodedPacket as PacketFields, type Packet, type Question } from "dns-packet";

/** dns-packet decodes the rcode too; its types leave it out. */
type DecodedPacket = PacketFields & { rcode: string };
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DnsServer, parseResolvConf, parseUpstream, type DnsEndpoint } from "../../../agent/dns/index.js";
import { TcpFrameReader, tcpFrame } from "../../../agent/dns/tcp-frames.js";
import { WeftError } from "../../../proto/values/index.js";

/** A fresh 127/8 address per run, so parallel runs never share one. */
function loopback(): string {
  const byte = (): number => 1 + Math.floor(Math.random() * 253);
  return `127.${byte()}.${byte()}.${byte()}`;
}

const PORT = 20_000 + Math.floor(Math.random() * 30_000);

const ZONES: Record<string, DnsEndpoint[]> = {
  blue: [
    { name: "api", aliases: ["web"], ip: "10.40.1.2" },
    { name: "api2", aliases: ["web"], ip: "10.40.2.2" },
    { name: "db", aliases: [], ip: "10.40.1.3" },
  ],
  red: [{ name: "vault", aliases: ["web"], ip: "10.50.1.2" }],
};

/**
 * The world's resolver: example.test -> 192.0.2.1; big.example.test -> 100 addresses (truncated over
 * UDP, whole over TCP); slow.example.test never answered.
 */
class FakeUpstream {
  readonly udp = dgram.createSocket("udp4");
  readonly tcp = net.createServer();
  readonly seen: string[] = [];

  constructor(readonly address: string) {}

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.udp.bind(PORT, this.address, resolve));
    await new Promise<void>((resolve) => this.tcp.listen(PORT, this.address, resolve));
    this.udp.on("message", (message, peer) => {
      const response = this.answer(message, "udp");
      if (response) this.udp.send(response, peer.port, peer.address);
    });
    this.tcp.on("connection", (socket) => {
      const frames = new TcpFrameReader();
      socket.on("error", () => undefined);
      socket.on("data", (chunk) => {
        for (const message of frames.push(chunk)) {
          const response = this.answer(message, "tcp");
          if (response) socket.write(tcpFrame(response));
        }
      });
    });
  }

  answer(message: Buffer, transport: "udp" | "tcp"): Buffer | undefined {
    const query = dnsPacket.decode(message);
    const question = query.questions![0]!;
    this.seen.push(`${transport} ${question.name}`);
    if (question.name === "slow.example.test") return undefined;
    const count = question.name === "big.example.test" ? 100 : 1;
    const answers = Array.from({ length: count }, (_, i) => ({ type: "A" as const, name: question.name, ttl: 60, data: `192.0.2.${i + 1}` }));
    const base: Packet = { type: "response", id: query.id, flags: dnsPacket.RECURSION_AVAILABLE, questions: [question] };
    if (transport === "udp" && count > 20) return dnsPacket.encode({ ...base, flags: base.flags! | dnsPacket.TRUNCATED_RESPONSE, answers: [] });
    return dnsPacket.encode({ ...base, answers });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.udp.close(() => resolve()));
    await new Promise<void>((resolve) => this.tcp.close(() => resolve()));
  }
}

function encodeQuery(name: string, type: Question["type"] = "A"): Buffer {
  return dnsPacket.encode({ type: "query", id: Math.floor(Math.random() * 65536), flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] });
}

async function askUdp(address: string, name: string, type: Question["type"] = "A", deadlineMs = 3000): Promise<DecodedPacket> {
  const socket = dgram.createSocket("udp4");
  try {
    return await new Promise<DecodedPacket>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no UDP answer from ${address} for ${name} within ${deadlineMs} ms`)), deadlineMs);
      socket.on("message", (message) => {
        clearTimeout(timer);
        resolve(dnsPacket.decode(message) as DecodedPacket);
      });
      socket.send(encodeQuery(name, type), PORT, address);
    });
  } finally {
    socket.close();
  }
}

async function askTcp(address: string, name: string, type: Question["type"] = "A"): Promise<DecodedPacket> {
  const socket = net.connect({ host: address, port: PORT });
  try {
    return await new Promise<DecodedPacket>((resolve, reject) => {
      const frames = new TcpFrameReader();
      socket.on("error", reject);
      socket.on("connect", () => socket.write(tcpFrame(encodeQuery(name, type))));
      socket.on("data", (chunk) => {
        const [message] = frames.push(chunk);
        if (message) resolve(dnsPacket.decode(message) as DecodedPacket);
      });
    });
  } finally {
    socket.destroy();
  }
}

const addresses = (packet: DecodedPacket): string[] => (packet.answers ?? []).map((a) => String((a as { data: unknown }).data)).sort();

let upstream: FakeUpstream;
let server: DnsServer | undefined;
let metrics: Registry;
const logs: string[] = [];
const [BLUE, RED, UP] = [loopback(), loopback(), loopback()];

beforeEach(async () => {
  upstream = new FakeUpstream(UP);
  await upstream.start();
  metrics = new Registry();
  logs.length = 0;
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  await upstream.stop();
});

function start(options: { maxForwardsInFlight?: number } = {}): DnsServer {
  server = DnsServer.create({
    records: { endpoints: (network) => ZONES[network] ?? [] },
    upstreams: [`${UP}:${PORT}`],
    port: PORT,
    metrics,
    log: (level, line) => logs.push(`${level} ${line}`),
    forwardTimeoutMs: 300,
    ...options,
  });
  return server;
}

describe("DnsServer on loopback", () => {
  it("answers each network's names on its own address, over UDP and TCP", async () => {
    await start().setZones([{ network: "blue", listen: BLUE }, { network: "red", listen: RED }]);
    expect(server!.listening()).toEqual([{ network: "blue", listen: BLUE }, { network: "red", listen: RED }]);
    expect(addresses(await askUdp(BLUE, "web"))).toEqual(["10.40.1.2", "10.40.2.2"]);
    expect(addresses(await askTcp(BLUE, "db.blue"))).toEqual(["10.40.1.3"]);
    expect(addresses(await askUdp(RED, "web"))).toEqual(["10.50.1.2"]);
    expect((await askUdp(RED, "db.red")).rcode).toBe("NXDOMAIN");
    const ptr = await askTcp(BLUE, "3.1.40.10.in-addr.arpa", "PTR");
    expect(ptr.answers).toEqual([expect.objectContaining({ data: "db.blue" })]);
    expect(upstream.seen).toEqual([]);
    const text = await metrics.getSingleMetricAsString("weft_dns_queries_total");
    expect(text).toContain('weft_dns_queries_total{result="answered"} 4');
    expect(text).toContain('weft_dns_queries_total{result="nxdomain"} 1');
  });

  it("forwards other names upstream, retries a truncated answer over TCP for TCP clients", async () => {
    await start().setZones([{ network: "blue", listen: BLUE }]);
    expect(addresses(await askUdp(BLUE, "example.test"))).toEqual(["192.0.2.1"]);
    // A UDP client gets the truncated answer and asks again over TCP itself...
    const truncated = await askUdp(BLUE, "big.example.test");
    expect(truncated.flag_tc).toBe(true);
    // ...and over TCP the server asks upstream over UDP, then over TCP.
    upstream.seen.length = 0;
    const whole = await askTcp(BLUE, "big.example.test");
    expect(whole.flag_tc).toBe(false);
    expect(whole.answers).toHaveLength(100);
    expect(upstream.seen).toEqual(["udp big.example.test", "tcp big.example.test"]);
    expect(await metrics.getSingleMetricAsString("weft_dns_queries_total")).toContain('result="forwarded"} 3');
    expect(await metrics.getSingleMetricAsString("weft_dns_forward_duration_seconds")).toContain('weft_dns_forward_duration_seconds_count{outcome="answered"} 3');
  });

  it("answers SERVFAIL when the upstream stays silent, and REFUSED beyond the in-flight bound", async () => {
    await start({ maxForwardsInFlight: 2 }).setZones([{ network: "blue", listen: BLUE }]);
    const silent = await askUdp(BLUE, "slow.example.test");
    expect(silent.rcode).toBe("SERVFAIL");
    const answers = await Promise.all([askUdp(BLUE, "slow.example.test"), askUdp(BLUE, "slow.example.test"), askUdp(BLUE, "slow.example.test")]);
    expect(answers.map((a) => a.rcode).sort()).toEqual(["REFUSED", "SERVFAIL", "SERVFAIL"]);
    const text = await metrics.getSingleMetricAsString("weft_dns_queries_total");
    expect(text).toContain('result="servfail"} 3');
    expect(text).toContain('result="refused"} 1');
  });

  it("answers FORMERR to garbage over UDP and TCP and keeps serving", async () => {
    await start().setZones([{ network: "blue", listen: BLUE }]);
    const socket = dgram.createSocket("udp4");
    const formerr = await new Promise<DecodedPacket>((resolve) => {
      socket.on("message", (message) => resolve(dnsPacket.decode(message) as DecodedPacket));
      socket.send(Buffer.from([0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x3f]), PORT, BLUE);
    });
    socket.close();
    expect([formerr.id, formerr.rcode]).toEqual([0xabcd, "FORMERR"]);
    const tcp = net.connect({ host: BLUE, port: PORT });
    const frames = new TcpFrameReader();
    const reply = await new Promise<DecodedPacket>((resolve) => {
      tcp.on("connect", () => tcp.write(tcpFrame(Buffer.from([0x00, 0x07, 0x01, 0x00, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 9, 9]))));
      tcp.on("data", (chunk) => frames.push(chunk).forEach((m) => resolve(dnsPacket.decode(m) as DecodedPacket)));
    });
    tcp.destroy();
    expect(reply.rcode).toBe("FORMERR");
    expect(addresses(await askUdp(BLUE, "db"))).toEqual(["10.40.1.3"]);
  });

  it("moves with setZones, survives an address it cannot bind, and close() releases everything", async () => {
    await start().setZones([{ network: "blue", listen: BLUE }]);
    // 192.0.2.77 is on no interface here: logged, not thrown, retried at the next call.
    await server!.setZones([{ network: "red", listen: BLUE }, { network: "blue", listen: "192.0.2.77" }]);
    expect(server!.listening()).toEqual([{ network: "red", listen: BLUE }]);
    expect(logs.some((line) => line.startsWith("warn dns: cannot listen on 192.0.2.77"))).toBe(true);
    expect(addresses(await askUdp(BLUE, "web"))).toEqual(["10.50.1.2"]);
    await server!.setZones([]);
    expect(server!.listening()).toEqual([]);
    await expect(askTcp(BLUE, "web")).rejects.toMatchObject({ code: "ECONNREFUSED" });
    await server!.setZones([{ network: "blue", listen: BLUE }]);
    await server!.close();
    expect(server!.listening()).toEqual([]);
    await expect(askTcp(BLUE, "web")).rejects.toMatchObject({ code: "ECONNREFUSED" });
    // The port is free again: another server can take it.
    const again = DnsServer.create({ records: { endpoints: () => [] }, upstreams: [], port: PORT, metrics, log: () => undefined });
    await again.setZones([{ network: "blue", listen: BLUE }]);
    expect(again.listening()).toHaveLength(1);
    await again.close();
  });

  it("sees gossip changes at once, and with a revision rebuilds its index only when it moved", async () => {
    const live: DnsEndpoint[] = [];
    let revision = 0;
    let builds = 0;
    server = DnsServer.create({
      records: {
        endpoints: (network) => {
          builds += 1;
          return network === "blue" ? live : [];
        },
        revision: () => revision,
      },
      upstreams: [`${UP}:${PORT}`],
      port: PORT,
      metrics,
      log: () => undefined,
    });
    await server.setZones([{ network: "blue", listen: BLUE }]);
    expect((await askUdp(BLUE, "new.blue")).rcode).toBe("NXDOMAIN");
    live.push({ name: "new", aliases: [], ip: "10.40.1.9" });
    revision += 1;
    expect(addresses(await askUdp(BLUE, "new.blue"))).toEqual(["10.40.1.9"]);
    const before = builds;
    await askUdp(BLUE, "new.blue");
    expect(builds).toBe(before);
    live.pop();
    revision += 1;
    expect((await askUdp(BLUE, "new.blue")).rcode).toBe("NXDOMAIN");
  });
});

describe("resolv.conf and upstreams", () => {
  it("reads nameservers in order and the last search or domain line", () => {
    const text = [
      "# generated",
      "nameserver 192.0.2.53",
      "nameserver 2001:db8::53 ; v6",
      "nameserver not-an-address",
      "domain first.example",
      "search corp.example example.test",
      "options ndots:2",
      "nameserver 127.0.0.53",
    ].join("\n");
    expect(parseResolvConf(text)).toEqual({ nameservers: ["192.0.2.53", "2001:db8::53", "127.0.0.53"], search: ["corp.example", "example.test"] });
    expect(parseResolvConf("")).toEqual({ nameservers: [], search: [] });
  });

  it("parses upstream addresses with optional ports, and refuses others naming the field", () => {
    expect(parseUpstream("192.0.2.1")).toEqual({ host: "192.0.2.1", port: 53, family: 4 });
    expect(parseUpstream("192.0.2.1:5353")).toEqual({ host: "192.0.2.1", port: 5353, family: 4 });
    expect(parseUpstream("[2001:db8::1]:54")).toEqual({ host: "2001:db8::1", port: 54, family: 6 });
    expect(parseUpstream("2001:db8::1")).toEqual({ host: "2001:db8::1", port: 53, family: 6 });
    for (const bad of ["", "dns.example", "192.0.2.1:0", "192.0.2.1:70000", "1.2.3"]) {
      expect(() => parseUpstream(bad)).toThrow(WeftError);
    }
    expect(() => DnsServer.create({ records: { endpoints: () => [] }, upstreams: ["8.8.8.8", "nope"], metrics: new Registry(), log: () => undefined }))
      .toThrow(/upstreams\[1\]/);
  });
});
