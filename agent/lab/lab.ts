// `weft lab up|down|status|check|agent`: a real multi-host cluster on one Linux machine, in network
// namespaces, with a real etcd and real weftd processes.
import { create } from "@bufbuild/protobuf";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { createUnaryClient } from "../../proto/grpc-binding.js";
import { CreateNetworkRequestSchema, ListEndpointsRequestSchema, WeftService } from "../../proto/gen/weft/v1/api_pb.js";
import { installMissing } from "../host-dependencies.js";
import { commandLineOf, isAlive, pidsWithCommandLine, stopProcess } from "./detached-process.js";
import { LabError } from "./lab-error.js";
import { labHostPlan, startLabAgent, stopLabAgent, waitAgentReady } from "./lab-agent-process.js";
import { runPingChecks } from "./lab-checks.js";
import { attachContainer, withHostApi } from "./lab-containers.js";
import { meshTargets, runMeshChecks } from "./lab-mesh-checks.js";
import { listLabServices } from "./lab-services.js";
import { WEB_PUBLISHED_PORT, WEB_SERVICE, createLabWeb, webBackendHosts } from "./lab-web.js";
import { runEgressChecks, runIsolationChecks, runNameChecks } from "./lab-world-checks.js";
import { createWorld, removeNetnsConfigs, writeNetnsResolvConf } from "./lab-world.js";
import { startLabEtcd } from "./lab-etcd.js";
import { startLabPrometheus } from "./lab-prometheus.js";
import { startLabTopology, waitLabTopology } from "./lab-topology.js";
import { createHostNamespace, createUnderlay, deleteNetns, listLabNetns, netnsPids } from "./lab-namespaces.js";
import {
  DEFAULT_LAB_PREFIX,
  UNDERLAY_SUBNET,
  WORLD_IP,
  WORLD_ZONE,
  containerNetns,
  hostIndexOf,
  isolatedNetns,
  worldNetns,
  isLabNetns,
  labDir,
  underlayNetns,
  validateLabPrefix,
} from "./lab-names.js";
import { ISOLATED_LAB_NETWORK, resolveLabOptions, type LabOptions, type ResolvedLabOptions } from "./lab-options.js";
import { readLabState, writeLabState, type CheckResult, type LabContainer, type LabHost, type LabState } from "./lab-state.js";

const HOST_COMMANDS = ["etcd", "etcdctl", "ip", "bridge", "nft", "ping", "dnsmasq", "curl", "getent", "conntrack"] as const;

export interface LabPrefixOptions {
  prefix?: string;
  log?: (line: string) => void;
}

/**
 * Builds the lab and runs the checks. On any failure everything built so far is removed again and
 * the error (with the failing agent's log tail, if any) is rethrown.
 */
