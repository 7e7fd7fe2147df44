// One real weftd holding 50,000 remote endpoints: how long until its kernel has them all, how much
// memory the agent needs for them, and how long one full reconcile takes at that size.
//
//   npx tsx test/bench/agent-scale.ts [--endpoints 50000] [--json]
//
// Method:
// - A 1-host lab (real etcd, real weftd in namespace <prefix>-h1). A network `scale` (10.64.0.0/12,
//   slices /14 = 262,144 addresses each, VNI 100) with one local container on h1, so h1 programs it.
// - A synthetic peer (test/helpers/gossip-peer.ts) in a namespace of our own (<prefix>-gp, veth into
//   the underlay bridge, 10.251.0.200): registered in the lab's etcd with its own ed25519 key, it
//   claims a /14 slice of `scale`, runs a real GossipNode over the real gRPC transport, and once h1
//   lists it as a peer publishes N endpoints (each signed, VTEP 10.251.0.200), pushed to h1 in
//   messages of 2,000 entries.
// - programmedInMs: from the publish command until h1's kernel holds N VXLAN FDB entries (polled
//   every 250 ms with `bridge fdb show dev weft-vx100`, counting entries with a dst).
// - agentRssBytes: the agent's VmRSS 3 s after everything is programmed; agentPeakRssBytes: its
//   VmHWM at the very end (burst and both reconcile measurements); agentRssBeforeBytes: the same
//   agent with one local endpoint, before the burst.
// - steadyReconcileMs: one more endpoint published, so the agent applies that one change
//   (weft_reconcile_duration_seconds{kind="incremental"} sum/count deltas).
// - fullReconcileMs: weft-vx100 deleted in h1, then one more endpoint published: the incremental run
//   fails for want of the device, and the full reconcile that follows lists and diffs everything,
//   recreates the device and re-adds all N FDB + N neighbour entries (the {kind="full"} series).
// Everything (peer, its namespace, the lab) is removed in `finally`. A benchmark: nothing is asserted.
import { create } from "@bufbuild/protobuf";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { parseArgs, promisify } from "node:util";
import { createUnaryClient } from "../../proto/grpc-binding.js";
import { AttachEndpointRequestSchema, CreateNetworkRequestSchema, ListPeersRequestSchema, WeftService } from "../../proto/gen/weft/v1/api_pb.js";
import { labDown, labUp, type LabHost } from "../../agent/lab/index.js";
import {
  createPeerNamespace,
  deletePeerNamespace,
  fetchTextInNetns,
  metricValue,
  startGossipPeer,
  type GossipPeerProcess,
} from "../helpers/gossip-peer.js";
import { uniqueLabPrefix } from "../helpers/lab.js";

const run = promisify(execFile);
const NETWORK = { name: "scale", subnet: "10.64.0.0/12", hostPrefixLen: 14, vni: 100 };
const DEVICE = `weft-vx${NETWORK.vni}`;
const PEER_IP = "10.251.0.200";
const PEER_NODE = "weftsynth";
const PROGRAM_TIMEOUT_MS = 5 * 60_000;

interface ScaleResult {
  remoteEndpoints: number;
  programmedInMs: number;
  agentRssBytes: number;
  agentPeakRssBytes: number;
  agentRssBeforeBytes: number;
  agentCpuMsWhileProgramming: number;
  steadyReconcileMs: number;
  fullReconcileMs: number;
  fullReconcileRuns: number;
  peerPublishMs: number;
  gossipRejected: number;
  /** From the agent's own /metrics when agentRssBytes is read: JS heap in use vs what V8 holds. */
  heapAtRest: { heapUsedBytes: number; heapTotalBytes: number; externalBytes: number; newSpaceBytes: number; oldSpaceUsedBytes: number };
  /** The same after the reconcile measurements. */
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
}

async function vxlanFdbCount(netns: string): Promise<number> {
  try {
    const { stdout } = await run("ip", ["netns", "exec", netns, "bridge", "fdb", "show", "dev", DEVICE], { maxBuffer: 256 << 20 });
    let count = 0;
    for (const line of stdout.split("\n")) if (line.includes(" dst ")) count += 1;
    return count;
  } catch {
    return 0; // no device (yet)
  }
}

