// One weftd per lab host, run inside the host's namespace and detached from the CLI.
import { create } from "@bufbuild/protobuf";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { createUnaryClient } from "../../proto/grpc-binding.js";
import { packageRoot } from "../package-root.js";
import { GetStatusRequestSchema, WeftService, type GetStatusResponse } from "../../proto/gen/weft/v1/api_pb.js";
import { isAlive, logTail, spawnDetached, stopProcess } from "./detached-process.js";
import { LabError } from "./lab-error.js";
import { labEtcdEndpoint } from "./lab-etcd.js";
import { GOSSIP_PORT, METRICS_PORT, hostName, hostNetns, hostUnderlayIp, labDir } from "./lab-names.js";
import type { LabHost } from "./lab-state.js";
import { labTopologyArgs } from "./lab-topology.js";

const REPO_ROOT = packageRoot();
// Always the bin shim, which runs dist/ when it is fresh and the sources otherwise.
const WEFTD_ENTRY = join(REPO_ROOT, "agent", "bin", "weftd.js");
/** The Node flags on weftd.js's own #! line, for starting it through process.execPath. */
export const WEFTD_NODE_FLAGS = ["--max-semi-space-size=2", "--optimize-for-size"];

/** The host record for host `index`, not yet running (agentPid 0). */
export function labHostPlan(prefix: string, index: number): LabHost {
  const dir = labDir(prefix);
  const name = hostName(index);
  const underlayIp = hostUnderlayIp(index);
  return {
    name,
    netns: hostNetns(prefix, index),
    underlayIp,
    agentPid: 0,
    apiSocket: `${dir}/${name}.sock`,
    gossipAddr: `${underlayIp}:${GOSSIP_PORT}`,
    metricsAddr: `${underlayIp}:${METRICS_PORT}`,
    stateDir: `${dir}/${name}-state`,
    logFile: `${dir}/${name}.log`,
  };
}

export function weftdArgs(host: LabHost, clusterKeyFile?: string): string[] {
  const args = [
    "--node-name", host.name,
    "--etcd-endpoints", labEtcdEndpoint(),
    "--underlay-ip", host.underlayIp,
    "--gossip-listen", host.gossipAddr,
    "--metrics-listen", host.metricsAddr,
    "--api-socket", host.apiSocket,
    "--state-dir", host.stateDir,
    // The world's resolver (lab-world.ts): weft's DNS forwards outside names there.
    "--dns-resolv-conf", `/etc/netns/${host.netns}/resolv.conf`,
    // The topology page, on this namespace's own loopback (lab-topology.ts).
    ...labTopologyArgs(),
  ];
  if (clusterKeyFile !== undefined) args.push("--cluster-key-file", clusterKeyFile);
  return args;
}

/** Starts the host's weftd; returns the host with its new PID. Does not wait for it to answer. */
export async function startLabAgent(host: LabHost, clusterKeyFile?: string): Promise<LabHost> {
  await mkdir(host.stateDir, { recursive: true });
  // The lab decides every setting by flag: a WEFT_* variable in the caller's environment must not leak in.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("WEFT_")));
  const agentPid = spawnDetached({
    netns: host.netns,
    command: process.execPath,
    args: [...WEFTD_NODE_FLAGS, WEFTD_ENTRY, ...weftdArgs(host, clusterKeyFile)],
    logFile: host.logFile,
    env,
    cwd: REPO_ROOT,
  });
  return { ...host, agentPid };
}

export async function stopLabAgent(host: LabHost, signal: "SIGTERM" | "SIGKILL"): Promise<LabHost> {
  if (host.agentPid > 0) await stopProcess(host.agentPid, signal, 10_000);
  return { ...host, agentPid: 0 };
}

export async function agentStatus(host: Pick<LabHost, "apiSocket">, deadlineMs = 2000): Promise<GetStatusResponse> {
  const client = createUnaryClient(WeftService, `unix:${host.apiSocket}`);
  try {
    return await client.getStatus(create(GetStatusRequestSchema, {}), { deadlineMs });
  } finally {
    client.close();
  }
}

/** Polls GetStatus until the agent answers and is connected to etcd; on timeout or exit fails with the tail of its log. */
export async function waitAgentReady(
  host: LabHost,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<GetStatusResponse> {
  const timeoutMs = options.timeoutMs ?? 45_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (options.signal?.aborted) throw new LabError(`agent ${host.name}`, "stopped waiting: another agent failed");
    if (!isAlive(host.agentPid)) {
      throw new LabError(`agent ${host.name}`, `weftd exited before its API answered; log tail (${host.logFile}):\n${await logTail(host.logFile)}`);
    }
    try {
      const status = await agentStatus(host);
      // Answering is not enough: creating the network right after needs the agent's etcd session.
      if (status.etcdConnected) return status;
      lastError = new Error("the agent answers but is not connected to etcd yet");
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const reason = lastError instanceof Error ? lastError.message : String(lastError);
  throw new LabError(
    `agent ${host.name}`,
    `API at ${host.apiSocket} did not answer within ${timeoutMs} ms (${reason}); log tail (${host.logFile}):\n${await logTail(host.logFile)}`,
  );
}

export function isAgentRunning(host: LabHost): boolean {
  return isAlive(host.agentPid);
}