export async function labUp(options: LabOptions): Promise<{ state: LabState; checks: CheckResult[] }> {
  const resolved = resolveLabOptions(options);
  const state = await buildLabUnderlay(resolved);
  const { log } = resolved;
  try {
    if (resolved.clusterKey) {
      state.clusterKeyFile = `${labDir(state.prefix)}/cluster.key`;
      await writeFile(state.clusterKeyFile, randomBytes(32).toString("hex") + "\n", { mode: 0o600 });
    }
    log(`starting ${resolved.hosts} weftd agents`);
    state.hosts = await Promise.all(state.hosts.map((host) => startLabAgent(host, state.clusterKeyFile)));
    await writeLabState(state);
    await waitAllAgentsReady(state.hosts);
    if (resolved.topology) {
      state.topology = await startLabTopology(state, state.hosts[0]!);
      await writeLabState(state);
      await waitLabTopology(state.topology);
      log(`topology page of ${state.topology.host} at ${state.topology.url}`);
    }
    if (resolved.monitoring) {
      installMissing(["prometheus"], log);
      log(`starting Prometheus in ${worldNetns(state.prefix)}, scraping ${state.hosts.length} agents`);
      const { configFile: _config, ...prometheus } = await startLabPrometheus(state.prefix, state.hosts.map((h) => h.metricsAddr));
      state.prometheus = prometheus;
      await writeLabState(state);
      log(`Prometheus at ${prometheus.url} (from the lab's namespaces, e.g. 'ip netns exec ${prometheus.netns} curl ${prometheus.url}/api/v1/targets')`);
    }

    const network = resolved.network;
    log(`creating network ${network.name} (${network.subnet}, VNI ${network.vni})`);
    const h1 = createUnaryClient(WeftService, `unix:${state.hosts[0]!.apiSocket}`);
    try {
      await h1.createNetwork(create(CreateNetworkRequestSchema, network), { deadlineMs: 15_000 });
    } finally {
      h1.close();
    }
    state.network = network;

    log(`attaching ${resolved.containers} containers per host`);
    const perHost = await Promise.all(state.hosts.map((host, i) => attachContainers(state.prefix, host, i + 1, resolved)));
    state.containers = perHost.flat();
    await writeLabState(state);

    if (resolved.containers > 0) {
      const iso = ISOLATED_LAB_NETWORK;
      log(`creating network ${iso.name} (${iso.subnet}, VNI ${iso.vni}) with a container on each of ${Math.min(2, state.hosts.length)} hosts, to prove isolation`);
      await withHostApi(state.hosts[0]!, (api) => api.createNetwork(create(CreateNetworkRequestSchema, iso), { deadlineMs: 15_000 }));
      state.isolatedNetwork = iso;
      state.isolated = [];
      for (const [i, host] of state.hosts.slice(0, 2).entries()) {
        state.isolated.push(await attachContainer(host, isolatedNetns(state.prefix, i + 1), iso.name));
        await writeLabState(state);
      }
    }

    if (resolved.web) {
      log(`creating service ${WEB_SERVICE} (selector app=web, published on ${WEB_PUBLISHED_PORT} of every host) with an HTTP server in ${webBackendHosts(state.hosts).length} containers`);
      state.web = await createLabWeb(state.prefix, state.hosts, network.name, async (web) => {
        state.web = web;
        await writeLabState(state);
      });
      await writeLabState(state);
    }

    log(`checking ${state.containers.length} containers: pings across hosts, egress, names, isolation${state.web ? ", the mesh" : ""}`);
    const checks = await runAllChecks(state, state.containers, state.isolated ?? [], state.web?.backends ?? []);
    return { state: annotate(state), checks };
  } catch (err) {
    log(`lab up failed, removing what was built: ${err instanceof Error ? err.message : String(err)}`);
    await labDown({ prefix: state.prefix, log });
    throw err;
  }
}

/**
 * The part of the lab that needs no agent: underlay namespace and bridge, etcd, host namespaces.
 * Writes state.json. Fails without touching anything when a lab with this prefix exists.
 */
export async function buildLabUnderlay(options: LabOptions): Promise<LabState> {
  const resolved = resolveLabOptions(options);
  const { prefix, log } = resolved;
  if (process.getuid?.() !== 0) {
    throw new LabError("user", "the lab needs root: it creates network namespaces and programs the kernel (run it with sudo)");
  }
  installMissing([...HOST_COMMANDS], log);
  const dir = labDir(prefix);
  const existing = await listLabNetns(prefix);
  if (existsSync(dir) || existing.length > 0) {
    throw new LabError("prefix", `a lab named ${prefix} already exists (${existsSync(dir) ? dir : existing.join(", ")}): run 'weft lab down${prefix === DEFAULT_LAB_PREFIX ? "" : ` --prefix ${prefix}`}' first`);
  }
  await mkdir(dir, { recursive: true });
  const state: LabState = {
    prefix,
    etcd: { netns: underlayNetns(prefix), endpoint: "", pid: 0, dataDir: `${dir}/etcd` },
    hosts: [],
    containers: [],
    underlay: { netns: underlayNetns(prefix), subnet: UNDERLAY_SUBNET },
  };
  state.underlay.mtu = resolved.underlayMtu;
  try {
    await writeLabState(state);
    log(`creating underlay ${state.underlay.netns} (${UNDERLAY_SUBNET}, MTU ${resolved.underlayMtu})`);
    await createUnderlay(prefix, resolved.underlayMtu);
    log("starting etcd on the underlay");
    state.etcd = await startLabEtcd(prefix);
    await writeLabState(state);
    log(`creating the world ${worldNetns(prefix)} (${WORLD_IP}): HTTP server, DNS for ${WORLD_ZONE} (dnsmasq)`);
    state.world = await createWorld(prefix, resolved.underlayMtu);
    await writeLabState(state);
    log(`creating ${resolved.hosts} host namespaces`);
    for (let i = 1; i <= resolved.hosts; i++) {
      await createHostNamespace(prefix, i, resolved.underlayMtu);
      const host = labHostPlan(prefix, i);
      await writeNetnsResolvConf(host.netns, WORLD_IP);
      state.hosts.push(host);
    }
    await writeLabState(state);
    return state;
  } catch (err) {
    await labDown({ prefix, log });
    throw err;
  }
}

