// The embedded DNS's rate: p50/p99 latency at a steady query rate (5,000/s by default) and the most
// answers per second with a fixed window of queries outstanding, from one DnsServer on loopback,
// next to dnsmasq answering the same names from a hosts file, in the same run on the same machine.
// The load comes from a worker thread (its own event loop and core), so the server's loop is its own.
//   npx tsx test/bench/dns-rate.ts [--rate N] [--seconds N] [--json]
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import dnsPacket from "dns-packet";
import { Registry } from "prom-client";
import { DnsServer, type DnsEndpoint } from "../../agent/dns/index.js";

export interface ServerRate {
  /** Queries sent at the steady rate, answers received, and the answers' latency percentiles. */
  steady: { ratePerSec: number; sent: number; answered: number; p50Ms: number; p99Ms: number; maxMs: number };
  /** Answers per second with `window` queries always outstanding. */
  maxAnswersPerSec: number;
}

export interface DnsRate {
  endpoints: number;
  window: number;
  weft: ServerRate;
  dnsmasq: ServerRate & { version: string };
}

const NETWORK = "bench";
const ENDPOINTS = 200;
const WINDOW = 64;

export async function measureDnsRate(options: { rate?: number; seconds?: number; say?: (line: string) => void } = {}): Promise<DnsRate> {
  const rate = options.rate ?? 5000;
  const seconds = options.seconds ?? 5;
  const say = options.say ?? (() => undefined);
  const dnsmasqVersion = ensureDnsmasq(say);
  const endpoints: DnsEndpoint[] = Array.from({ length: ENDPOINTS }, (_, i) => ({
    name: `e${i}`,
    aliases: [],
    ip: `10.40.${1 + (i >> 8)}.${1 + (i & 255)}`,
  }));
  const names = endpoints.map((e) => `${e.name}.${NETWORK}`);
  const queries = names.map((name) => dnsPacket.encode({ type: "query", id: 0, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name }] }));
  const port = 20_000 + Math.floor(Math.random() * 30_000);
  const weftAddress = randomLoopback();
  // dnsmasq binds only addresses configured on an interface: lo's own.
  const dnsmasqAddress = "127.0.0.1";
  const dnsmasqPort = port + 1;
  const dir = mkdtempSync(join(tmpdir(), "weft-dns-bench-"));
  let server: DnsServer | undefined;
  let dnsmasq: ChildProcess | undefined;
  try {
    server = DnsServer.create({ records: { endpoints: (n) => (n === NETWORK ? endpoints : []), revision: () => 0 }, upstreams: [], port, metrics: new Registry(), log: () => undefined });
    await server.setZones([{ network: NETWORK, listen: weftAddress }]);
    if (server.listening().length !== 1) throw new Error(`the DnsServer could not listen on ${weftAddress}:${port}`);
    const hosts = join(dir, "hosts");
    writeFileSync(hosts, endpoints.map((e, i) => `${e.ip} ${names[i]} ${e.name}\n`).join(""), { mode: 0o644 });
    dnsmasq = spawn(
      "dnsmasq",
      ["--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", `--addn-hosts=${hosts}`, `--listen-address=${dnsmasqAddress}`,
        "--bind-interfaces", `--port=${dnsmasqPort}`, "--user=root", `--pid-file=${join(dir, "pid")}`, "--cache-size=1000", "--log-facility=/dev/null"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let dnsmasqErrors = "";
    dnsmasq.stderr!.on("data", (chunk: Buffer) => (dnsmasqErrors += chunk.toString()));
    for (const [address, at] of [[weftAddress, port], [dnsmasqAddress, dnsmasqPort]] as const) {
      if (!(await answers(address, at, queries[0]!, 5000))) throw new Error(`no answer from ${address}:${at} ${dnsmasqErrors}`);
    }
    say(`dns: ${ENDPOINTS} names; ${rate} queries/s for ${seconds} s, then a window of ${WINDOW} for ${seconds} s; weft ${weftAddress}:${port}, ${dnsmasqVersion} ${dnsmasqAddress}:${dnsmasqPort}`);
    const weft = await load({ address: weftAddress, port, queries, rate, seconds });
    const other = await load({ address: dnsmasqAddress, port: dnsmasqPort, queries, rate, seconds });
    return { endpoints: ENDPOINTS, window: WINDOW, weft, dnsmasq: { ...other, version: dnsmasqVersion } };
  } finally {
    dnsmasq?.kill();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** dnsmasq's version line; installs Debian's dnsmasq-base (the binary, no service) when missing. */
function ensureDnsmasq(say: (line: string) => void): string {
  const version = (): string => execFileSync("dnsmasq", ["--version"], { encoding: "utf8" }).split("\n")[0]!.trim();
  try {
    return version();
  } catch {
    say("dns: dnsmasq not found: installing Debian's dnsmasq-base with apt-get");
    try {
      execFileSync("apt-get", ["install", "-y", "-q", "dnsmasq-base"], { stdio: "ignore", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    } catch {
      execFileSync("apt-get", ["update", "-q"], { stdio: "ignore" });
      execFileSync("apt-get", ["install", "-y", "-q", "dnsmasq-base"], { stdio: "ignore", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    }
    return version();
  }
}

function randomLoopback(): string {
  const byte = (): number => 1 + Math.floor(Math.random() * 253);
  return `127.${byte()}.${byte()}.${byte()}`;
}

async function answers(address: string, port: number, query: Buffer, deadlineMs: number): Promise<boolean> {
  const result = await runWorker({ mode: "probe", address, port, queries: [query], deadlineMs });
  return result.answered > 0;
}

async function load(target: { address: string; port: number; queries: Buffer[]; rate: number; seconds: number }): Promise<ServerRate> {
  // One second at the rate first, not counted: the server's code paths get compiled before timing.
  await runWorker({ mode: "steady", ...target, seconds: 1 });
  const steady = await runWorker({ mode: "steady", ...target });
  const closed = await runWorker({ mode: "window", ...target, window: WINDOW });
  const latencies = Float64Array.from(steady.latenciesMs).sort();
  const at = (p: number): number => (latencies.length === 0 ? NaN : latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)]!);
  const round = (n: number): number => Math.round(n * 1000) / 1000;
  return {
    steady: { ratePerSec: target.rate, sent: steady.sent, answered: steady.answered, p50Ms: round(at(50)), p99Ms: round(at(99)), maxMs: round(at(100)) },
    maxAnswersPerSec: Math.round(closed.answered / target.seconds),
  };
}

interface WorkerResult {
  sent: number;
  answered: number;
  latenciesMs: number[];
}

function runWorker(job: Record<string, unknown>): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(LOAD_WORKER, { eval: true, workerData: job });
    worker.once("message", (result: WorkerResult) => resolve(result));
    worker.once("error", reject);
    worker.once("exit", (code) => code !== 0 && reject(new Error(`load worker exited with ${code}`)));
  });
}

// The load generator, in plain JavaScript so the worker needs no TypeScript loader. Each query's id
// is its sequence number (mod 65536); latency is from the send to the matching answer.
//   probe: one query, resent every 100 ms until answered or the deadline.
//   steady: queries sent on schedule at `rate` per second for `seconds`, then 1 s for late answers.
//   window: `window` queries outstanding at all times for `seconds` (a lost one is replaced after 500 ms).
const LOAD_WORKER = `
const { workerData, parentPort } = require("node:worker_threads");
const dgram = require("node:dgram");
const { mode, address, port, queries, rate, seconds, window, deadlineMs } = workerData;
const socket = dgram.createSocket("udp4");
const sentAt = new Float64Array(65536).fill(-1);
const latenciesMs = [];
let sent = 0, answered = 0, nextId = 0;
let onAnswer = () => {};
function send() {
  const id = nextId; nextId = (nextId + 1) & 0xffff;
  const query = Buffer.from(queries[sent % queries.length]);
  query.writeUInt16BE(id, 0);
  sentAt[id] = performance.now();
  sent++;
  socket.send(query, port, address);
}
socket.on("message", (message) => {
  const id = message.readUInt16BE(0);
  const started = sentAt[id];
  if (started < 0) return;
  sentAt[id] = -1;
  answered++;
  if (mode === "steady") latenciesMs.push(performance.now() - started);
  onAnswer();
});
function finish() { socket.close(); parentPort.postMessage({ sent, answered, latenciesMs }); }
socket.bind(0, "127.0.0.1", () => {
  socket.setRecvBufferSize(1 << 20);
  const start = performance.now();
  if (mode === "probe") {
    onAnswer = () => { clearInterval(timer); finish(); };
    const timer = setInterval(() => {
      if (performance.now() - start > deadlineMs) { clearInterval(timer); finish(); } else send();
    }, 100);
    send();
  } else if (mode === "steady") {
    const total = Math.round(rate * seconds);
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
      while (sent < due) send();
      if (sent < total) setTimeout(tick, 1); else setTimeout(finish, 1000);
    };
    tick();
  } else {
    let running = true;
    onAnswer = () => { if (running) send(); };
    for (let i = 0; i < window; i++) send();
    const sweep = setInterval(() => {
      const now = performance.now();
      for (let id = 0; id < 65536; id++) if (sentAt[id] >= 0 && now - sentAt[id] > 500) { sentAt[id] = -1; if (running) send(); }
    }, 250);
    setTimeout(() => { running = false; clearInterval(sweep); const count = answered; setTimeout(() => { answered = count; finish(); }, 200); }, seconds * 1000);
  }
});
`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rate: { type: "string", default: "5000" }, seconds: { type: "string", default: "5" }, json: { type: "boolean", default: false } } });
  const result = await measureDnsRate({ rate: Number(values.rate), seconds: Number(values.seconds), say: (line) => process.stderr.write(`bench: ${line}\n`) });
  process.stdout.write((values.json ? JSON.stringify(result) : JSON.stringify(result, null, 2)) + "\n");
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
