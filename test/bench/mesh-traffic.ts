// The mesh on a live lab (3 hosts, a container on each): what a published port costs against going
// to the backend directly, how evenly it spreads, and how soon a dead node's backend stops getting
// new connections. Services are made through the API; backends are containers attached with
// labels, each running a name server (mesh-probes.ts).
//
//  - connections/s and TCP throughput: the container on h1 to h1's underlay address on the
//    published port (DNAT to the one backend, on h2, and masquerade: the client is a container),
//    against the same container to the backend's overlay address; back to back, the order
//    alternating between runs; the ratio is the median of per-run ratios.
//  - spread: 10,000 connections from the world to h1's published port over 4 backends (h1, h2, h3, h2).
//  - a backend's agent killed: h3's weftd SIGKILLed while the world keeps connecting through h1; the
//    time from the kill to the last answer from h3's backend.
import type { ChildProcess } from "node:child_process";
import { attachContainer, createLabService, labAgent, type LabContainer, type LabHost, type LabServicePort, type LabState } from "../../agent/lab/index.js";
import { iperf3, median } from "./throughput.js";
import { connectionRate, countNames, startNameServer } from "./mesh-probes.js";

export interface MeshTraffic {
  runs: number;
  seconds: number;
  publishedConnPerSec: number;
  directConnPerSec: number;
  /** Median over runs of published / direct connections per second. */
  connRateRatio: number;
  publishedGbps: number;
  directGbps: number;
  throughputRatio: number;
  spread: { connections: number; backends: number; counts: number[]; maxDeviationPercent: number };
  /** SIGKILL of h3's agent until the last connection its backend answered; undefined when it never answered after the kill. */
  agentKilledLastAnswerMs: number | undefined;
  /** How long the world kept connecting after the kill. */
  agentKilledWatchedMs: number;
}

const CONN_PORT = 7000;
const IPERF_PORT = 5201;
const SPREAD_PORT = 7001;
const SPREAD_CONNECTIONS = 10_000;
const KILL_WATCH_MS = 20_000;