async function attachContainers(prefix: string, host: LabHost, hostIndex: number, options: ResolvedLabOptions): Promise<LabContainer[]> {
  const containers: LabContainer[] = [];
  for (let j = 1; j <= options.containers; j++) {
    containers.push(await attachContainer(host, containerNetns(prefix, hostIndex, j), options.network.name));
  }
  return containers;
}

/**
 * Pings across hosts, egress, names, isolation from the second network's containers, and the mesh:
 * every one of `webBackends` (those still attached) answers through every target.
 */
async function runAllChecks(state: LabState, containers: readonly LabContainer[], isolated: readonly LabContainer[], webBackends: readonly LabContainer[]): Promise<CheckResult[]> {
  const pings = [...(await runPingChecks(containers)), ...(await runPingChecks(isolated))].map((c): CheckResult => ({ kind: "ping", ...c }));
  const all = [...containers, ...isolated];
  const egress = state.world ? await runEgressChecks(all, state.hosts) : [];
  const names = state.world ? await runNameChecks(all) : [];
  const isolation = await runIsolationChecks(isolated, containers);
  const client = containers[0] ?? webBackends[0];
  const mesh = state.web ? await runMeshChecks(meshTargets(state.web, state.hosts, state.world, client), webBackends.map((b) => b.name)) : [];
  return [...pings, ...egress, ...names, ...isolation, ...mesh];
}

/**
 * Removes everything a lab with this prefix made: its processes (by PID from state.json, and any
 * process whose command line names the lab dir), every namespace named exactly like the lab's, and
 * the lab dir. Works without state.json; never touches another prefix's namespaces.
 */
export async function labDown(options: LabPrefixOptions = {}): Promise<void> {
  const prefix = validateLabPrefix(options.prefix ?? DEFAULT_LAB_PREFIX);
  const log = options.log ?? (() => {});
  const dir = labDir(prefix);
  const state = await readLabState(prefix);

  const recorded = [...(state?.hosts.map((h) => h.agentPid) ?? []), state?.etcd.pid ?? 0, state?.prometheus?.pid ?? 0].filter((pid) => pid > 0);
  const ours = await Promise.all(recorded.map(async (pid) => ((await commandLineOf(pid))?.includes(`${dir}/`) ? pid : 0)));
  const pids = [...new Set([...ours.filter((pid) => pid > 0), ...(await pidsWithCommandLine(`${dir}/`))])];
  if (pids.length > 0) log(`stopping ${pids.length} lab processes`);
  await Promise.all(pids.map((pid) => stopProcess(pid, "SIGTERM", 5000)));

  const namespaces = [
    ...new Set([
      ...(await listLabNetns(prefix)),
      ...(state?.containers.map((c) => c.netns) ?? []),
      ...(state?.isolated?.map((c) => c.netns) ?? []),
      ...(state?.web?.backends.map((c) => c.netns) ?? []),
      ...(state?.world ? [state.world.netns] : []),
      ...(state?.hosts.map((h) => h.netns) ?? []),
    ]),
  ].filter((ns) => isLabNetns(prefix, ns));
  // Anything still running inside the lab's namespaces (a stray ping, a shell) goes too.
  for (const ns of namespaces) {
    for (const pid of await netnsPids(ns)) await stopProcess(pid, "SIGKILL", 1000);
  }
  if (namespaces.length > 0) log(`deleting ${namespaces.length} namespaces`);
  // Containers first, the underlay last: the order in which they were built, reversed.
  const order = (ns: string): number => (ns.endsWith("-ul") ? 2 : /-[ciw][0-9]+$/.test(ns) ? 0 : 1);
  for (const ns of [...namespaces].sort((a, b) => order(a) - order(b))) await deleteNetns(ns);
  await removeNetnsConfigs(prefix);
  await rm(dir, { recursive: true, force: true });

  const left = await listLabNetns(prefix);
  if (left.length > 0) throw new LabError("lab down", `could not delete namespaces ${left.join(", ")}`);
}

/**
 * The lab's recorded state with each agent's liveness filled in, and the cluster's services as the
 * first running agent lists them (none when no agent answers), or undefined when there is no lab.
 */
