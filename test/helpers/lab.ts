// A lab for one test file: a unique prefix (`weft` + 4 random [a-z0-9]) and a down() for afterAll.
import { execFileSync, spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import { labDown, labUp, type CheckResult, type LabOptions, type LabState } from "../../agent/lab/index.js";
import { createUnaryClient, type UnaryClient } from "../../proto/grpc-binding.js";
import { WeftService } from "../../proto/gen/weft/v1/api_pb.js";

/** The VXLAN device of the lab's network (VNI 42). */
export const LAB_VXLAN_DEVICE = "weft-vx42";

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

export function uniqueLabPrefix(): string {
  return "weft" + Array.from({ length: 4 }, () => ALPHABET[randomInt(ALPHABET.length)]).join("");
}

export interface TestLab {
  prefix: string;
  state: LabState;
  checks: CheckResult[];
  down(): Promise<void>;
}

/**
 * Builds a lab with a unique prefix. labUp removes what it built when it fails, so there is nothing to
 * leak. Without the service `web` unless asked (`web: true`): a test of something else keeps its
 * endpoint counts.
 */
export async function withLab(options: Omit<LabOptions, "prefix"> & { prefix?: string }): Promise<TestLab> {
  const prefix = options.prefix ?? uniqueLabPrefix();
  const lines: string[] = [];
  const log = options.log ?? ((line: string) => lines.push(line));
  const { state, checks } = await labUp({ ...options, web: options.web ?? false, prefix, log });
  return { prefix, state, checks, down: () => labDown({ prefix }) };
}

/** Polls `probe` until it returns true or the deadline passes; returns the last value seen. */
export async function pollUntil<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, intervalMs));
    value = await probe();
  }
  return value;
}

/** Calls one lab host's agent through its API socket. */
export async function withLabApi<T>(lab: TestLab, hostName: string, fn: (client: UnaryClient<typeof WeftService.method>) => Promise<T>): Promise<T> {
  const host = lab.state.hosts.find((h) => h.name === hostName);
  if (host === undefined) throw new Error(`the lab has no host ${hostName}`);
  const client = createUnaryClient(WeftService, `unix:${host.apiSocket}`);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/**
 * MACs with a VXLAN FDB entry (one with a remote VTEP as `dst`) on `device` in a namespace. The
 * bridge's own learned entries for the same MACs (`master weft-br42`, no dst) are the kernel's, not
 * the agent's, and age out on their own. No device: no entries.
 */
export function vxlanFdbMacs(netns: string, device = LAB_VXLAN_DEVICE): Set<string> {
  let out = "";
  try {
    out = execFileSync("ip", ["netns", "exec", netns, "bridge", "-j", "fdb", "show", "dev", device], { encoding: "utf8", timeout: 5000, stdio: ["ignore", "pipe", "pipe"] });
  } catch {
    return new Set();
  }
  const entries = (out.trim() === "" ? [] : JSON.parse(out)) as { mac?: string; dst?: string }[];
  return new Set(entries.filter((e) => e.dst !== undefined).map((e) => (e.mac ?? "").toLowerCase()));
}

export interface PingSummary {
  transmitted: number;
  received: number;
  /** ping's own summary lines, for messages. */
  summary: string;
}

/**
 * Runs ping inside a namespace, `count` echo requests every `intervalMs`, and resolves with ping's
 * own summary (transmitted, received). With -c, ping waits for the replies to the last requests
 * before it exits, so none in flight at the end counts as lost.
 */
export function pingSeries(netns: string, ip: string, options: { intervalMs: number; count: number }): { done: Promise<PingSummary>; stop(): void } {
  const child = spawn("ip", ["netns", "exec", netns, "ping", "-n", "-q", "-i", String(options.intervalMs / 1000), "-c", String(options.count), "-W", "1", ip], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const done = new Promise<PingSummary>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", () => {
      const match = /(\d+) packets transmitted, (\d+) received/.exec(out);
      if (!match) return reject(new Error(`ping ${ip} in ${netns} printed no summary: ${out.trim()}`));
      resolve({ transmitted: Number(match[1]), received: Number(match[2]), summary: out.trim().split("\n").slice(-2).join(" | ") });
    });
  });
  return { done, stop: () => child.kill("SIGINT") };
}

