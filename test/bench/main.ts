// npm run bench [-- --json] [-- --attaches N] [-- --runs N] [-- --seconds N] [-- --no-scale]
// [-- --dns-rate N] [-- --only part,part]: measures, prints, and writes the figures into the README's
// performance table. Parts: flood, signatures, kernel, dns (weft's DNS against dnsmasq), lab (latencies
// and TCP throughput), names (attach to name resolvable on another host), egress (TCP through the
// gwbridge and NAT against the underlay), mesh (published ports against direct, spread, a dead node's
// backend, rule updates at 1,000 services), cni (weft-cni ADD/DEL round trips against bridge + host-local),
// scale. lab, names, egress and mesh's traffic share one
// 3-host lab (mesh last: it kills an agent). --only measures just those and leaves the README alone
// (a partial table would drop rows). Benchmarks are not tests: nothing here asserts a target.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { parseArgs } from "node:util";
import { labDown, labUp } from "../../agent/lab/index.js";
import { measureCniRoundTrips, type CniRoundTrips } from "./cni-rate.js";
import { measureDnsRate, type DnsRate } from "./dns-rate.js";
import { measureEgressThroughput, type EgressThroughput } from "./egress-throughput.js";
import { measureFloodStall, type FloodResult } from "./gossip-flood.js";
import { measureIproute2Rate } from "./iproute2-rate.js";
import { measureKernelRate } from "./kernel-rate.js";
import { measureLatencies } from "./latency.js";
import { MESH_RULE_BACKENDS, MESH_RULE_SERVICES, measureMeshRules, type MeshRules } from "./mesh-rules.js";
import { measureMeshTraffic, type MeshTraffic } from "./mesh-traffic.js";
import { measureNameLatencies } from "./name-latency.js";
import { writeReadmeTable, type AgentScale, type BenchFigures } from "./readme-table.js";
import { measureSignatureVerifyRate, type SignatureVerifyRate } from "./signature-verify-rate.js";
import { ensureIperf3, measureThroughput, type Throughput } from "./throughput.js";

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

const PARTS = ["flood", "signatures", "kernel", "dns", "lab", "names", "egress", "mesh", "cni", "scale"] as const;
type Part = (typeof PARTS)[number];

