// Backends and clients for the mesh's e2e tests, run with this very Node inside lab namespaces.
// A backend answers every TCP connection and every UDP datagram with "<its name> <client address it
// saw>", so one probe says which backend the mesh chose and whether the client's address survived;
// after that line a TCP backend echoes what it gets (an established connection can be tested later).
// The UDP side binds the backend's own overlay address, as the mesh asks of UDP servers that keep the
// client's address (mode=local): one bound to 0.0.0.0 would answer from its default route's address.
import { spawn, type ChildProcess } from "node:child_process";
import { inNetns, pollUntil } from "./lab.js";

const BACKEND = `
const [port, name, udpAddress] = process.argv.slice(1);
const addr = (a) => String(a).replace(/^::ffff:/, "");
require("node:net").createServer((s) => { s.on("error", () => {}); s.write(name + " " + addr(s.remoteAddress) + "\\n"); s.pipe(s); }).listen(Number(port), "0.0.0.0");
const u = require("node:dgram").createSocket("udp4");
u.on("message", (m, r) => u.send(name + " " + r.address + "\\n", r.port, r.address));
u.bind(Number(port), udpAddress);
`;

// \`count\` probes one after the other, each a new connection (TCP) or a new connected socket (UDP,
// so an ICMP error is reported): one JSON line per probe, {answer} or {error}.
const PROBES = `
const [proto, ip, port, count, ms] = process.argv.slice(1).map((v, i) => (i === 1 || i === 0 ? v : Number(v)));
const out = [];
function one(done) {
  let finished = false;
  const end = (r) => { if (!finished) { finished = true; clearTimeout(t); out.push(r); done(); } };
  const t = setTimeout(() => end({ error: "timeout" }), ms);
  if (proto === "tcp") {
    const s = require("node:net").connect(port, ip);
    let text = "";
    s.on("data", (d) => { text += d; if (text.includes("\\n")) { s.destroy(); end({ answer: text.trim() }); } });
    s.on("error", (e) => { s.destroy(); end({ error: e.code || e.message }); });
  } else {
    const u = require("node:dgram").createSocket("udp4");
    u.on("error", (e) => { u.close(); end({ error: e.code || e.message }); });
    u.on("message", (m) => { u.close(); end({ answer: String(m).trim() }); });
    u.connect(port, ip, () => u.send("?"));
  }
}
let n = 0;
const next = () => (n++ < count ? one(next) : process.stdout.write(out.map((r) => JSON.stringify(r)).join("\\n") + "\\n"));
next();
`;

// One TCP connection held open: prints its first line, then for each line on stdin sends it and
// prints the echo; exits when stdin closes.
const HOLD = `
const [ip, port] = process.argv.slice(1);
const s = require("node:net").connect(Number(port), ip);
s.on("data", (d) => process.stdout.write(d));
s.on("error", (e) => { process.stdout.write("error " + (e.code || e.message) + "\\n"); process.exit(1); });
s.on("close", () => { process.stdout.write("closed\\n"); process.exit(0); });
process.stdin.on("data", (d) => s.write(d));
process.stdin.on("end", () => s.end());
`;

export interface Answer {
  /** The backend's name, or undefined when the probe failed. */
  backend?: string;
  /** The client address the backend saw. */
  client?: string;
  /** ECONNREFUSED, timeout, ... */
  error?: string;
}

/** Starts a TCP (any address) + UDP (`udpAddress`) backend on `port` in `netns`, waits until both listen. */
export async function startBackend(netns: string, port: number, name: string, udpAddress: string): Promise<ChildProcess> {
  const child = spawn("ip", ["netns", "exec", netns, process.execPath, "-e", BACKEND, String(port), name, udpAddress], { stdio: "ignore" });
  const listening = async (): Promise<boolean> => {
    const tcp = (await inNetns(netns, ["ss", "-Hltn", `sport = :${port}`])).stdout.trim() !== "";
    const udp = (await inNetns(netns, ["ss", "-Hlun", `sport = :${port}`])).stdout.trim() !== "";
    return tcp && udp;
  };
  if (!(await pollUntil(listening, (up) => up, 10_000))) {
    child.kill("SIGKILL");
    throw new Error(`backend ${name} on ${port} in ${netns} did not start`);
  }
  return child;
}

/** `count` probes from `netns` to ip:port, each a new flow. */
export async function probeMany(netns: string, proto: "tcp" | "udp", ip: string, port: number, count: number, timeoutMs = 2000): Promise<Answer[]> {
  const run = await inNetns(netns, [process.execPath, "-e", PROBES, proto, ip, String(port), String(count), String(timeoutMs)], count * (timeoutMs + 500) + 10_000);
  const lines = run.stdout.trim().split("\n").filter(Boolean);
  if (lines.length !== count) throw new Error(`probes from ${netns} to ${proto} ${ip}:${port} printed ${lines.length} of ${count} results: ${run.stderr.trim()}`);
  return lines.map((line) => {
    const r = JSON.parse(line) as { answer?: string; error?: string };
    if (r.answer === undefined) return { error: r.error ?? "no answer" };
    const [backend, client] = r.answer.split(" ");
    return { backend, client };
  });
}

export async function probeOnce(netns: string, proto: "tcp" | "udp", ip: string, port: number, timeoutMs = 2000): Promise<Answer> {
  return (await probeMany(netns, proto, ip, port, 1, timeoutMs))[0]!;
}

/** Probes until every one of `backends` answered and none other did, or the deadline; returns what was seen. */
export async function seeAllBackends(netns: string, proto: "tcp" | "udp", ip: string, port: number, backends: readonly string[], timeoutMs = 15_000): Promise<Set<string>> {
  const seen = new Set<string>();
  const want = new Set(backends);
  await pollUntil(
    async () => {
      for (const a of await probeMany(netns, proto, ip, port, 4 * backends.length)) if (a.backend) seen.add(a.backend);
      return seen;
    },
    (s) => [...want].every((b) => s.has(b)) || [...s].some((b) => !want.has(b)),
    timeoutMs,
    200,
  );
  return seen;
}

/** Counts answers per backend (and failures under "error:<code>"). */
export function tally(answers: readonly Answer[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const a of answers) {
    const key = a.backend ?? `error:${a.error}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

export interface HeldConnection {
  /** The backend's first line: "<name> <client>". */
  greeting: string;
  /** Sends a line and resolves with its echo ("error ..."/"closed" when the connection broke). */
  echo(line: string): Promise<string>;
  close(): void;
}

/** Opens one TCP connection from `netns` and keeps it open. */
export async function holdConnection(netns: string, ip: string, port: number): Promise<HeldConnection> {
  const child = spawn("ip", ["netns", "exec", netns, process.execPath, "-e", HOLD, ip, String(port)], { stdio: ["pipe", "pipe", "ignore"] });
  const lines: string[] = [];
  let partial = "";
  child.stdout.on("data", (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split("\n");
    partial = parts.pop()!;
    lines.push(...parts);
  });
  const nextLine = async (timeoutMs: number): Promise<string> => {
    const got = await pollUntil(async () => lines.length, (n) => n > 0, timeoutMs, 20);
    return got > 0 ? lines.shift()! : "timeout";
  };
  const greeting = await nextLine(5000);
  return {
    greeting,
    async echo(line: string) {
      child.stdin.write(line + "\n");
      return nextLine(5000);
    },
    close: () => void child.kill("SIGKILL"),
  };
}
