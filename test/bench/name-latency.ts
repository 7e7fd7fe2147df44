// Attach-to-name on a live lab: the time from an attach call's return on the second host until the
// new endpoint's name (NAME.NETWORK) resolves from a container on the first host, through the resolver
// that container was given (its resolv.conf, written from the attach result: its gateway, port 53).
// The querier runs inside the container's namespace (a Node process with dns-packet over UDP) and is
// started before the first attach, so each sample is a pipe write plus the polling, not a process start.
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { promisify } from "node:util";
import { createUnaryClient } from "../../proto/grpc-binding.js";
import { WeftService } from "../../proto/gen/weft/v1/api_pb.js";
import type { LabState } from "../../agent/lab/index.js";

const run = promisify(execFile);

// Reads one name per line; queries it (A, a fresh id each time) every millisecond until an answer
// with an A record arrives, then prints {name, at, ips} with `at` in epoch milliseconds (sub-ms).
// Gives up on a name after 5 s and prints {name, error}.
const QUERIER = `
const dgram = require("node:dgram");
const readline = require("node:readline");
const dnsPacket = require(process.argv[1]);
const [server, port] = [process.argv[2], Number(process.argv[3])];
const now = () => performance.timeOrigin + performance.now();
const socket = dgram.createSocket("udp4");
let current = null;
let id = 0;
socket.on("message", (message) => {
  if (!current) return;
  let answer;
  try { answer = dnsPacket.decode(message); } catch { return; }
  const ips = (answer.answers || []).filter((a) => a.type === "A").map((a) => a.data);
  if (answer.rcode !== "NOERROR" || ips.length === 0) return;
  if ((answer.questions[0] || {}).name !== current.name) return;
  const done = current; current = null; clearInterval(done.timer);
  process.stdout.write(JSON.stringify({ name: done.name, at: now(), ips }) + "\\n");
});
socket.bind(0, () => {
  readline.createInterface({ input: process.stdin }).on("line", (name) => {
    const started = now();
    const send = () => {
      if (now() - started > 5000) { clearInterval(current.timer); current = null; process.stdout.write(JSON.stringify({ name, error: "no answer within 5 s" }) + "\\n"); return; }
      id = (id + 1) & 0xffff;
      socket.send(dnsPacket.encode({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name }] }), port, server);
    };
    current = { name, timer: setInterval(send, 1) };
    send();
  });
  process.stdout.write(JSON.stringify({ ready: true }) + "\\n");
});
`;

interface QuerierLine {
  ready?: boolean;
  name?: string;
  at?: number;
  ips?: string[];
  error?: string;
}

/** `count` attaches on the lab's second host, one at a time; returns attach-return-to-resolved in ms. */
export async function measureNameLatencies(state: LabState, count: number): Promise<number[]> {
  const hostA = state.hosts[0]!;
  const hostB = state.hosts[1]!;
  const probe = state.containers.find((c) => c.host === hostA.name);
  if (!probe) throw new Error("the names bench needs a container on the lab's first host");
  const resolver = await nameserverOf(probe.netns);
  const querier = startQuerier(probe.netns, resolver);
  const api = createUnaryClient(WeftService, `unix:${hostB.apiSocket}`);
  const samples: number[] = [];
  try {
    await querier.next(10_000);
    for (let i = 0; i < count; i++) {
      const netns = `${state.prefix}-h2-c${300 + i}`;
      const name = `names${i}`;
      await run("ip", ["netns", "add", netns]);
      try {
        await run("ip", ["-n", netns, "link", "set", "lo", "up"]);
        const res = await api.attachEndpoint({ network: probe.network, netns, name, ifName: "eth0" });
        const attachedAt = performance.timeOrigin + performance.now();
        const fqdn = `${name}.${probe.network}`;
        querier.ask(fqdn);
        const line = await querier.next(6000);
        const ip = res.endpoint!.ip.split("/")[0]!;
        if (line.error !== undefined || line.at === undefined) throw new Error(`${fqdn} did not resolve from ${probe.netns} via ${resolver}: ${line.error}`);
        if (!line.ips?.includes(ip)) throw new Error(`${fqdn} resolved to ${line.ips?.join(" ")}, not ${ip}`);
        samples.push(line.at - attachedAt);
        await api.detachEndpoint({ endpoint: res.endpoint!.id });
      } finally {
        await run("ip", ["netns", "del", netns]).catch(() => undefined);
      }
    }
  } finally {
    api.close();
    querier.stop();
  }
  return samples;
}

/** The first nameserver of the container's resolv.conf (the lab writes it from the attach result). */
async function nameserverOf(netns: string): Promise<string> {
  const text = await readFile(`/etc/netns/${netns}/resolv.conf`, "utf8");
  const match = /^nameserver\s+(\S+)/m.exec(text);
  if (!match) throw new Error(`/etc/netns/${netns}/resolv.conf names no nameserver`);
  return match[1]!;
}

function startQuerier(netns: string, server: string) {
  const dnsPacketPath = createRequire(import.meta.url).resolve("dns-packet");
  const child: ChildProcess = spawn("ip", ["netns", "exec", netns, process.execPath, "-e", QUERIER, dnsPacketPath, server, "53"], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const lines: QuerierLine[] = [];
  let buffer = "";
  let errors = "";
  child.stderr!.on("data", (chunk: Buffer) => (errors += chunk.toString()));
  child.stdout!.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      lines.push(JSON.parse(buffer.slice(0, nl)) as QuerierLine);
      buffer = buffer.slice(nl + 1);
    }
  });
  return {
    ask(name: string): void {
      child.stdin!.write(`${name}\n`);
    },
    async next(timeoutMs: number): Promise<QuerierLine> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const line = lines.shift();
        if (line) return line;
        if (child.exitCode !== null) throw new Error(`the DNS querier in ${netns} exited: ${errors.trim()}`);
        if (Date.now() > deadline) throw new Error(`the DNS querier in ${netns} said nothing within ${timeoutMs} ms ${errors.trim()}`);
        await new Promise((r) => setTimeout(r, 1));
      }
    },
    stop(): void {
      child.kill();
    },
  };
}