export interface NetnsRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command inside a namespace (`ip netns exec`, so /etc/netns/<ns>/resolv.conf applies). */
export function inNetns(netns: string, command: readonly string[], timeoutMs = 10_000): Promise<NetnsRun> {
  return new Promise((resolve) => {
    const child = spawn("ip", ["netns", "exec", netns, ...command], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

// Tiny servers and probes run with this very Node inside namespaces: TCP and UDP echo, and a client
// that prints "ok" when it got its bytes back (or, for "sink", sent them all and was told the count).
const SERVER = `
const [proto, port] = process.argv.slice(1);
if (proto === "tcp") require("node:net").createServer((s) => { let n = 0; s.on("data", (d) => { n += d.length; }); s.on("end", () => s.end(String(n))); s.on("error", () => {}); }).listen(Number(port), "0.0.0.0");
else { const u = require("node:dgram").createSocket("udp4"); u.on("message", (m, r) => u.send(m, r.port, r.address)); u.bind(Number(port), "0.0.0.0"); }
`;
const CLIENT = `
const [proto, ip, port, bytes, ms] = process.argv.slice(1);
const done = (text) => { process.stdout.write(text + "\\n"); process.exit(0); };
setTimeout(() => done("timeout"), Number(ms));
if (proto === "tcp") {
  const s = require("node:net").connect(Number(port), ip, () => s.end(Buffer.alloc(Number(bytes), 120)));
  let reply = ""; s.on("data", (d) => (reply += d)); s.on("end", () => done(reply === bytes ? "ok" : "short " + reply)); s.on("error", (e) => done("error " + e.code));
} else {
  const u = require("node:dgram").createSocket("udp4");
  u.on("message", () => done("ok")); u.send(Buffer.from("ping"), Number(port), ip);
}
`;

/** Starts a TCP (byte-counting) or UDP (echo) server in a namespace; stop() kills it. */
export async function startServer(netns: string, proto: "tcp" | "udp", port: number): Promise<{ stop(): void }> {
  const child = spawn("ip", ["netns", "exec", netns, process.execPath, "-e", SERVER, proto, String(port)], { stdio: "ignore" });
  const ready = await pollUntil(
    async () => (await inNetns(netns, ["ss", "-H", proto === "tcp" ? "-ltn" : "-lun", `sport = :${port}`])).stdout.trim() !== "",
    (up) => up,
    10_000,
  );
  if (!ready) {
    child.kill("SIGKILL");
    throw new Error(`${proto} server on port ${port} in ${netns} did not start`);
  }
  return { stop: () => child.kill("SIGKILL") };
}

/** "ok" when the server answered (TCP: counted all `bytes`), else what went wrong. */
export async function probe(netns: string, proto: "tcp" | "udp", ip: string, port: number, options: { bytes?: number; timeoutMs?: number } = {}): Promise<string> {
  const timeoutMs = options.timeoutMs ?? 1500;
  const run = await inNetns(netns, [process.execPath, "-e", CLIENT, proto, ip, String(port), String(options.bytes ?? 1), String(timeoutMs)], timeoutMs + 10_000);
  return run.stdout.trim() || `exit ${run.code}: ${run.stderr.trim()}`;
}

/** Addresses `getent ahostsv4 name` prints inside a namespace (empty when the name does not resolve). */
export async function resolveIn(netns: string, name: string): Promise<string[]> {
  const run = await inNetns(netns, ["getent", "ahostsv4", name]);
  if (run.code !== 0) return [];
  return [...new Set(run.stdout.split("\n").map((l) => l.split(/\s+/)[0] ?? "").filter(Boolean))].sort();
}

/** The cross-host ping checks between the first network's containers (not egress, names, isolation, or the second network). */
export function firstNetworkPings(checks: readonly CheckResult[]): CheckResult[] {
  const second = /-i[0-9]+$/;
  return checks.filter((c) => (c.kind ?? "ping") === "ping" && !second.test(c.from) && !second.test(c.to));
}
