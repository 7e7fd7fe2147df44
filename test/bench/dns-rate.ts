// The embedded DNS's rate: p50/p99 latency at a steady query rate (5,000/s by default) and the most
// answers per second with a fixed window of queries outstanding, from one DnsServer in a process of
// its own (as in weftd, with weftd's Node flags) on loopback, next to dnsmasq answering the same
// names from a hosts file, in the same run on the same machine. The load comes from dnsperf (C,
// Debian's): its per-query latencies (-v) give the percentiles, its own count the answers per second.
// Rounds alternate the two servers; each figure is the median of the rounds.
// On a shared machine other jobs' CPU sets both servers' p99, so the steady rate is run twice: as
// is, and "isolated", with the server and dnsperf under SCHED_FIFO (chrt; they use a fraction of a
// core at this rate). The window run stays at normal priority (it would take both cores from every
// other job); the server's CPU time per answer in it (/proc) is the figure the machine's load
// disturbs least.
//   npx tsx test/bench/dns-rate.ts [--rate N] [--seconds N] [--rounds N] [--json]
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { WEFTD_NODE_FLAGS } from "../../agent/lab/lab-agent-process.js";
import { benchEndpoints, BENCH_NETWORK } from "./dns-bench-names.js";

export interface ServerRate {
  /** Medians over the rounds; sent and answered are the rounds' sums. */
  steady: Steady;
  /** The same steady load with the server and dnsperf under SCHED_FIFO: the server's own latency. */
  isolated: Steady;
  /** The server's CPU time (all its threads) per answer in the window run, in microseconds. */
  cpuUsPerAnswer: number;
  /** Answers per second with `window` queries always outstanding (median of the rounds). */
  maxAnswersPerSec: number;
  /** Each round's p99 (ms) and answers per second, for the spread. */
  rounds: { p99Ms: number[]; isolatedP99Ms: number[]; answersPerSec: number[]; cpuUsPerAnswer: number[] };
}

export interface Steady {
  ratePerSec: number;
  seconds: number;
  sent: number;
  answered: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface DnsRate {
  endpoints: number;
  window: number;
  rounds: number;
  /** "dnsperf VERSION". */
  client: string;
  weft: ServerRate;
  dnsmasq: ServerRate & { version: string };
}

const ENDPOINTS = 200;
const WINDOW = 64;
/** The most queries dnsperf keeps outstanding in the steady run: far above what 5,000/s needs. */
const STEADY_OUTSTANDING = 500;
/** SCHED_FIFO priority of the isolated steady run: above every normal job, below the kernel's own threads (50). */
const FIFO_PRIORITY = 40;
const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
const SERVER_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "dns-server-process.ts");