function wholeNumber(name: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number >= ${min}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: "boolean", default: false },
      attaches: { type: "string", default: "60" },
      runs: { type: "string", default: "3" },
      seconds: { type: "string", default: "5" },
      "dns-rate": { type: "string", default: "5000" },
      only: { type: "string" },
      "no-readme": { type: "boolean", default: false },
      "no-scale": { type: "boolean", default: false },
    },
  });
  const attaches = wholeNumber("attaches", values.attaches, 1);
  const runs = wholeNumber("runs", values.runs, 1);
  const seconds = wholeNumber("seconds", values.seconds, 1);
  const dnsRate = wholeNumber("dns-rate", values["dns-rate"], 1);
  const only = values.only?.split(",").map((part) => part.trim());
  for (const part of only ?? []) if (!PARTS.includes(part as Part)) throw new Error(`--only: unknown part ${part} (parts: ${PARTS.join(", ")})`);
  const wanted = (part: Part): boolean => (only ? only.includes(part) : part !== "scale" || !values["no-scale"]);
  const say = (line: string): void => void (values.json ? process.stderr : process.stdout).write(`bench: ${line}\n`);

  let flood: FloodResult | undefined;
  if (wanted("flood")) {
    say("a hostile gossip flood against one node: its longest event-loop stall (test/bench/gossip-flood.ts)");
    flood = await measureFloodStall();
  }

  let signatures: SignatureVerifyRate | undefined;
  if (wanted("signatures")) {
    say(`ed25519 verification rate: 50,000 checks on the event loop and in 1 and 2 worker threads, median of ${runs} runs`);
    signatures = await measureSignatureVerifyRate({ checks: 50_000, runs });
  }

  let kernel: BenchFigures["kernel"] | undefined;
  let iproute2: BenchFigures["iproute2"] | undefined;
  if (wanted("kernel")) {
    say(`kernel programming rate: 5,000 remote endpoints (FDB + neighbour each), median of ${runs} runs`);
    kernel = await measureKernelRate({ entries: 5000, runs });
    iproute2 = await measureIproute2Rate({ entries: 5000, runs });
  }

  let dns: DnsRate | undefined;
  if (wanted("dns")) {
    say(`embedded DNS: ${dnsRate} queries/s for ${seconds} s and a fixed window, against dnsmasq in the same run (test/bench/dns-rate.ts)`);
    dns = await measureDnsRate({ rate: dnsRate, seconds, say });
  }

  let latency: BenchFigures["latency"] | undefined;
  let throughput: Throughput | undefined;
  let names: BenchFigures["names"] | undefined;
  let egress: EgressThroughput | undefined;
  let meshTraffic: MeshTraffic | undefined;
  if (wanted("lab") || wanted("names") || wanted("egress") || wanted("mesh")) {
    if (wanted("lab") || wanted("egress") || wanted("mesh")) await ensureIperf3(say);
    const prefix = `weftb${Math.random().toString(36).slice(2, 6)}`;
    say(`lab ${prefix}: 3 hosts, one container each`);
    try {
      // Without the lab's own service web: the mesh part makes the services it measures.
      const { state, checks } = await labUp({ hosts: 3, containers: 1, prefix, web: false, log: () => undefined });
      const failed = checks.filter((c) => !c.ok);
      if (failed.length > 0) throw new Error(`lab checks failed: ${failed.map((c) => `${c.kind ?? "ping"} ${c.from}->${c.to}`).join(", ")}`);
      if (wanted("lab")) {
        say(`lab: ${attaches} attaches on h2, each checked from h1; then TCP throughput h1 -> h2, ${runs} runs of ${seconds} s per path`);
        const samples = await measureLatencies(state, attaches);
        latency = {
          attachToReachableP50Ms: round(percentile(samples.attachToReachableMs, 50)),
          attachToReachableP99Ms: round(percentile(samples.attachToReachableMs, 99)),
          joinToRemoteFdbP50Ms: round(percentile(samples.joinToRemoteFdbMs, 50)),
          joinToRemoteFdbP99Ms: round(percentile(samples.joinToRemoteFdbMs, 99)),
        };
        throughput = await measureThroughput(state, { runs, seconds });
      }
      if (wanted("names")) {
        say(`names: ${attaches} attaches on h2, each name resolved from a container on h1 through its resolver`);
        const samples = await measureNameLatencies(state, attaches);
        names = { attachToResolvableP50Ms: round(percentile(samples, 50)), attachToResolvableP99Ms: round(percentile(samples, 99)) };
      }
      if (wanted("egress")) {
        say(`egress: TCP container on h1 -> world through the gwbridge and NAT, against h1 -> world over the underlay, ${runs} runs of ${seconds} s per path`);
        egress = await measureEgressThroughput(state, { runs, seconds });
      }
      if (wanted("mesh")) meshTraffic = await measureMeshTraffic(state, { runs, seconds, say });
    } finally {
      await labDown({ prefix, log: () => undefined });
    }
  }

  let meshRules: MeshRules | undefined;
  if (wanted("mesh")) {
    say(`mesh rules: ${MESH_RULE_SERVICES} services x ${MESH_RULE_BACKENDS} backends in a scratch namespace: full apply, then one backend added, median of ${runs} runs`);
    meshRules = await measureMeshRules({ runs });
  }

  let cni: CniRoundTrips | undefined;
  if (wanted("cni")) {
    say(`cni: ${attaches} ADD/DEL round trips through weft-cni against a lab weftd, then through Debian's bridge + host-local; then ${Math.max(1, Math.floor(attaches / 4))} podman runs, each until reachable from another host (test/bench/cni-rate.ts)`);
    cni = await measureCniRoundTrips({ iterations: attaches, podmanRuns: Math.max(1, Math.floor(attaches / 4)), percentile });
  }

  let scale: (AgentScale & { runs: number }) | undefined;
  if (wanted("scale")) {
    say("one real agent holding 50,000 remote endpoints (test/bench/agent-scale.ts)");
    scale = await measureAgentScale(50_000, 3);
  }

  const result = {
    ...latency,
    ...(kernel ? { kernelEntriesPerSecAdd: Math.round(kernel.addPerSec), kernelEntriesPerSecDelete: Math.round(kernel.deletePerSec) } : {}),
    ...(throughput ? { throughput } : {}),
    ...(dns ? { dns } : {}),
    ...(names ? { names } : {}),
    ...(egress ? { egress } : {}),
    ...(meshTraffic || meshRules ? { mesh: { ...(meshTraffic ? { traffic: meshTraffic } : {}), ...(meshRules ? { rules: meshRules } : {}) } } : {}),
    ...(cni ? { cni } : {}),
    ...(signatures ? { signatures } : {}),
    ...(flood ? { floodMaxStallMs: flood.maxStallMs, floodP99StallMs: flood.p99StallMs, floodIdleMaxStallMs: flood.idleMaxStallMs } : {}),
    ...(scale
      ? { agentRssBytesAt50k: scale.agentRssBytes, agentPeakRssBytesAt50k: scale.agentPeakRssBytes, fullReconcileMsAt50k: scale.fullReconcileMs, programmed50kInMs: scale.programmedInMs }
      : {}),
  };
  process.stdout.write((values.json ? JSON.stringify(result) : JSON.stringify(result, null, 2)) + "\n");
  if (only === undefined && !values["no-readme"]) {
    if (!latency || !kernel || !iproute2 || !throughput || !signatures || !flood || !dns || !names || !egress || !meshTraffic || !meshRules || !cni) {
      throw new Error("a part is missing: the README table needs them all");
    }
    await writeReadmeTable({ attaches, runs, latency, kernel, iproute2, throughput, signatures, flood, dns, names, egress, mesh: { traffic: meshTraffic, rules: meshRules }, cni, scale });
    say("README.md performance table updated");
  }
}

/** Runs agent-scale.ts `runs` times (each a fresh lab); every figure is the median of its runs. */
async function measureAgentScale(endpoints: number, runs: number): Promise<AgentScale & { runs: number }> {
  const script = new URL("./agent-scale.ts", import.meta.url).pathname;
  const results: AgentScale[] = [];
  for (let i = 0; i < runs; i++) {
    const { stdout } = await promisify(execFile)("npx", ["tsx", script, "--endpoints", String(endpoints), "--json"], { maxBuffer: 1 << 20, timeout: 15 * 60_000 });
    results.push(JSON.parse(stdout.trim().split("\n").pop()!) as AgentScale);
  }
  const median = (pick: (r: AgentScale) => number): number => {
    const sorted = results.map(pick).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  };
  return {
    runs,
    heapAtRest: { heapUsedBytes: median((r) => r.heapAtRest.heapUsedBytes) },
    agentRssBytes: median((r) => r.agentRssBytes),
    agentPeakRssBytes: median((r) => r.agentPeakRssBytes),
    agentRssBeforeBytes: median((r) => r.agentRssBeforeBytes),
    fullReconcileMs: median((r) => r.fullReconcileMs),
    steadyReconcileMs: median((r) => r.steadyReconcileMs),
    programmedInMs: median((r) => r.programmedInMs),
    agentCpuMsWhileProgramming: median((r) => r.agentCpuMsWhileProgramming),
  };
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