export async function measureMeshTraffic(state: LabState, options: { runs: number; seconds: number; say: (line: string) => void }): Promise<MeshTraffic> {
  const [h1, h2, h3] = state.hosts;
  if (!h1 || !h2 || !h3 || !state.network || !state.world) throw new Error("the mesh bench needs a lab with 3 hosts, its network and its world");
  const client = state.containers.find((c) => c.host === h1.name);
  if (!client) throw new Error("the mesh bench needs a container on h1");
  const network = state.network.name;
  const servers: ChildProcess[] = [];
  try {
    // One backend, on h2: connections/s and throughput, published against direct.
    const remote = await attachContainer(h2, `${state.prefix}-h2-c90`, network, { bench: "remote" });
    servers.push(await startNameServer(remote.netns, CONN_PORT, remote.name));
    await createLabService(h1, { name: "benchremote", network, selector: { bench: "remote" }, ports: [tcpPort(CONN_PORT), tcpPort(IPERF_PORT)] });
    await waitAnswers(client.netns, h1.underlayIp, CONN_PORT, [remote.name]);
    options.say(`mesh: connections/s and TCP throughput, ${client.name} -> ${h1.name}:${CONN_PORT} (backend ${remote.name} on ${h2.name}) against ${client.name} -> ${remote.ip}, ${options.runs} runs of ${options.seconds} s`);
    const samples: Array<{ pubRate: number; dirRate: number; pubBps: number; dirBps: number }> = [];
    for (let i = 0; i < options.runs; i++) {
      const sample = { pubRate: 0, dirRate: 0, pubBps: 0, dirBps: 0 };
      for (const path of i % 2 === 0 ? (["published", "direct"] as const) : (["direct", "published"] as const)) {
        const ip = path === "published" ? h1.underlayIp : remote.ip;
        const rate = await connectionRate(client.netns, ip, CONN_PORT, options.seconds);
        const bps = await iperf3({ clientNetns: client.netns, serverNetns: remote.netns, serverIp: ip }, options.seconds);
        if (path === "published") Object.assign(sample, { pubRate: rate.perSec, pubBps: bps });
        else Object.assign(sample, { dirRate: rate.perSec, dirBps: bps });
      }
      samples.push(sample);
    }

    // Four backends on three hosts: spread, then one host's agent killed.
    const spreadHosts: LabHost[] = [h1, h2, h3, h2];
    const spreadBackends: LabContainer[] = [];
    for (const [i, host] of spreadHosts.entries()) {
      const backend = await attachContainer(host, `${host.netns}-c${91 + i}`, network, { bench: "spread" });
      spreadBackends.push(backend);
      servers.push(await startNameServer(backend.netns, SPREAD_PORT, backend.name));
    }
    await createLabService(h1, { name: "benchspread", network, selector: { bench: "spread" }, ports: [tcpPort(SPREAD_PORT)] });
    const names = spreadBackends.map((b) => b.name);
    await waitAnswers(state.world.netns, h1.underlayIp, SPREAD_PORT, names);
    options.say(`mesh: spread of ${SPREAD_CONNECTIONS} connections from the world to ${h1.name}:${SPREAD_PORT} over ${names.length} backends`);
    const spread = await countNames(state.world.netns, h1.underlayIp, SPREAD_PORT, { total: SPREAD_CONNECTIONS });
    const counts = names.map((n) => spread.counts[n] ?? 0);
    const quarter = SPREAD_CONNECTIONS / names.length;

    const victim = spreadBackends.find((b) => b.host === h3.name)!;
    options.say(`mesh: ${h3.name}'s agent killed while the world connects through ${h1.name}; when does ${victim.name} stop getting connections?`);
    const watchUntil = Date.now() + 2000 + KILL_WATCH_MS;
    const watching = countNames(state.world.netns, h1.underlayIp, SPREAD_PORT, { untilEpochMs: watchUntil, concurrency: 4 });
    await new Promise((r) => setTimeout(r, 2000));
    const killedAt = Date.now();
    await labAgent("kill", h3.name, { prefix: state.prefix });
    const watched = await watching;
    const lastAnswer = watched.last[victim.name];

    const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits;
    return {
      runs: options.runs,
      seconds: options.seconds,
      publishedConnPerSec: Math.round(median(samples.map((s) => s.pubRate))),
      directConnPerSec: Math.round(median(samples.map((s) => s.dirRate))),
      connRateRatio: round(median(samples.map((s) => s.pubRate / s.dirRate)), 3),
      publishedGbps: round(median(samples.map((s) => s.pubBps)) / 1e9, 2),
      directGbps: round(median(samples.map((s) => s.dirBps)) / 1e9, 2),
      throughputRatio: round(median(samples.map((s) => s.pubBps / s.dirBps)), 3),
      spread: {
        connections: SPREAD_CONNECTIONS,
        backends: names.length,
        counts,
        maxDeviationPercent: round(Math.max(...counts.map((c) => Math.abs(c - quarter) / quarter)) * 100, 1),
      },
      agentKilledLastAnswerMs: lastAnswer !== undefined && lastAnswer > killedAt ? lastAnswer - killedAt : undefined,
      agentKilledWatchedMs: watchUntil - killedAt,
    };
  } finally {
    for (const s of servers) s.kill("SIGKILL");
  }
}

function tcpPort(port: number): LabServicePort {
  return { protocol: "tcp", published: port, target: port, publishMode: "ingress" };
}

/** Connects until every one of `names` has answered (the services' rules and backends have converged). */
async function waitAnswers(netns: string, ip: string, port: number, names: readonly string[], timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const seen = new Set<string>();
  while (Date.now() < deadline) {
    const { counts } = await countNames(netns, ip, port, { total: 8 * names.length, concurrency: 4 });
    for (const name of Object.keys(counts)) seen.add(name);
    if (names.every((n) => seen.has(n))) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${ip}:${port} from ${netns}: ${names.filter((n) => !seen.has(n)).join(", ")} never answered within ${timeoutMs} ms`);
}