interface Latencies {
  sent: number;
  answered: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

interface RoundResult {
  steady: Latencies;
  isolated: Latencies;
  answersPerSec: number;
  cpuUsPerAnswer: number;
}

export async function measureDnsRate(options: { rate?: number; seconds?: number; rounds?: number; say?: (line: string) => void } = {}): Promise<DnsRate> {
  const rate = options.rate ?? 5000;
  const seconds = options.seconds ?? 5;
  const rounds = options.rounds ?? 3;
  const say = options.say ?? (() => undefined);
  const dnsmasqVersion = ensureDebianTool("dnsmasq", "dnsmasq-base", ["--version"], say);
  const client = `dnsperf ${ensureDebianTool("dnsperf", "dnsperf", ["-h"], say, /^Version.*$/m).replace(/^Version\s*/, "")}`;
  const endpoints = benchEndpoints(ENDPOINTS);
  const names = endpoints.map((e) => `${e.name}.${BENCH_NETWORK}`);
  const port = 20_000 + Math.floor(Math.random() * 30_000);
  const weftAddress = randomLoopback();
  // dnsmasq binds only addresses configured on an interface: lo's own.
  const dnsmasqAddress = "127.0.0.1";
  const dnsmasqPort = port + 1;
  const dir = mkdtempSync(join(tmpdir(), "weft-dns-bench-"));
  let weftd: ChildProcess | undefined;
  let dnsmasq: ChildProcess | undefined;
  try {
    const queries = join(dir, "queries");
    writeFileSync(queries, names.map((name) => `${name} A\n`).join(""));
    const hosts = join(dir, "hosts");
    writeFileSync(hosts, endpoints.map((e, i) => `${e.ip} ${names[i]} ${e.name}\n`).join(""), { mode: 0o644 });
    weftd = spawn(process.execPath, [...process.execArgv, ...WEFTD_NODE_FLAGS, SERVER_SCRIPT, "--address", weftAddress, "--port", String(port), "--endpoints", String(ENDPOINTS)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await ready(weftd);
    dnsmasq = spawn(
      "dnsmasq",
      ["--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", `--addn-hosts=${hosts}`, `--listen-address=${dnsmasqAddress}`,
        "--bind-interfaces", `--port=${dnsmasqPort}`, "--user=root", `--pid-file=${join(dir, "pid")}`, "--cache-size=1000", "--log-facility=/dev/null"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let dnsmasqErrors = "";
    dnsmasq.stderr!.on("data", (chunk: Buffer) => (dnsmasqErrors += chunk.toString()));
    const servers = [
      { name: "weft", address: weftAddress, port, pid: weftd.pid! },
      { name: "dnsmasq", address: dnsmasqAddress, port: dnsmasqPort, pid: dnsmasq.pid! },
    ] as const;
    for (const server of servers) {
      if (!(await answers(server.address, server.port, queries))) throw new Error(`no answer from ${server.name} at ${server.address}:${server.port} ${dnsmasqErrors}`);
    }
    say(`dns: ${ENDPOINTS} names; per round ${rate} queries/s for ${seconds} s, then a window of ${WINDOW} for ${seconds} s, each server in turn; ${rounds} rounds; weft ${weftAddress}:${port} (own process), ${dnsmasqVersion} ${dnsmasqAddress}:${dnsmasqPort}; load: ${client}`);
    const results: Record<"weft" | "dnsmasq", RoundResult[]> = { weft: [], dnsmasq: [] };
    for (let round = 0; round < rounds; round++) {
      for (const server of round % 2 === 0 ? servers : [...servers].reverse()) {
        const result = await measureRound({ ...server, queries, rate, seconds });
        results[server.name].push(result);
        say(
          `dns: round ${round + 1} ${server.name}: p50/p99 ${ms(result.steady.p50Ms)}/${ms(result.steady.p99Ms)} ms, isolated ${ms(result.isolated.p50Ms)}/${ms(result.isolated.p99Ms)} ms; ` +
            `${Math.round(result.answersPerSec)} answers/s at ${result.cpuUsPerAnswer.toFixed(1)} us of CPU each`,
        );
      }
    }
    return {
      endpoints: ENDPOINTS,
      window: WINDOW,
      rounds,
      client,
      weft: summarize(results.weft, rate, seconds),
      dnsmasq: { ...summarize(results.dnsmasq, rate, seconds), version: dnsmasqVersion },
    };
  } finally {
    dnsmasq?.kill();
    weftd?.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureRound(target: { address: string; port: number; pid: number; queries: string; rate: number; seconds: number }): Promise<RoundResult> {
  const steadyArgs = ["-l", String(target.seconds), "-Q", String(target.rate), "-q", String(STEADY_OUTSTANDING), "-v"];
  // One second at the rate first, not counted: the server's code paths get compiled, its caches filled.
  await dnsperf(target, ["-l", "1", "-Q", String(target.rate), "-q", String(STEADY_OUTSTANDING)]);
  const steady = latencies(await dnsperf(target, steadyArgs));
  execFileSync("chrt", ["--all-tasks", "--fifo", "--pid", String(FIFO_PRIORITY), String(target.pid)]);
  let isolated: Latencies;
  try {
    isolated = latencies(await dnsperf(target, steadyArgs, true));
  } finally {
    execFileSync("chrt", ["--all-tasks", "--other", "--pid", "0", String(target.pid)]);
  }
  const cpuBefore = cpuSeconds(target.pid);
  const window = await dnsperf(target, ["-l", String(target.seconds), "-q", String(WINDOW)]);
  const cpu = cpuSeconds(target.pid) - cpuBefore;
  return { steady, isolated, answersPerSec: window.answersPerSec, cpuUsPerAnswer: (cpu * 1e6) / Math.max(1, window.answered) };
}

function latencies(run: DnsperfRun): Latencies {
  const sorted = Float64Array.from(run.latenciesMs).sort();
  return { sent: run.sent, answered: sorted.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: percentile(sorted, 100) };
}

/** A process's CPU time so far, all threads, user and system (/proc/PID/stat fields 14 and 15). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "").split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

interface DnsperfRun {
  sent: number;
  answered: number;
  answersPerSec: number;
  /** With -v: each NOERROR answer's latency as dnsperf measured it (microsecond resolution). */
  latenciesMs: number[];
}

/** One dnsperf run against the target; its figures parsed from its report. */
function dnsperf(target: { address: string; port: number; queries: string }, args: string[], fifo = false): Promise<DnsperfRun> {
  return new Promise((resolve, reject) => {
    const command = ["dnsperf", "-s", target.address, "-p", String(target.port), "-d", target.queries, "-t", "1", ...args];
    const [file, ...rest] = fifo ? ["chrt", "--fifo", String(FIFO_PRIORITY), ...command] : command;
    const child = spawn(file!, rest, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let errors = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (errors += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      const sent = /Queries sent:\s+(\d+)/.exec(out);
      const completed = /Queries completed:\s+(\d+)/.exec(out);
      const qps = /Queries per second:\s+([\d.]+)/.exec(out);
      if (code !== 0 || sent === null || completed === null || qps === null) {
        reject(new Error(`dnsperf ${args.join(" ")} failed (${code}): ${(errors || out).slice(-500)}`));
        return;
      }
      const latenciesMs: number[] = [];
      for (const match of out.matchAll(/^> NOERROR \S+ A ([\d.]+)$/gm)) latenciesMs.push(Number(match[1]) * 1000);
      resolve({ sent: Number(sent[1]), answered: Number(completed[1]), answersPerSec: Number(qps[1]), latenciesMs });
    });
  });
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;
const ms = (n: number): string => n.toFixed(3);

function median(values: number[]): number {
  return percentile(Float64Array.from(values).sort(), 50);
}

function summarize(rounds: RoundResult[], rate: number, seconds: number): ServerRate {
  const steady = (pick: (r: RoundResult) => Latencies): Steady => ({
    ratePerSec: rate,
    seconds,
    sent: rounds.reduce((sum, r) => sum + pick(r).sent, 0),
    answered: rounds.reduce((sum, r) => sum + pick(r).answered, 0),
    p50Ms: round3(median(rounds.map((r) => pick(r).p50Ms))),
    p99Ms: round3(median(rounds.map((r) => pick(r).p99Ms))),
    maxMs: round3(median(rounds.map((r) => pick(r).maxMs))),
  });
  return {
    steady: steady((r) => r.steady),
    isolated: steady((r) => r.isolated),
    maxAnswersPerSec: Math.round(median(rounds.map((r) => r.answersPerSec))),
    cpuUsPerAnswer: Math.round(median(rounds.map((r) => r.cpuUsPerAnswer)) * 10) / 10,
    rounds: {
      p99Ms: rounds.map((r) => round3(r.steady.p99Ms)),
      isolatedP99Ms: rounds.map((r) => round3(r.isolated.p99Ms)),
      answersPerSec: rounds.map((r) => Math.round(r.answersPerSec)),
      cpuUsPerAnswer: rounds.map((r) => Math.round(r.cpuUsPerAnswer * 10) / 10),
    },
  };
}

/** The nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The tool's version line; installs Debian's package when the tool is missing. */
function ensureDebianTool(tool: string, pkg: string, versionArgs: string[], say: (line: string) => void, versionLine = /^.*$/m): string {
  const version = (): string => {
    let text: string;
    try {
      text = execFileSync(tool, versionArgs, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (err) {
      // dnsperf -h prints its usage and exits 1.
      const failed = err as { stdout?: string; stderr?: string; code?: string };
      if (failed.code === "ENOENT" || (failed.stdout === undefined && failed.stderr === undefined)) throw err;
      text = `${failed.stdout ?? ""}${failed.stderr ?? ""}`;
    }
    return (versionLine.exec(text)?.[0] ?? tool).trim();
  };
  try {
    return version();
  } catch {
    say(`dns: ${tool} not found: installing Debian's ${pkg} with apt-get`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    try {
      execFileSync("apt-get", ["install", "-y", "-q", pkg], { stdio: "ignore", env });
    } catch {
      execFileSync("apt-get", ["update", "-q"], { stdio: "ignore" });
      execFileSync("apt-get", ["install", "-y", "-q", pkg], { stdio: "ignore", env });
    }
    return version();
  }
}

function randomLoopback(): string {
  const byte = (): number => 1 + Math.floor(Math.random() * 253);
  return `127.${byte()}.${byte()}.${byte()}`;
}

/** Resolves once the server process prints "ready"; rejects if it exits first. */
function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      if (out.includes("ready\n")) resolve();
    });
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`the DNS server process exited with ${code} before listening`)));
  });
}

/** Whether the server answers within 5 s (dnsperf sending one query at a time). */
async function answers(address: string, port: number, queries: string): Promise<boolean> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const run = await dnsperf({ address, port, queries }, ["-n", "1", "-q", "1"]).catch(() => undefined);
    if (run !== undefined && run.answered > 0) return true;
  }
  return false;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rate: { type: "string", default: "5000" }, seconds: { type: "string", default: "5" }, rounds: { type: "string", default: "3" }, json: { type: "boolean", default: false } },
  });
  const result = await measureDnsRate({ rate: Number(values.rate), seconds: Number(values.seconds), rounds: Number(values.rounds), say: (line) => process.stderr.write(`bench: ${line}\n`) });
  process.stdout.write((values.json ? JSON.stringify(result) : JSON.stringify(result, null, 2)) + "\n");
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
