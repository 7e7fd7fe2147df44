// weftd: the composition root. Reads argv and the environment, builds the real collaborators
// (etcd registry, Linux kernel, gRPC gossip transport) and runs the Agent until SIGTERM/SIGINT.
// On shutdown it leaves the kernel as it is: containers keep their traffic while the agent restarts.
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createEtcdRegistry } from "../controlplane/registry/index.js";
import { createGrpcTransport, workerSignatureVerifier } from "../controlplane/gossip/index.js";
import { createLinuxKernel, inspectUnderlay, lowerArpRetransmit } from "../dataplane/index.js";
import { ip } from "../dataplane/iproute2.js";
import { egressRouteConflict, parseIpRouteJson } from "./egress-subnet.js";
import { NftablesFirewall } from "../dataplane/index.js";
import { DnsServer, parseResolvConf } from "./dns/index.js";
import { etcdClientOptions } from "./etcd-client-options.js";
import { Agent, AGENT_VERSION } from "./agent.js";
import { errorText } from "../proto/values/index.js";
import { startApiServer } from "./api-server.js";
import { cniSocketPath, grpcCniAgent, nsenterInspector, startCniServer } from "./cni/index.js";
import { dockerPluginSocketPath, startDockerPlugin } from "./docker/index.js";
import { ConfigError, parseAgentConfig, parseClusterKey, parseHostPort, usage, type AgentConfig } from "./config.js";
import { createLogger, type Logger } from "./log.js";
import { createMetricsRegistry, firewallWriteHistogram } from "./metrics.js";
import { startMetricsServer } from "./metrics-server.js";
import { loadOrCreateNodeKey } from "./node-identity.js";
import { StateStore } from "./state-store.js";
import { requireCommand } from "./host-dependencies.js";
import { MeshMetrics } from "./services/mesh-metrics.js";
import { SystemdNotifier, sendNotifyDatagram } from "./systemd/index.js";
import { startTopologyServer } from "./topology/index.js";

async function main(): Promise<number> {
  let config: AgentConfig;
  try {
    const command = parseAgentConfig(process.argv.slice(2), process.env, (path) => readFileSync(path, "utf8"));
    if (command.kind === "help") {
      process.stdout.write(usage());
      return 0;
    }
    if (command.kind === "version") {
      process.stdout.write(`weftd ${AGENT_VERSION}\n`);
      return 0;
    }
    config = command.config;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`weftd: ${err.message}\n\n${usage()}`);
      return 2;
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  try {
    return await run(config, log);
  } catch (err) {
    log("error", errorText(err));
    return 1;
  }
}

