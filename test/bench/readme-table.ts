// The README's performance table, between <!-- bench:start --> and <!-- bench:end -->, rendered from
// one run of `npm run bench`. Nothing else in the README is touched.
import { readFile, writeFile } from "node:fs/promises";
import type { CniRoundTrips } from "./cni-rate.js";
import type { DnsRate } from "./dns-rate.js";
import type { EgressThroughput } from "./egress-throughput.js";
import type { FloodResult } from "./gossip-flood.js";
import type { MeshRules } from "./mesh-rules.js";
import type { MeshTraffic } from "./mesh-traffic.js";
import type { SignatureVerifyRate } from "./signature-verify-rate.js";
import type { Throughput } from "./throughput.js";

export interface AgentScale {
  heapAtRest: { heapUsedBytes: number };
  agentRssBytes: number;
  agentPeakRssBytes: number;
  agentRssBeforeBytes: number;
  fullReconcileMs: number;
  steadyReconcileMs: number;
  programmedInMs: number;
  agentCpuMsWhileProgramming: number;
}

export interface BenchFigures {
  attaches: number;
  runs: number;
  latency: { attachToReachableP50Ms: number; attachToReachableP99Ms: number; joinToRemoteFdbP50Ms: number; joinToRemoteFdbP99Ms: number };
  kernel: { addPerSec: number; deletePerSec: number };
  iproute2: { addPerSec: number; deletePerSec: number };
  throughput: Throughput;
  signatures: SignatureVerifyRate;
  flood: FloodResult;
  dns: DnsRate;
  names: { attachToResolvableP50Ms: number; attachToResolvableP99Ms: number };
  egress: EgressThroughput;
  mesh: { traffic: MeshTraffic; rules: MeshRules };
  cni: CniRoundTrips;
  scale: (AgentScale & { runs: number }) | undefined;
}

const START = "<!-- bench:start -->";
const END = "<!-- bench:end -->";

const mib = (bytes: number): number => Math.round(bytes / 2 ** 20);
const count = (n: number): string => Math.round(n).toLocaleString("en-US");

