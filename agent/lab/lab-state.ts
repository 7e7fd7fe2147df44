// What a lab is made of, as recorded in <lab dir>/state.json. Written after every step of
// `lab up`, so `lab down` after a crash knows as much as was built (and finds the rest by name).
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { labDir, labStateFile } from "./lab-names.js";
import type { LabService } from "./lab-service.js";

export interface LabHost {
  /** h1 */
  name: string;
  /** <prefix>-h1 */
  netns: string;
  underlayIp: string;
  /** 0 while the agent is stopped. */
  agentPid: number;
  apiSocket: string;
  gossipAddr: string;
  metricsAddr: string;
  stateDir: string;
  logFile: string;
  /** Filled in by labStatus: whether agentPid is a live process right now. */
  agentRunning?: boolean;
}

export interface LabContainer {
  /** <prefix>-h1-c1 */
  name: string;
  /** h1 */
  host: string;
  netns: string;
  network: string;
  ip: string;
  mac: string;
  endpointId: string;
}

/** The lab's service `web` (lab-web.ts): its backends are containers of the lab's network. */
export interface LabWeb {
  service: string;
  network: string;
  /** Set once the service exists (vip mode). */
  vip?: string;
  published: number;
  target: number;
  backends: LabContainer[];
  /** The backends' HTTP servers. */
  serverPids: number[];
}

export interface LabState {
  prefix: string;
  etcd: { netns: string; endpoint: string; pid: number; dataDir: string };
  hosts: LabHost[];
  containers: LabContainer[];
  underlay: { netns: string; subnet: string; mtu?: number };
  network?: { name: string; subnet: string; vni: number };
  clusterKeyFile?: string;
  /** The outside: namespace, address, server PIDs. */
  world?: { netns: string; ip: string; httpPid: number; dnsPid: number };
  /** The second network, proving isolation, and its containers (one per host on up to two hosts). */
  isolatedNetwork?: { name: string; subnet: string; vni: number };
  isolated?: LabContainer[];
  /** The service `web` and its backends (lab-web.ts). */
  web?: LabWeb;
  /** Prometheus (`lab up --monitoring`, lab-prometheus.ts): where it answers and its PID. */
  prometheus?: { netns: string; url: string; pid: number; dataDir: string };
  /** `lab up --topology` (lab-topology.ts): h1's topology page on this machine's loopback, and its forwarder. */
  topology?: { url: string; host: string; pid: number };
  /** Filled in by labStatus from a running agent (never written to state.json): the cluster's services. */
  services?: LabService[];
}

export interface CheckResult {
  /** ping (default): across hosts; egress, name, isolation: see lab-world-checks.ts; mesh: lab-mesh-checks.ts. */
  kind?: "ping" | "egress" | "name" | "isolation" | "mesh";
  /** Container name (or `world`). */
  from: string;
  to: string;
  ok: boolean;
  detail?: string;
}

export async function writeLabState(state: LabState): Promise<void> {
  await mkdir(labDir(state.prefix), { recursive: true });
  const file = labStateFile(state.prefix);
  const hosts = state.hosts.map(({ agentRunning: _running, ...host }) => host);
  const { services: _services, ...recorded } = state;
  await writeFile(`${file}.tmp`, JSON.stringify({ ...recorded, hosts }, null, 2) + "\n");
  await rename(`${file}.tmp`, file);
}

/** The recorded state, or undefined when there is none or it is unreadable. */
export async function readLabState(prefix: string): Promise<LabState | undefined> {
  let text: string;
  try {
    text = await readFile(labStateFile(prefix), "utf8");
  } catch {
    return undefined;
  }
  try {
    const value = JSON.parse(text) as Partial<LabState>;
    if (value.prefix !== prefix || !Array.isArray(value.hosts) || !Array.isArray(value.containers) || !value.etcd) return undefined;
    return value as LabState;
  } catch {
    return undefined;
  }
}