async function run(config: AgentConfig, log: Logger): Promise<number> {
  const systemd = systemdNotifier(log);
  systemd.starting("starting: checking the host, then registering in etcd");
  if (process.getuid?.() !== 0) log("warn", "not running as root: programming the kernel needs CAP_NET_ADMIN");
  // The mesh deletes a removed backend's connection-tracking entries with it.
  requireCommand("conntrack");
  // Refused before anything on the host changes.
  const routes = parseIpRouteJson((await ip("-j", "-4", "route", "show", "table", "main")).stdout);
  const conflict = egressRouteConflict(config.egressSubnet, routes);
  if (conflict) {
    throw new ConfigError("egress-subnet", `${config.egressSubnet} overlaps the host's route ${conflict.dst}${conflict.dev ? ` dev ${conflict.dev}` : ""}: choose a free subnet with --egress-subnet`);
  }
  const upstreams = parseResolvConf(
    await readFile(config.dnsResolvConf, "utf8").catch((err: unknown) => {
      throw new ConfigError("dns-resolv-conf", `cannot read ${config.dnsResolvConf}: ${errorText(err)}`);
    }),
  ).nameservers;
  if (upstreams.length === 0) log("warn", `${config.dnsResolvConf} names no nameserver: weft's DNS answers only weft's names`);
  const underlay = await inspectUnderlay({ iface: config.underlay.iface, ip: config.underlay.ip });
  if (config.underlayArpRetransmitMs > 0) {
    const arp = await lowerArpRetransmit(underlay.iface, config.underlayArpRetransmitMs).catch((err: unknown) => {
      log("warn", `could not set ${underlay.iface}'s ARP retransmit time: ${errorText(err)}`);
      return undefined;
    });
    if (arp && arp.before !== arp.after) {
      log("info", `underlay ${underlay.iface}: ARP retransmit time ${arp.before} -> ${arp.after} ms, so peers back from a partition are reached at once (--underlay-arp-retransmit-ms 0 leaves it alone)`);
    }
  }
  const gossipListen = parseHostPort("gossip-listen", config.gossipListen, true);
  const gossipAddr = `${gossipListen.host || underlay.ip}:${gossipListen.port}`;
  const keyPair = await loadOrCreateNodeKey(config.stateDir, (line) => log("info", line));
  const clusterKey = config.clusterKeyFile ? parseClusterKey(await readFile(config.clusterKeyFile, "utf8").catch((err: unknown) => {
    throw new ConfigError("cluster-key-file", `cannot read ${config.clusterKeyFile}: ${errorText(err)}`);
  })) : undefined;

  const metrics = createMetricsRegistry();
  const firewallWrites = firewallWriteHistogram(metrics);
  const meshMetrics = new MeshMetrics(metrics, () => firewall.rejectedConnections());
  const firewall = new NftablesFirewall({
    onWrite: (ms, kind?: "full" | "incremental") => {
      firewallWrites.observe(ms / 1000);
      meshMetrics.recordRuleApply(ms, kind);
    },
  });
  const registry = createEtcdRegistry({
    client: etcdClientOptions({ endpoints: config.etcdEndpoints, ...config.etcdTls }),
    prefix: config.etcdPrefix,
    nodeTtlSeconds: config.nodeTtlSeconds,
    metrics,
    log: (line) => log("info", `registry: ${line}`),
  });
  const transport = createGrpcTransport({ listen: `${gossipListen.host || underlay.ip}:${gossipListen.port}` });
  // Peers' entry signatures are checked on worker threads: a burst of 50,000 endpoints then uses
  // every core and leaves the event loop free for keepalives and pings.
  const signatureVerifier = workerSignatureVerifier({ onWorkerError: (err) => log("warn", `signature worker failed (verifying on the event loop instead): ${errorText(err)}`) });
  const agent = new Agent({
    node: config.nodeName,
    underlay: { ip: underlay.ip, mtu: underlay.mtu, iface: underlay.iface },
    egressSubnet: config.egressSubnet,
    firewall,
    dns: (records) => DnsServer.create({ records, upstreams, metrics, log }),
    gossipAddr,
    registry,
    kernel: createLinuxKernel(),
    transport,
    keyPair,
    clusterKey,
    stateStore: new StateStore(config.stateDir, (line) => log("warn", line)),
    metrics,
    log,
    signatureVerifier,
  });
  systemd.starting(`registering in etcd ${config.etcdEndpoints.join(",")}, syncing and reconciling the kernel`);
  await agent.start();
  const api = await startApiServer(config.apiSocket, agent, (line) => log("warn", line));
  const cniAgent = grpcCniAgent(config.apiSocket);
  const cni = await startCniServer(cniSocketPath(config.apiSocket), { agent: cniAgent, inspector: nsenterInspector }, (line) => log("warn", line));
  const docker = config.dockerPlugin
    ? await startDockerPlugin({ apiSocket: config.apiSocket, pluginSocket: dockerPluginSocketPath(config.dockerPlugin), dockerSocket: config.dockerSocket, stateDir: config.stateDir, log: (line) => log("warn", line) })
    : undefined;
  const metricsServer = config.metricsListen
    ? await startMetricsServer(parseHostPort("metrics-listen", config.metricsListen, false), metrics, () => agent.ready())
    : undefined;
  const topology = config.topologyListen
    ? await startTopologyServer({ listen: parseHostPort("topology-listen", config.topologyListen, false), self: { name: config.nodeName, underlayIp: underlay.ip }, agent, observer: agent.observer, log: (line) => log("warn", line) })
    : undefined;
  if (topology) log(isLoopback(topology.address) ? "info" : "warn", `topology page on http://${topology.address}/ (read-only): whoever reaches it sees the cluster's hosts, endpoints and services`);
  log("info", `weftd ${AGENT_VERSION} ready: api unix:${config.apiSocket}, cni unix:${cniSocketPath(config.apiSocket)}${config.metricsListen ? `, metrics http://${config.metricsListen}/metrics` : ""}`);
  // agent.start() returned: registered in etcd, gossip and slices synced, the kernel reconciled once.
  systemd.ready(`ready: node ${config.nodeName}, api unix:${config.apiSocket}`);

  await new Promise<void>((resolve) => {
    const onSignal = (signal: string): void => {
      log("info", `${signal}: shutting down (the kernel state stays in place)`);
      resolve();
    };
    process.once("SIGTERM", () => onSignal("SIGTERM"));
    process.once("SIGINT", () => onSignal("SIGINT"));
  });
  systemd.stopping();
  const forceExit = setTimeout(() => {
    log("warn", "shutdown took longer than 5 s; exiting");
    process.exit(0);
  }, 5000);
  forceExit.unref();
  api.forceShutdown();
  cni.close();
  cniAgent.close();
  await docker?.close();
  metricsServer?.close();
  await topology?.close();
  await agent.stop();
  await signatureVerifier.close();
  return 0;
}

function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address.startsWith("localhost:");
}

/**
 * Reads NOTIFY_SOCKET and WATCHDOG_* and removes them from the environment, so the programs weftd runs
 * (ip, nft, conntrack) do not inherit them (sd_notify's unset_environment).
 */
function systemdNotifier(log: Logger): SystemdNotifier {
  const env = { ...process.env };
  for (const key of ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"]) delete process.env[key];
  const notifier = new SystemdNotifier({ env, pid: process.pid, send: sendNotifyDatagram, warn: (line) => log("warn", line) });
  if (notifier.enabled) log("info", `systemd: notifying readiness${notifier.watchdogIntervalMs ? `, watchdog ping every ${notifier.watchdogIntervalMs} ms` : ""}`);
  return notifier;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`weftd: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