export function renderTable(f: BenchFigures, date: string): string {
  const t = f.throughput;
  const s = f.signatures;
  const d = f.dns;
  const e = f.egress;
  const m = f.mesh.traffic;
  const r = f.mesh.rules;
  const c = f.cni;
  return [
    START,
    `Measured by \`npm run bench\` on ${date} (2 cores, Debian 12, real kernel, hosts as network namespaces on one machine).`,
    "",
    "| figure | weft | target | how |",
    "| --- | ---: | ---: | --- |",
    `| attach-to-reachable p50 | ${f.latency.attachToReachableP50Ms} ms | | ${f.attaches} attaches on h2 of a 3-host lab; attach call's return until a container on h1 gets a ping reply (ping -i 1 ms, its own receive timestamp) |`,
    `| attach-to-reachable p99 | ${f.latency.attachToReachableP99Ms} ms | < 50 ms | same runs |`,
    `| join-to-remote-FDB p50 | ${f.latency.joinToRemoteFdbP50Ms} ms | < 10 ms | new veth's netlink event on h2 until the FDB event for its MAC on h1 (ip/bridge monitor timestamps) |`,
    `| join-to-remote-FDB p99 | ${f.latency.joinToRemoteFdbP99Ms} ms | < 30 ms | same runs; Docker Swarm measured the same way: ~100 ms median, up to ~290 ms (200 ms gossip tick) |`,
    `| attach-to-name-resolvable p50 | ${f.names.attachToResolvableP50Ms} ms | | ${f.attaches} attaches on h2 of the same lab; attach call's return until NAME.NETWORK resolves (A record with the new address) from a container on h1 through its own resolver (its gateway, port 53: weft's DNS on h1, fed by gossip), queried every 1 ms over UDP from inside the container |`,
    `| attach-to-name-resolvable p99 | ${f.names.attachToResolvableP99Ms} ms | < 50 ms | same runs |`,
    `| egress TCP throughput, container -> world / host -> world | ${e.egressToUnderlay.toFixed(3)} (${e.egressGbps} vs ${e.underlayGbps} Gbit/s) | | iperf3, one TCP stream, ${e.seconds} s after a 1 s warm-up, to the lab's world namespace on the underlay: from a container on h1 through its egress leg (${e.egressInterface}, MTU ${e.egressMtu}), the gwbridge and the masquerade, against h1's own namespace over the underlay, back to back; median of ${e.runs} per-run ratios |`,
    `| new TCP connections/s, published port to a remote backend / direct | ${m.connRateRatio.toFixed(3)} (${count(m.publishedConnPerSec)} vs ${count(m.directConnPerSec)}/s) | >= 0.90 | a container on h1 opens connection after connection (16 at a time, each answered and closed by the server) for ${m.seconds} s: to h1's underlay address on the published port (DNAT to the one backend, on h2, masquerade, VXLAN) against the backend's overlay address (VXLAN); back to back, median of ${m.runs} per-run ratios |`,
    `| TCP throughput, published port to a remote backend / direct | ${m.throughputRatio.toFixed(3)} (${m.publishedGbps} vs ${m.directGbps} Gbit/s) | >= 0.90 | iperf3, one TCP stream, ${m.seconds} s after a 1 s warm-up, the same client, backend and paths; median of ${m.runs} per-run ratios |`,
    `| spread of ${count(m.spread.connections)} connections over ${m.spread.backends} backends | worst ${m.spread.maxDeviationPercent}% off a ${m.spread.backends === 4 ? "quarter" : "fair share"} (${m.spread.counts.map(count).join(" / ")}) | each within 5% | from the world to h1's published port, each a new connection; backends on h1, h2, h3 and h2; Maglev table of ${count(r.tableSize)} slots, jhash over source address and port |`,
    `| a backend's agent killed -> no new connection to it | ${m.agentKilledLastAnswerMs === undefined ? "none after the kill" : `${(m.agentKilledLastAnswerMs / 1000).toFixed(1)} s`} | < 15 s | h3's weftd SIGKILLed while the world keeps connecting through h1 (4 at a time); time from the kill to the last connection h3's backend answered, watched for ${(m.agentKilledWatchedMs / 1000).toFixed(0)} s |`,
    `| mesh rules, full apply at ${count(r.services)} services x ${r.backendsPerService} backends | ${r.fullApplyMs} ms | | the rendered table (weft's firewall plus the mesh) written by one \`nft -f\` from a process in a scratch namespace, the firewall shell's own write time; median of ${r.runs} runs |`,
    `| mesh rules, one backend added to one service | ${r.oneBackendAddedMs} ms | < 20 ms | the incremental update of the same table (the slot map elements of one service that moved, as weftd writes them: ${r.kinds[1] ?? "incremental"}, one nf_tables netlink batch); median of ${r.runs} runs; kube-proxy's nftables mode: ~141 ms to add one service at 10,000 |`,
    `| CNI ADD round trip p50 / p99 | ${c.weft.addP50Ms} / ${c.weft.addP99Ms} ms | | ${c.iterations} ADDs, each followed by its DEL, through the installed weft-cni (the C forwarder) to a 1-host lab's weftd (veth, address, endpoint published), exec'd with the spec's env and stdin via \`nsenter --net\` into the host's namespace; Debian's \`bridge\` + \`host-local\` doing a single-host ADD the same way in the same run: ${c.bridge.addP50Ms} / ${c.bridge.addP99Ms} ms |`,
    `| CNI DEL round trip p50 / p99 | ${c.weft.delP50Ms} / ${c.weft.delP99Ms} ms | | same runs; \`bridge\` + \`host-local\`: ${c.bridge.delP50Ms} / ${c.bridge.delP99Ms} ms |`,
    ...(c.podman
      ? [`| \`podman run\` -> reachable from another host p50 / p99 | ${c.podman.runToReachableP50Ms} / ${c.podman.runToReachableP99Ms} ms | | ${c.podman.runs} runs of \`podman run -d --network <weft network>\` (Debian's podman 4.3, CNI backend, runc) in h1's namespace of a 2-host lab, from the call until a lab container on h2 gets a ping reply from the new container's address (a ping every ~50 ms); each container removed before the next |`]
      : []),
    `| DNS p99 at ${count(d.weft.steady.ratePerSec)} queries/s | ${d.weft.isolated.p99Ms} ms isolated (p50 ${d.weft.isolated.p50Ms} ms); ${d.weft.steady.p99Ms} ms sharing the machine | < 1 ms | one agent's DnsServer in a process of its own (weftd's Node flags) on loopback, ${d.endpoints} names, A queries from ${d.client} (C) at a steady rate for ${d.weft.steady.seconds} s, each query's latency as dnsperf saw it; "isolated": the server and dnsperf under SCHED_FIFO, so other jobs on the machine do not set the figure; median of ${d.rounds} rounds, the two servers in turn (isolated p99 per round ${d.weft.rounds.isolatedP99Ms.join(" / ")} ms; sharing ${d.weft.rounds.p99Ms.join(" / ")} ms; ${count(d.weft.isolated.answered + d.weft.steady.answered)} of ${count(d.weft.isolated.sent + d.weft.steady.sent)} answered); ${d.dnsmasq.version.replace(/\s+Copyright.*$/, "")} from its hosts file, same load, same rounds: isolated p99 ${d.dnsmasq.isolated.p99Ms} ms (p50 ${d.dnsmasq.isolated.p50Ms} ms), sharing ${d.dnsmasq.steady.p99Ms} ms |`,
    `| DNS answers/s | ${count(d.weft.maxAnswersPerSec)} (dnsmasq ${count(d.dnsmasq.maxAnswersPerSec)}, weft ${(d.weft.maxAnswersPerSec / d.dnsmasq.maxAnswersPerSec).toFixed(2)}x); CPU per answer ${d.weft.cpuUsPerAnswer} us (dnsmasq ${d.dnsmasq.cpuUsPerAnswer} us) | >= dnsmasq | the same servers, dnsperf keeping ${d.window} queries outstanding for ${d.weft.steady.seconds} s at normal priority; the server's CPU time (all threads, /proc) over its answers in that run; medians of the same ${d.rounds} rounds (weft per round ${d.weft.rounds.answersPerSec.map(count).join(" / ")}/s; dnsmasq ${d.dnsmasq.rounds.answersPerSec.map(count).join(" / ")}/s) |`,
    `| kernel programming, add | ${count(f.kernel.addPerSec)} entries/s | >= 500,000 | 5,000 remote endpoints = 10,000 FDB + neighbour entries, batched rtnetlink, median of ${f.runs} runs; \`bridge -batch\` + \`ip -batch\` on the same kernel in the same run: ${count(f.iproute2.addPerSec)}/s (weft ${(f.kernel.addPerSec / f.iproute2.addPerSec).toFixed(1)}x as fast) |`,
    `| kernel programming, delete | ${count(f.kernel.deletePerSec)} entries/s | >= 500,000 | same; iproute2 batch: ${count(f.iproute2.deletePerSec)}/s (weft ${(f.kernel.deletePerSec / f.iproute2.deletePerSec).toFixed(1)}x as fast) |`,
    `| TCP throughput, overlay / bare VXLAN | ${t.overlayToRawVxlan.toFixed(3)} (${t.overlayGbps} vs ${t.rawVxlanGbps} Gbit/s) | >= 0.97 | iperf3, one TCP stream, ${t.seconds} s after a 1 s warm-up: container on h1 to container on h2 (veth, bridge, VXLAN) against a VXLAN device in each host namespace addressed directly (no bridge, no veth), same MTU ${t.mtu}, same underlay, measured back to back; median of ${t.runs} per-run ratios |`,
    `| TCP throughput, overlay / underlay | ${t.overlayToUnderlay.toFixed(3)} (${t.overlayGbps} vs ${t.underlayGbps} Gbit/s) | | the same runs against host namespace to host namespace over the underlay (MTU 1500): what VXLAN itself costs, plus weft's path |`,
    `| ed25519 verifications/s | ${count(s.twoWorkersPerSec)} (2 worker threads) | | ${count(s.checks)} gossip-sized entries from 50 owners in one batch, median of ${s.runs} runs: on the event loop ${count(s.inProcessPerSec)}/s, 1 worker thread ${count(s.oneWorkerPerSec)}/s, 2 worker threads ${count(s.twoWorkersPerSec)}/s (workerSignatureVerifier) |`,
    `| longest event-loop stall under a hostile flood | ${f.flood.maxStallMs} ms (p99 ${f.flood.p99StallMs} ms) | < 50 ms | one real gossip node on the real gRPC transport flooded for ${(f.flood.durationMs / 1000).toFixed(0)} s from another process (${count(f.flood.framesSent)} frames: oversized and forged-entry frames from a compromised member, replays, unknown senders, random bytes); monitorEventLoopDelay maximum; the same node unflooded just before: ${f.flood.idleMaxStallMs} ms; load average ${f.flood.loadAverage.toFixed(1)} |`,
    ...(f.scale
      ? [
          `| agent RSS holding 50,000 remote endpoints | ${mib(f.scale.agentRssBytes)} MiB (peak ${mib(f.scale.agentPeakRssBytes)} MiB; ${mib(f.scale.agentRssBeforeBytes)} MiB before; JS heap in use ${mib(f.scale.heapAtRest.heapUsedBytes)} MiB) | < 150 MiB | one weftd in a lab host; a synthetic etcd-registered peer gossips 50,000 endpoints to it; VmRSS 3 s after the last FDB entry appeared; peak = VmHWM over the burst and both reconciles below; medians of ${f.scale.runs} runs |`,
          `| full reconcile at 50,000 remote endpoints | ${f.scale.fullReconcileMs} ms | < 1 s | the VXLAN device deleted under the agent; the full reconcile that follows lists and diffs everything and re-adds all 100,000 FDB + neighbour entries (weft_reconcile_duration_seconds{kind="full"}) |`,
          `| one gossip change at 50,000 remote endpoints | ${f.scale.steadyReconcileMs} ms | | one more endpoint published: its FDB + neighbour entry applied without listing the kernel ({kind="incremental"}) |`,
          `| 50,000 remote endpoints programmed | ${(f.scale.programmedInMs / 1000).toFixed(1)} s | < 3 s | from the peer's first publish until the last FDB entry is in the kernel (${(f.scale.agentCpuMsWhileProgramming / 1000).toFixed(1)} s of agent CPU); each entry's signature is verified (see the ed25519 row) |`,
        ]
      : []),
    END,
  ].join("\n");
}

export async function writeReadmeTable(figures: BenchFigures): Promise<void> {
  const path = new URL("../../README.md", import.meta.url);
  const readme = await readFile(path, "utf8");
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md has no ${START} ... ${END} block`);
  const table = renderTable(figures, new Date().toISOString().slice(0, 10));
  await writeFile(path, readme.slice(0, a) + table + readme.slice(b + END.length));
}
