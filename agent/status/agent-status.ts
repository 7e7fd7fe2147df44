// What `weft status` shows about this agent. Pure.
import type { PeerStatus } from "../../controlplane/gossip/index.js";

export interface AgentStatus {
  node: string;
  version: string;
  underlayIp: string;
  gossipAddr: string;
  etcdConnected: boolean;
  networks: number;
  localEndpoints: number;
  remoteEndpoints: number;
  peersAlive: number;
  peersTotal: number;
  lastReconcileMs: number;
  uptimeMs: number;
}

/** What the status is computed from: the agent's own figures as they are, plus what is counted. */
export type StatusInput = Pick<AgentStatus, "node" | "version" | "underlayIp" | "gossipAddr" | "etcdConnected" | "networks" | "localEndpoints" | "lastReconcileMs"> & {
  /** Live gossip entries of every owner, own included. */
  liveEntries: ReadonlyArray<{ owner: string }>;
  peers: readonly PeerStatus[];
  startedAtMs: number;
  nowMs: number;
};

export function agentStatus(input: StatusInput): AgentStatus {
  return {
    node: input.node,
    version: input.version,
    underlayIp: input.underlayIp,
    gossipAddr: input.gossipAddr,
    etcdConnected: input.etcdConnected,
    networks: input.networks,
    localEndpoints: input.localEndpoints,
    remoteEndpoints: input.liveEntries.filter((e) => e.owner !== input.node).length,
    peersAlive: input.peers.filter((p) => p.state === "alive").length,
    peersTotal: input.peers.length,
    lastReconcileMs: input.lastReconcileMs,
    uptimeMs: input.nowMs - input.startedAtMs,
  };
}
