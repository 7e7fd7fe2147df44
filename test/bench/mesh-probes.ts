// Tiny TCP servers and clients for the mesh bench, run with this very Node inside lab namespaces.
// The server answers every connection with its name and closes; the clients open connection after
// connection (each a new flow the mesh hashes anew) and report as JSON on their last line.
import { spawn, type ChildProcess } from "node:child_process";
import { inNetns, pollUntil } from "../helpers/lab.js";

const NAME_SERVER = `
const [port, name] = process.argv.slice(1);
require("node:net").createServer((s) => { s.on("error", () => {}); s.end(name); }).listen(Number(port), "0.0.0.0");
`;

// Connections per second: \`concurrency\` loops of connect, read the answer, close, for \`seconds\`
// after a half-second warm-up.
const RATE_CLIENT = `
const net = require("node:net");
const [ip, port, seconds, concurrency] = process.argv.slice(1).map((v, i) => (i === 0 ? v : Number(v)));
const start = Date.now() + 500, end = start + seconds * 1000;
let done = 0, errors = 0;
function loop() {
  if (Date.now() >= end) return;
  const s = net.connect(port, ip);
  s.on("data", () => {});
  s.on("end", () => { if (Date.now() >= start && Date.now() < end) done++; s.destroy(); loop(); });
  s.on("error", () => { errors++; s.destroy(); setTimeout(loop, 10); });
}
for (let i = 0; i < concurrency; i++) loop();
setTimeout(() => { process.stdout.write(JSON.stringify({ connections: done, errors, seconds }) + "\\n"); process.exit(0); }, end - Date.now() + 1000);
`;

// Which server answered: \`total\` connections (or until epoch ms \`until\`), \`concurrency\` at a time;
// per name the count and the epoch ms of its last answer.
const NAMES_CLIENT = `
const net = require("node:net");
const [ip, port, total, until, concurrency] = process.argv.slice(1).map((v, i) => (i === 0 ? v : Number(v)));
const counts = {}, last = {};
let started = 0, finished = 0, errors = 0, running = 0;
function finish() { process.stdout.write(JSON.stringify({ counts, last, errors }) + "\\n"); process.exit(0); }
function next() {
  if ((total > 0 && started >= total) || (until > 0 && Date.now() >= until)) { if (running === 0) finish(); return; }
  started++; running++;
  const s = net.connect(port, ip);
  let name = "";
  s.setTimeout(2000, () => s.destroy(new Error("timeout")));
  s.on("data", (d) => (name += d));
  s.on("end", () => { running--; finished++; if (name) { counts[name] = (counts[name] || 0) + 1; last[name] = Date.now(); } s.destroy(); next(); });
  s.on("error", () => { running--; errors++; s.destroy(); setTimeout(next, 5); });
}
for (let i = 0; i < concurrency; i++) next();
`;

export async function startNameServer(netns: string, port: number, name: string): Promise<ChildProcess> {
  const child = spawn("ip", ["netns", "exec", netns, process.execPath, "-e", NAME_SERVER, String(port), name], { stdio: "ignore" });
  const up = await pollUntil(async () => (await inNetns(netns, ["ss", "-Hltn", `sport = :${port}`])).stdout.trim() !== "", (v) => v, 10_000);
  if (!up) {
    child.kill("SIGKILL");
    throw new Error(`name server on ${port} in ${netns} did not start`);
  }
  return child;
}

export async function connectionRate(netns: string, ip: string, port: number, seconds: number, concurrency = 16): Promise<{ perSec: number; errors: number }> {
  const run = await inNetns(netns, [process.execPath, "-e", RATE_CLIENT, ip, String(port), String(seconds), String(concurrency)], (seconds + 30) * 1000);
  const result = lastJson<{ connections: number; errors: number; seconds: number }>(run.stdout, `rate client to ${ip}:${port} in ${netns}: ${run.stderr}`);
  return { perSec: result.connections / result.seconds, errors: result.errors };
}

export interface NameCounts {
  counts: Record<string, number>;
  /** Epoch ms of each name's last answer. */
  last: Record<string, number>;
  errors: number;
}

export async function countNames(netns: string, ip: string, port: number, options: { total?: number; untilEpochMs?: number; concurrency?: number }): Promise<NameCounts> {
  const timeoutMs = options.untilEpochMs ? options.untilEpochMs - Date.now() + 30_000 : 300_000;
  const args = [ip, String(port), String(options.total ?? 0), String(options.untilEpochMs ?? 0), String(options.concurrency ?? 16)];
  const run = await inNetns(netns, [process.execPath, "-e", NAMES_CLIENT, ...args], timeoutMs);
  return lastJson<NameCounts>(run.stdout, `names client to ${ip}:${port} in ${netns}: ${run.stderr}`);
}

function lastJson<T>(stdout: string, context: string): T {
  const line = stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`${context.trim()} (printed ${JSON.stringify(stdout.slice(-200))})`);
  }
}