export async function labStatus(options: LabPrefixOptions = {}): Promise<LabState | undefined> {
  const state = await readLabState(validateLabPrefix(options.prefix ?? DEFAULT_LAB_PREFIX));
  if (!state) return undefined;
  const annotated = annotate(state);
  for (const host of annotated.hosts.filter((h) => h.agentRunning)) {
    try {
      return { ...annotated, services: await listLabServices(host) };
    } catch {
      // Not answering: ask the next one.
    }
  }
  return { ...annotated, services: [] };
}

/** Pings across hosts, egress, names, isolation and the mesh, between the lab's containers that are still attached. */
export async function labCheck(options: LabPrefixOptions = {}): Promise<CheckResult[]> {
  const state = await requireLab(options.prefix);
  const webBackends = state.web?.backends ?? [];
  const attached = await attachedContainers(state, [...state.containers, ...(state.isolated ?? []), ...webBackends]);
  const isolatedNames = new Set((state.isolated ?? []).map((c) => c.name));
  const webNames = new Set(webBackends.map((c) => c.name));
  return runAllChecks(
    state,
    attached.filter((c) => !isolatedNames.has(c.name) && !webNames.has(c.name)),
    attached.filter((c) => isolatedNames.has(c.name)),
    attached.filter((c) => webNames.has(c.name)),
  );
}

/**
 * The lab's containers minus those detached since `lab up` (by `weft endpoint detach`, say). A host
 * whose agent does not answer keeps its containers: their failing checks are the news.
 */
async function attachedContainers(state: LabState, containers: readonly LabContainer[]): Promise<LabContainer[]> {
  const detached = new Set<string>();
  await Promise.all(
    state.hosts.map(async (host) => {
      if (!isAlive(host.agentPid)) return;
      const client = createUnaryClient(WeftService, `unix:${host.apiSocket}`);
      try {
        const { endpoints } = await client.listEndpoints(create(ListEndpointsRequestSchema, {}), { deadlineMs: 3000 });
        const local = new Set(endpoints.filter((e) => e.local).map((e) => e.id));
        for (const c of containers) if (c.host === host.name && !local.has(c.endpointId)) detached.add(c.name);
      } catch {
        // Not answering: keep its containers.
      } finally {
        client.close();
      }
    }),
  );
  return containers.filter((c) => !detached.has(c.name));
}

/** Stops (SIGTERM), kills (SIGKILL) or starts again (same flags, same state dir) one host's weftd. */
export async function labAgent(action: "stop" | "kill" | "start", host: string, options: LabPrefixOptions = {}): Promise<LabHost> {
  if (action !== "stop" && action !== "kill" && action !== "start") {
    throw new LabError("action", `must be stop, kill or start, got ${JSON.stringify(action)}`);
  }
  const state = await requireLab(options.prefix);
  const index = state.hosts.findIndex((h) => h.name === host || h.netns === host);
  if (index < 0 || hostIndexOf(state.hosts[index]!.name) === undefined) {
    throw new LabError("host", `no host ${JSON.stringify(host)} in lab ${state.prefix} (hosts: ${state.hosts.map((h) => h.name).join(", ")})`);
  }
  let updated = state.hosts[index]!;
  if (action === "start") {
    if (isAlive(updated.agentPid)) return { ...updated, agentRunning: true };
    updated = await startLabAgent(updated, state.clusterKeyFile);
    state.hosts[index] = updated;
    await writeLabState(state);
    await waitAgentReady(updated);
  } else {
    updated = await stopLabAgent(updated, action === "stop" ? "SIGTERM" : "SIGKILL");
    state.hosts[index] = updated;
    await writeLabState(state);
  }
  return { ...updated, agentRunning: isAlive(updated.agentPid) };
}

async function requireLab(prefix: string | undefined): Promise<LabState> {
  const resolved = validateLabPrefix(prefix ?? DEFAULT_LAB_PREFIX);
  const state = await readLabState(resolved);
  if (!state) throw new LabError("prefix", `no lab named ${resolved} is running (no ${labDir(resolved)}/state.json): start one with 'weft lab up'`);
  return state;
}

/** Waits for every agent; the first failure stops the other waits so the error surfaces at once. */
async function waitAllAgentsReady(hosts: readonly LabHost[]): Promise<void> {
  const abort = new AbortController();
  await Promise.all(
    hosts.map((host) =>
      waitAgentReady(host, { signal: abort.signal }).catch((err: unknown) => {
        abort.abort();
        throw err;
      }),
    ),
  );
}

function annotate(state: LabState): LabState {
  return { ...state, hosts: state.hosts.map((h) => ({ ...h, agentRunning: isAlive(h.agentPid) })) };
}
