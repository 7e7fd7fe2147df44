// The lab's etcd: agent/etcd-server.ts run in the underlay namespace on 10.251.0.254, where the host
// namespaces reach it, detached so that it outlives `weft lab up` (`weft lab down` stops it by PID).
import { startEtcd } from "../etcd-server.js";
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

/** Starts etcd and waits until it reports healthy; on failure it is stopped and its log tail shown. */
export async function startLabEtcd(prefix: string, timeoutMs = 20_000): Promise<LabEtcd> {
  const netns = underlayNetns(prefix);
  try {
    const server = await startEtcd({
      name: "weft-lab-etcd",
      netns,
      host: UNDERLAY_GATEWAY_IP,
      clientPort: ETCD_CLIENT_PORT,
      peerPort: ETCD_PEER_PORT,
      dataDir: `${labDir(prefix)}/etcd`,
      detached: { logFile: `${labDir(prefix)}/etcd.log` },
      logLevel: "warn",
      startTimeoutMs: timeoutMs,
    });
    return { netns, endpoint: server.endpoint, pid: server.pid, dataDir: server.dataDir };
  } catch (err) {
    throw new LabError("etcd", err instanceof Error ? err.message : String(err), { cause: err });
  }
}