async function waitFdbCount(netns: string, atLeast: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const count = await vxlanFdbCount(netns);
    if (count >= atLeast) return Date.now();
    if (Date.now() > deadline) throw new Error(`${netns} holds ${count} of ${atLeast} FDB entries after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function procStatus(pid: number, field: string): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, "utf8");
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
  return match ? Number(match[1]) * 1024 : NaN;
}

/** utime + stime of a process, in ms. */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
}

type ReconcileKind = "full" | "incremental";

async function reconcileTotals(h1: LabHost, kind: ReconcileKind): Promise<{ sum: number; count: number; text: string }> {
  const text = await fetchTextInNetns(h1.netns, `http://${h1.metricsAddr}/metrics`);
  return {
    sum: metricValue(text, "weft_reconcile_duration_seconds_sum", { kind }),
    count: metricValue(text, "weft_reconcile_duration_seconds_count", { kind }),
    text,
  };
}

/** Runs `trigger`, waits for the kernel to reach `fdbTarget`, and returns the mean reconcile time in between. */
async function measureReconcile(h1: LabHost, kind: ReconcileKind, fdbTarget: number, trigger: () => Promise<void>): Promise<{ ms: number; runs: number }> {
  const before = await reconcileTotals(h1, kind);
  await trigger();
  await waitFdbCount(h1.netns, fdbTarget, 120_000);
  // The reconcile that reached the target has recorded its duration once its apply returned.
  const deadline = Date.now() + 10_000;
  let after = await reconcileTotals(h1, kind);
  while (after.count === before.count && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    after = await reconcileTotals(h1, kind);
  }
  const runs = after.count - before.count;
  return { ms: runs > 0 ? ((after.sum - before.sum) * 1000) / runs : NaN, runs };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { endpoints: { type: "string", default: "50000" }, json: { type: "boolean", default: false } } });
  const endpoints = Number(values.endpoints);
  if (!Number.isInteger(endpoints) || endpoints < 1 || endpoints > 250_000) throw new Error("--endpoints must be a whole number from 1 to 250000");
  const say = (line: string): void => void process.stderr.write(`agent-scale: ${line}\n`);
  const prefix = uniqueLabPrefix();
  let peer: GossipPeerProcess | undefined;
  let peerNetns: string | undefined;
  const cleanUp = async (): Promise<void> => {
    await peer?.stop().catch(() => undefined);
    if (peerNetns !== undefined) await deletePeerNamespace(peerNetns);
    await labDown({ prefix, log: () => undefined });
  };
  // Ctrl-C still removes the lab and the peer's namespace.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
  }
  try {
    say(`lab ${prefix}: 1 host, network ${NETWORK.name} ${NETWORK.subnet} (/${NETWORK.hostPrefixLen} slices), one local container`);
    const { state } = await labUp({ hosts: 1, containers: 0, prefix, log: () => undefined });
    const h1 = state.hosts[0]!;
    const api = createUnaryClient(WeftService, `unix:${h1.apiSocket}`);
    try {
      await api.createNetwork(create(CreateNetworkRequestSchema, NETWORK), { deadlineMs: 15_000 });
      // `<prefix>-h1-c1` is a lab container name: `lab down` removes it with the rest.
      const container = `${prefix}-h1-c1`;
      await run("ip", ["netns", "add", container]);
      await run("ip", ["-n", container, "link", "set", "lo", "up"]);
      await api.attachEndpoint(create(AttachEndpointRequestSchema, { network: NETWORK.name, netns: container, name: container }), { deadlineMs: 15_000 });

      peerNetns = await createPeerNamespace(prefix, PEER_IP);
      say(`synthetic peer ${PEER_NODE} at ${PEER_IP} registering in etcd`);
      peer = await startGossipPeer(peerNetns, {
        etcd: state.etcd.endpoint,
        node: PEER_NODE,
        gossipListen: `${PEER_IP}:7946`,
        vtep: PEER_IP,
        network: NETWORK.name,
        endpoints: 0,
      });
      const deadline = Date.now() + 20_000;
      while (!(await api.listPeers(create(ListPeersRequestSchema, {}), { deadlineMs: 5000 })).peers.some((p) => p.name === PEER_NODE)) {
        if (Date.now() > deadline) throw new Error(`${h1.name} did not list ${PEER_NODE} as a peer within 20 s`);
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      api.close();
    }

    say(`publishing ${endpoints} endpoints from ${PEER_NODE} (slice ${peer.ready.slice})`);
    const agentRssBeforeBytes = await procStatus(h1.agentPid, "VmRSS");
    const cpuBefore = await cpuMs(h1.agentPid);
    const t0 = Date.now();
    await peer.publish(endpoints);
    const peerPublishMs = Date.now() - t0;
    const programmedAt = await waitFdbCount(h1.netns, endpoints, PROGRAM_TIMEOUT_MS);
    const programmedInMs = programmedAt - t0;
    const agentCpuMsWhileProgramming = (await cpuMs(h1.agentPid)) - cpuBefore;
    say(`${endpoints} FDB entries in ${h1.netns} after ${programmedInMs} ms`);
    // Let the burst's garbage be collected before reading the resident size.
    await new Promise((r) => setTimeout(r, 3000));
    const agentRssBytes = await procStatus(h1.agentPid, "VmRSS");
    const atRest = (await reconcileTotals(h1, "full")).text;
    const heapAtRest = {
      heapUsedBytes: metricValue(atRest, "weft_nodejs_heap_size_used_bytes"),
      heapTotalBytes: metricValue(atRest, "weft_nodejs_heap_size_total_bytes"),
      externalBytes: metricValue(atRest, "weft_nodejs_external_memory_bytes"),
      newSpaceBytes: metricValue(atRest, "weft_nodejs_heap_space_size_total_bytes", { space: "new" }),
      oldSpaceUsedBytes: metricValue(atRest, "weft_nodejs_heap_space_size_used_bytes", { space: "old" }),
    };

    say("steady reconcile: one more endpoint");
    const steady = await measureReconcile(h1, "incremental", endpoints + 1, () => peer!.publish(1));
    say(`full reconcile: ${DEVICE} deleted, then one more endpoint`);
    const full = await measureReconcile(h1, "full", endpoints + 2, async () => {
      await run("ip", ["-n", h1.netns, "link", "del", DEVICE]);
      await peer!.publish(1);
    });
    const { text } = await reconcileTotals(h1, "full");
    // The peak over the burst and both reconcile measurements (the full one lists 100,000 kernel entries).
    const agentPeakRssBytes = await procStatus(h1.agentPid, "VmHWM");
    const metric = (name: string): number => {
      const line = text.split("\n").find((l) => l.startsWith(`${name} `));
      return line === undefined ? NaN : Number(line.slice(name.length + 1));
    };
    const gossipRejected = text
      .split("\n")
      .filter((line) => line.startsWith("weft_gossip_rejected_total{"))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);

    const result: ScaleResult = {
      remoteEndpoints: endpoints,
      programmedInMs,
      agentRssBytes,
      agentPeakRssBytes,
      agentRssBeforeBytes,
      agentCpuMsWhileProgramming: Math.round(agentCpuMsWhileProgramming),
      steadyReconcileMs: Math.round(steady.ms * 10) / 10,
      fullReconcileMs: Math.round(full.ms * 10) / 10,
      fullReconcileRuns: full.runs,
      peerPublishMs,
      gossipRejected,
      heapAtRest,
      heapUsedBytes: metric("weft_nodejs_heap_size_used_bytes"),
      heapTotalBytes: metric("weft_nodejs_heap_size_total_bytes"),
      externalBytes: metric("weft_nodejs_external_memory_bytes"),
    };
    process.stdout.write(JSON.stringify(result, null, values.json ? undefined : 2) + "\n");
  } finally {
    await cleanUp();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`agent-scale: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
