// The lab's etcd: Debian's etcd in the underlay namespace on 10.251.0.254, where the host namespaces
// reach it, detached so it outlives `weft lab up`. (agent/etcd-server.ts ties etcd to the lifetime
// of the process that started it, which suits tests but not a lab.)
import { requireCommand } from "../host-dependencies.js";
import { runCommand } from "./command-runner.js";
import { logTail, spawnDetached, stopProcess } from "./detached-process.js";
import { LabError } from "./lab-error.js";
import { ETCD_CLIENT_PORT, ETCD_PEER_PORT, UNDERLAY_GATEWAY_IP, labDir, underlayNetns } from "./lab-names.js";

export interface LabEtcd {
  netns: string;
  endpoint: string;
  pid: number;
  dataDir: string;
}

export function labEtcdEndpoint(): string {
  return `http://${UNDERLAY_GATEWAY_IP}:${ETCD_CLIENT_PORT}`;
}

export function labEtcdArgs(dataDir: string): string[] {
  const clientUrl = labEtcdEndpoint();
  const peerUrl = `http://${UNDERLAY_GATEWAY_IP}:${ETCD_PEER_PORT}`;
  return [
    "--name=weft-lab-etcd",
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=weft-lab-etcd=${peerUrl}`,
    "--initial-cluster-state=new",
    "--log-level=warn",
    "--logger=zap",
  ];
}

/** Starts etcd and waits until it reports healthy; on failure stops it and shows its log tail. */
export async function startLabEtcd(prefix: string, timeoutMs = 20_000): Promise<LabEtcd> {
  requireCommand("etcd", "etcd-server");
  requireCommand("etcdctl", "etcd-client");
  const netns = underlayNetns(prefix);
  const dataDir = `${labDir(prefix)}/etcd`;
  const logFile = `${labDir(prefix)}/etcd.log`;
  const pid = spawnDetached({ netns, command: "etcd", args: labEtcdArgs(dataDir), logFile });
  const etcd: LabEtcd = { netns, endpoint: labEtcdEndpoint(), pid, dataDir };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await etcdHealthy(etcd)) return etcd;
    await new Promise((r) => setTimeout(r, 200));
  }
  await stopProcess(pid, "SIGTERM");
  throw new LabError("etcd", `not healthy at ${etcd.endpoint} within ${timeoutMs} ms; log tail:\n${await logTail(logFile)}`);
}

export async function etcdHealthy(etcd: Pick<LabEtcd, "netns" | "endpoint">): Promise<boolean> {
  try {
    await runCommand(
      "ip",
      ["netns", "exec", etcd.netns, "etcdctl", `--endpoints=${etcd.endpoint}`, "--dial-timeout=1s", "--command-timeout=2s", "endpoint", "health"],
      { timeoutMs: 5000 },
    );
    return true;
  } catch {
    return false;
  }
}
