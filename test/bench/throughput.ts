// TCP throughput across two lab hosts, three ways in the same run: container to container over
// weft's overlay (veth, bridge, VXLAN), host to host over bare VXLAN (a VXLAN device in each host
// namespace with an address on it: no bridge, no veth), and host to host over the underlay. The
// overlay's ratio to bare VXLAN is what weft's own path costs; its ratio to the underlay adds what
// VXLAN itself costs. Each run measures the three back to back (the order rotating between runs)
// and the ratios are the medians of the per-run ratios, so load that drifts between runs cancels.
//
// `npx tsx test/bench/throughput.ts [--runs N] [--seconds N]` brings up its own 2-host lab.
import { execFile, spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import { parseArgs, promisify } from "node:util";
import type { LabHost, LabState } from "../../agent/lab/index.js";

const run = promisify(execFile);

export interface Throughput {
  runs: number;
  seconds: number;
  overlayGbps: number;
  rawVxlanGbps: number;
  underlayGbps: number;
  /** Median over runs of overlay / raw VXLAN. */
  overlayToRawVxlan: number;
  /** Median over runs of overlay / underlay. */
  overlayToUnderlay: number;
  mtu: number;
}

type Path = "overlay" | "rawVxlan" | "underlay";
export interface Endpoints {
  clientNetns: string;
  serverNetns: string;
  serverIp: string;
}

const IPERF_PORT = 5201;

/** Installs iperf3 from Debian when it is missing, and says so (as `npm test` does for its tools). */
export async function ensureIperf3(say: (line: string) => void): Promise<void> {
  try {
    await run("sh", ["-c", "command -v iperf3"]);
    return;
  } catch {
    say("installing iperf3 with apt-get (the throughput rows measure with it)");
  }
  try {
    await run("sh", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 >/dev/null"], {
      timeout: 10 * 60_000,
    });
  } catch (err) {
    throw new Error(`could not install iperf3; install it with 'apt-get install -y iperf3' (${(err as Error).message})`);
  }
}

/**
 * Measures on a lab with at least two hosts and a container on each of the first two. Builds the
 * bare VXLAN pair itself (unique names, a VNI the lab does not use) and removes it, even on failure.
 */
export async function measureThroughput(state: LabState, options: { runs: number; seconds: number }): Promise<Throughput> {
  const [hostA, hostB] = state.hosts;
  if (!hostA || !hostB) throw new Error("the throughput bench needs two lab hosts");
  const client = state.containers.find((c) => c.host === hostA.name);
  const server = state.containers.find((c) => c.host === hostB.name);
  if (!client || !server) throw new Error(`the throughput bench needs a container on ${hostA.name} and on ${hostB.name}`);
  const mtu = await linkMtu(client.netns, "eth0");

  const pair = rawVxlanPair(state, hostA, hostB);
  try {
    await pair.create(mtu);
    const paths: Record<Path, Endpoints> = {
      overlay: { clientNetns: client.netns, serverNetns: server.netns, serverIp: server.ip },
      rawVxlan: { clientNetns: hostA.netns, serverNetns: hostB.netns, serverIp: pair.serverIp },
      underlay: { clientNetns: hostA.netns, serverNetns: hostB.netns, serverIp: hostB.underlayIp },
    };
    const order: Path[] = ["overlay", "rawVxlan", "underlay"];
    const samples: Array<Record<Path, number>> = [];
    for (let i = 0; i < options.runs; i++) {
      const sample = {} as Record<Path, number>;
      for (let k = 0; k < order.length; k++) {
        const path = order[(i + k) % order.length]!;
        sample[path] = await iperf3(paths[path], options.seconds);
      }
      samples.push(sample);
    }
    const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits;
    return {
      runs: options.runs,
      seconds: options.seconds,
      overlayGbps: round(median(samples.map((s) => s.overlay)) / 1e9, 2),
      rawVxlanGbps: round(median(samples.map((s) => s.rawVxlan)) / 1e9, 2),
      underlayGbps: round(median(samples.map((s) => s.underlay)) / 1e9, 2),
      overlayToRawVxlan: round(median(samples.map((s) => s.overlay / s.rawVxlan)), 3),
      overlayToUnderlay: round(median(samples.map((s) => s.overlay / s.underlay)), 3),
      mtu,
    };
  } finally {
    await pair.remove();
  }
}

/** A VXLAN device in each host namespace, addressed directly, pointing at each other over the underlay. */
function rawVxlanPair(state: LabState, hostA: LabHost, hostB: LabHost) {
  const tag = Math.random().toString(36).slice(2, 6);
  const device = `vxraw${tag}`; // not "weft...": the agents own those names and would remove it
  const drawn = randomInt(1_000_000, 16_000_000);
  const vni = drawn === state.network?.vni ? drawn + 1 : drawn;
  const subnet = `10.253.${randomInt(0, 256)}`;
  const ends = [
    { host: hostA, peer: hostB, ip: `${subnet}.1` },
    { host: hostB, peer: hostA, ip: `${subnet}.2` },
  ];
  return {
    serverIp: `${subnet}.2`,
    async create(mtu: number): Promise<void> {
      for (const { host, peer, ip } of ends) {
        const ns = ["-n", host.netns];
        await run("ip", [...ns, "link", "add", device, "type", "vxlan", "id", String(vni), "local", host.underlayIp, "remote", peer.underlayIp, "dstport", "4789", "nolearning"]);
        await run("ip", [...ns, "link", "set", device, "mtu", String(mtu), "up"]);
        await run("ip", [...ns, "addr", "add", `${ip}/24`, "dev", device]);
      }
    },
    async remove(): Promise<void> {
      for (const { host } of ends) await run("ip", ["-n", host.netns, "link", "del", device]).catch(() => undefined);
    },
  };
}

export async function linkMtu(netns: string, ifName: string): Promise<number> {
  const { stdout } = await run("ip", ["-n", netns, "-j", "link", "show", ifName]);
  const [link] = JSON.parse(stdout) as Array<{ mtu: number }>;
  if (!link) throw new Error(`no ${ifName} in ${netns}`);
  return link.mtu;
}

/** One iperf3 TCP test; returns what the receiver got, in bits/s (the first second omitted: slow start). */
export async function iperf3(endpoints: Endpoints, seconds: number): Promise<number> {
  const server = spawn("ip", ["netns", "exec", endpoints.serverNetns, "iperf3", "-s", "-1", "-p", String(IPERF_PORT)], {
    stdio: "ignore",
  });
  try {
    let exited = false;
    server.once("exit", () => (exited = true));
    // iperf3 block-buffers its output into a pipe, so readiness is the listening socket itself.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { stdout } = await run("ip", ["netns", "exec", endpoints.serverNetns, "ss", "-Hltn", `sport = :${IPERF_PORT}`]);
      if (stdout.trim() !== "") break;
      if (exited) throw new Error(`iperf3 server in ${endpoints.serverNetns} exited before listening`);
      if (Date.now() > deadline) throw new Error(`iperf3 server in ${endpoints.serverNetns} not listening after 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const { stdout } = await run(
      "ip",
      ["netns", "exec", endpoints.clientNetns, "iperf3", "-c", endpoints.serverIp, "-p", String(IPERF_PORT), "-t", String(seconds), "-O", "1", "-J"],
      { maxBuffer: 8 << 20, timeout: (seconds + 30) * 1000 },
    );
    const report = JSON.parse(stdout) as { end: { sum_received: { bits_per_second: number } } };
    return report.end.sum_received.bits_per_second;
  } finally {
    if (server.exitCode === null) server.kill();
  }
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const { labDown, labUp } = await import("../../agent/lab/index.js");
  const { values } = parseArgs({ options: { runs: { type: "string", default: "3" }, seconds: { type: "string", default: "5" } } });
  const say = (line: string): void => void process.stderr.write(`bench: ${line}\n`);
  await ensureIperf3(say);
  const prefix = `weftt${Math.random().toString(36).slice(2, 6)}`;
  say(`lab ${prefix}: 2 hosts, one container each`);
  try {
    const { state } = await labUp({ hosts: 2, containers: 1, prefix, log: () => undefined });
    const result = await measureThroughput(state, { runs: Number(values.runs), seconds: Number(values.seconds) });
    process.stdout.write(JSON.stringify(result) + "\n");
  } finally {
    await labDown({ prefix, log: () => undefined });
  }
}
