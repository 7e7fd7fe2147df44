// weftd's configuration: command-line flags over WEFT_* environment variables over a YAML file over
// defaults. Pure: argv, env and the file's text come in as values; every error names the flag.
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { parse as parseYaml } from "yaml";
import { NAME_RULE, WeftError, isIPv4, isInterfaceName, isName, parseIPv4Cidr, printable } from "../proto/values/index.js";
import { DEFAULT_EGRESS_SUBNET } from "./desired-state/egress-part.js";
import { MAX_EGRESS_PREFIX, MIN_EGRESS_PREFIX } from "./egress-subnet.js";

export interface AgentConfig {
  nodeName: string;
  etcdEndpoints: string[];
  etcdPrefix: string;
  etcdTls?: { caFile?: string; certFile?: string; keyFile?: string };
  underlay: { iface?: string; ip?: string };
  /** host:port; empty host means "the underlay IP". */
  gossipListen: string;
  /** host:port, or undefined when metrics are off. */
  metricsListen?: string;
  apiSocket: string;
  stateDir: string;
  clusterKeyFile?: string;
  logLevel: "debug" | "info" | "warn" | "error";
  nodeTtlSeconds: number;
  /** Lowers the underlay interface's ARP retransmit time to this (ms); 0 leaves it alone. */
  underlayArpRetransmitMs: number;
  /** This host's egress bridge subnet (canonical CIDR). */
  egressSubnet: string;
  /** The resolv.conf whose nameservers weft's DNS forwards other names to. */
  dnsResolvConf: string;
  /** Serve Docker's remote network driver under this name (/run/docker/plugins/NAME.sock); absent: off. */
  dockerPlugin?: string;
  /** dockerd's API socket, which the Docker driver asks for a container's pid. */
  dockerSocket: string;
  /** host:port of the live topology page (agent/topology/), or undefined when it is off (the default). */
  topologyListen?: string;
}

/** A setting weftd cannot use: names the flag (also as the WeftError's field). */
export class ConfigError extends WeftError {
  constructor(
    readonly flag: string,
    reason: string,
  ) {
    super("invalid-argument", `--${flag}: ${reason}`, { field: flag });
    this.name = "ConfigError";
  }
}

interface Option {
  flag: string;
  env: string;
  /** Key in the YAML file. */
  key: string;
  help: string;
}

const OPTIONS: readonly Option[] = [
  { flag: "config", env: "WEFT_CONFIG", key: "", help: "YAML file with any of the settings below (keys in camelCase)" },
  { flag: "node-name", env: "WEFT_NODE_NAME", key: "nodeName", help: "this node's name in the cluster (default: hostname)" },
  { flag: "etcd-endpoints", env: "WEFT_ETCD_ENDPOINTS", key: "etcdEndpoints", help: "comma-separated etcd client URLs (default http://127.0.0.1:2379)" },
  { flag: "etcd-prefix", env: "WEFT_ETCD_PREFIX", key: "etcdPrefix", help: "key prefix in etcd (default /weft/v1)" },
  { flag: "etcd-ca-file", env: "WEFT_ETCD_CA_FILE", key: "etcdCaFile", help: "CA bundle for etcd TLS (default: the system's trusted roots; TLS needs https:// endpoints)" },
  { flag: "etcd-cert-file", env: "WEFT_ETCD_CERT_FILE", key: "etcdCertFile", help: "client certificate for etcd TLS" },
  { flag: "etcd-key-file", env: "WEFT_ETCD_KEY_FILE", key: "etcdKeyFile", help: "client key for etcd TLS" },
  { flag: "underlay-iface", env: "WEFT_UNDERLAY_IFACE", key: "underlayIface", help: "interface whose IPv4 address is the VTEP" },
  { flag: "underlay-ip", env: "WEFT_UNDERLAY_IP", key: "underlayIp", help: "VTEP address (must be on a local interface)" },
  { flag: "gossip-listen", env: "WEFT_GOSSIP_LISTEN", key: "gossipListen", help: "host:port for gossip (default <underlay ip>:7946)" },
  { flag: "metrics-listen", env: "WEFT_METRICS_LISTEN", key: "metricsListen", help: "host:port for /metrics, /healthz, /readyz, or 'off' (default 127.0.0.1:9464)" },
  { flag: "api-socket", env: "WEFT_API_SOCKET", key: "apiSocket", help: "unix socket of the local API (default /run/weft/weft.sock)" },
  { flag: "state-dir", env: "WEFT_STATE_DIR", key: "stateDir", help: "where the node key, subnet slices and endpoints persist (default /var/lib/weft)" },
  { flag: "cluster-key-file", env: "WEFT_CLUSTER_KEY_FILE", key: "clusterKeyFile", help: "32-byte key (hex or base64) sealing gossip; all nodes must share it" },
  { flag: "log-level", env: "WEFT_LOG_LEVEL", key: "logLevel", help: "debug, info, warn or error (default info)" },
  { flag: "node-ttl", env: "WEFT_NODE_TTL", key: "nodeTtl", help: "seconds the node's etcd lease lives without keepalive (default 10)" },
  {
    flag: "underlay-arp-retransmit-ms",
    env: "WEFT_UNDERLAY_ARP_RETRANSMIT_MS",
    key: "underlayArpRetransmitMs",
    help: "lower the underlay interface's ARP retransmit time to this, so peers back from a partition are reached quickly; 0 leaves it alone (default 200)",
  },
  {
    flag: "egress-subnet",
    env: "WEFT_EGRESS_SUBNET",
    key: "egressSubnet",
    help: "subnet of this host's egress bridge weft_gwbridge, refused when it overlaps a route the host has (default 172.18.0.0/16)",
  },
  { flag: "dns-resolv-conf", env: "WEFT_DNS_RESOLV_CONF", key: "dnsResolvConf", help: "resolv.conf naming the resolvers other names are forwarded to (default /etc/resolv.conf)" },
  { flag: "docker-plugin", env: "WEFT_DOCKER_PLUGIN", key: "dockerPlugin", help: "serve Docker's network and IPAM driver as NAME (/run/docker/plugins/NAME.sock, docker network create -d NAME --ipam-driver NAME); off by default" },
  { flag: "docker-socket", env: "WEFT_DOCKER_SOCKET", key: "dockerSocket", help: "dockerd's API socket (default /run/docker.sock)" },
  {
    flag: "topology-listen",
    env: "WEFT_TOPOLOGY_LISTEN",
    key: "topologyListen",
    help: "serve the live topology page on host:port (PORT alone: 127.0.0.1:PORT); whoever reaches it sees the cluster's topology; off by default",
  },
];

export function usage(): string {
  const lines = OPTIONS.map((o) => `  --${o.flag.padEnd(18)} ${o.help}\n  ${"".padEnd(20)} env ${o.env}`);
  return `usage: weftd [flags]\n\nflags (each also settable by environment variable or in the --config file):\n${lines.join("\n")}\n  --help\n  --version\n`;
}

export type ParsedCommand = { kind: "help" } | { kind: "version" } | { kind: "run"; config: AgentConfig };

export function parseAgentConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => string,
): ParsedCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        ...Object.fromEntries(OPTIONS.map((o) => [o.flag, { type: "string" as const }])),
        help: { type: "boolean" },
        version: { type: "boolean" },
      },
      allowPositionals: false,
      strict: true,
    });
  } catch (err) {
    throw new ConfigError("args", err instanceof Error ? err.message.replace(/^.*?: /, "") : String(err));
  }
  if (parsed.values.help) return { kind: "help" };
  if (parsed.values.version) return { kind: "version" };
  const flags = parsed.values as Record<string, string | undefined>;

  const configPath = flags["config"] ?? env["WEFT_CONFIG"];
  const file = configPath === undefined ? {} : readConfigFile(configPath, readFile);

  const get = (flag: string): string | undefined => {
    const option = OPTIONS.find((o) => o.flag === flag)!;
    if (flags[flag] !== undefined) return flags[flag];
    if (env[option.env] !== undefined && env[option.env] !== "") return env[option.env];
    const value = file[option.key];
    if (value === undefined || value === null) return undefined;
    if (Array.isArray(value)) return value.map(String).join(",");
    if (typeof value === "object") throw new ConfigError(flag, `${configPath}: ${option.key} must be a string or a number`);
    return String(value);
  };

  const nodeName = get("node-name") ?? hostname();
  if (!isName(nodeName)) throw new ConfigError("node-name", `${JSON.stringify(nodeName)} must be ${NAME_RULE}`);

  const etcdEndpoints = (get("etcd-endpoints") ?? "http://127.0.0.1:2379").split(",").map((s) => s.trim()).filter(Boolean);
  const tls = { caFile: get("etcd-ca-file"), certFile: get("etcd-cert-file"), keyFile: get("etcd-key-file") };
  const { tls: usesTls } = checkEtcdConnection({ endpoints: etcdEndpoints, ...definedOnly(tls) });

  const etcdPrefix = get("etcd-prefix") ?? "/weft/v1";
  if (!/^\/[A-Za-z0-9_./-]*[^/]$/.test(etcdPrefix)) {
    throw new ConfigError("etcd-prefix", `"${etcdPrefix}" must start with '/' and not end with '/'`);
  }

  const underlayIface = get("underlay-iface");
  const underlayIp = get("underlay-ip");
  if (underlayIface === undefined && underlayIp === undefined) {
    throw new ConfigError("underlay-ip", "one of --underlay-iface or --underlay-ip is required (the address other nodes reach this VTEP on)");
  }
  if (underlayIp !== undefined && !isIPv4(underlayIp)) throw new ConfigError("underlay-ip", `"${underlayIp}" is not an IPv4 address`);
  if (underlayIface !== undefined && !isInterfaceName(underlayIface)) {
    throw new ConfigError("underlay-iface", `"${underlayIface}" is not a valid interface name`);
  }

  const gossipListen = get("gossip-listen") ?? ":7946";
  parseHostPort("gossip-listen", gossipListen, true);

  const metricsRaw = get("metrics-listen") ?? "127.0.0.1:9464";
  const metricsListen = metricsRaw === "off" ? undefined : metricsRaw;
  if (metricsListen !== undefined) parseHostPort("metrics-listen", metricsListen, false);

  const apiSocket = get("api-socket") ?? "/run/weft/weft.sock";
  if (!apiSocket.startsWith("/")) throw new ConfigError("api-socket", `"${apiSocket}" must be an absolute path`);
  if (Buffer.byteLength(apiSocket) > 107) throw new ConfigError("api-socket", `"${apiSocket}" is longer than a unix socket path may be (107 bytes)`);

  const stateDir = get("state-dir") ?? "/var/lib/weft";
  if (!stateDir.startsWith("/")) throw new ConfigError("state-dir", `"${stateDir}" must be an absolute path`);

  const logLevel = get("log-level") ?? "info";
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    throw new ConfigError("log-level", `"${logLevel}" must be one of debug, info, warn, error`);
  }

  const ttlRaw = get("node-ttl") ?? "10";
  const nodeTtlSeconds = Number(ttlRaw);
  if (!Number.isInteger(nodeTtlSeconds) || nodeTtlSeconds < 2 || nodeTtlSeconds > 300) {
    throw new ConfigError("node-ttl", `"${ttlRaw}" must be a whole number of seconds from 2 to 300`);
  }

  const arpRaw = get("underlay-arp-retransmit-ms") ?? "200";
  const underlayArpRetransmitMs = Number(arpRaw);
  if (!Number.isInteger(underlayArpRetransmitMs) || (underlayArpRetransmitMs !== 0 && (underlayArpRetransmitMs < 10 || underlayArpRetransmitMs > 10_000))) {
    throw new ConfigError("underlay-arp-retransmit-ms", `"${arpRaw}" must be 0 (leave it alone) or a whole number of milliseconds from 10 to 10000`);
  }

  const egressSubnet = get("egress-subnet") ?? DEFAULT_EGRESS_SUBNET;
  let egressPrefix: number;
  try {
    egressPrefix = parseIPv4Cidr(egressSubnet, "egress-subnet").prefix;
  } catch (err) {
    throw new ConfigError("egress-subnet", err instanceof WeftError ? err.message.replace(/^egress-subnet: /, "") : String(err));
  }
  if (egressPrefix < MIN_EGRESS_PREFIX || egressPrefix > MAX_EGRESS_PREFIX) {
    throw new ConfigError("egress-subnet", `"${egressSubnet}" prefix length must be from /${MIN_EGRESS_PREFIX} to /${MAX_EGRESS_PREFIX}`);
  }
  const dnsResolvConf = get("dns-resolv-conf") ?? "/etc/resolv.conf";
  if (!dnsResolvConf.startsWith("/")) throw new ConfigError("dns-resolv-conf", `"${dnsResolvConf}" must be an absolute path`);
  const dockerPlugin = get("docker-plugin");
  if (dockerPlugin !== undefined && !isName(dockerPlugin)) throw new ConfigError("docker-plugin", `"${printable(dockerPlugin)}" is not a name (${NAME_RULE})`);
  const dockerSocket = get("docker-socket") ?? "/run/docker.sock";
  if (!dockerSocket.startsWith("/")) throw new ConfigError("docker-socket", `"${printable(dockerSocket)}" must be an absolute path`);

  const config: AgentConfig = {
    nodeName,
    etcdEndpoints,
    etcdPrefix,
    underlay: { iface: underlayIface, ip: underlayIp },
    gossipListen,
    metricsListen,
    apiSocket,
    stateDir,
    logLevel: logLevel as AgentConfig["logLevel"],
    nodeTtlSeconds,
    underlayArpRetransmitMs,
    egressSubnet,
    dnsResolvConf,
    dockerSocket,
  };
  if (dockerPlugin !== undefined) config.dockerPlugin = dockerPlugin;
  const topologyListen = get("topology-listen");
  if (topologyListen !== undefined && topologyListen !== "off") config.topologyListen = topologyAddress(topologyListen);
  if (usesTls) config.etcdTls = definedOnly(tls);
  const clusterKeyFile = get("cluster-key-file");
  if (clusterKeyFile !== undefined) config.clusterKeyFile = clusterKeyFile;
  return { kind: "run", config };
}

function readConfigFile(path: string, readFile: (path: string) => string): Record<string, unknown> {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    throw new ConfigError("config", `cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw new ConfigError("config", `${path} is not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new ConfigError("config", `${path} must hold a mapping of settings`);
  const known = new Set(OPTIONS.map((o) => o.key).filter(Boolean));
  for (const key of Object.keys(value)) {
    if (!known.has(key)) throw new ConfigError("config", `${path}: unknown setting "${key}" (known: ${[...known].join(", ")})`);
  }
  return value as Record<string, unknown>;
}

/** How weftd reaches etcd: client URLs and the TLS files, as the flags give them. */
export interface EtcdConnection {
  endpoints: readonly string[];
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/**
 * Checks how weftd reaches etcd and says whether it uses TLS: it does when an endpoint is https:// or
 * a TLS file is given. Refused (naming the flag): a URL that is not http(s)://host:port, http:// and
 * https:// mixed, TLS files with http:// endpoints, a certificate without its key or the reverse.
 */
export function checkEtcdConnection(connection: EtcdConnection): { tls: boolean } {
  const { endpoints, caFile, certFile, keyFile } = connection;
  if (endpoints.length === 0) throw new ConfigError("etcd-endpoints", "at least one URL is required");
  const schemes = new Set<string>();
  for (const url of endpoints) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new ConfigError("etcd-endpoints", `"${url}" is not a URL (expected e.g. http://10.0.0.1:2379)`);
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new ConfigError("etcd-endpoints", `"${url}" must use http or https`);
    if (!u.port) throw new ConfigError("etcd-endpoints", `"${url}" has no port`);
    schemes.add(u.protocol);
  }
  if (schemes.size > 1) throw new ConfigError("etcd-endpoints", "mixes http:// and https:// URLs: use https:// for all of them, or http:// for all");
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError(certFile === undefined ? "etcd-cert-file" : "etcd-key-file", "--etcd-cert-file and --etcd-key-file go together: give both or neither");
  }
  const files = caFile !== undefined || certFile !== undefined;
  if (files && schemes.has("http:")) {
    throw new ConfigError("etcd-endpoints", `TLS files are given but the endpoints are http://: use https:// URLs (${endpoints.join(",")})`);
  }
  return { tls: files || schemes.has("https:") };
}

function definedOnly<T extends Record<string, string | undefined>>(values: T): { [K in keyof T]?: string } {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: string };
}

/** Splits "host:port" (host may be empty when allowEmptyHost). */
export function parseHostPort(flag: string, value: string, allowEmptyHost: boolean): { host: string; port: number } {
  const match = /^(.*):(\d+)$/.exec(value);
  if (!match) throw new ConfigError(flag, `"${value}" must be host:port`);
  const host = match[1]!;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) throw new ConfigError(flag, `port ${port} is out of range 1-65535`);
  if (host === "" && !allowEmptyHost) throw new ConfigError(flag, `"${value}" needs a host`);
  if (host !== "" && !isIPv4(host) && host !== "localhost") throw new ConfigError(flag, `"${host}" is not an IPv4 address`);
  return { host, port };
}

/**
 * The topology page's address: loopback unless a host is written out ("PORT" and ":PORT" mean
 * 127.0.0.1:PORT), since whoever reaches the page sees every host, endpoint and service.
 */
function topologyAddress(value: string): string {
  const loopback = /^:?([0-9]+)$/.exec(value);
  const address = loopback ? `127.0.0.1:${loopback[1]}` : value;
  parseHostPort("topology-listen", address, false);
  return address;
}

/** Reads a 32-byte cluster key written as hex or base64. */
export function parseClusterKey(text: string): Uint8Array {
  const trimmed = text.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, "hex") : Buffer.from(trimmed, "base64");
  if (bytes.length !== 32) throw new ConfigError("cluster-key-file", "the key must be 32 bytes, written as 64 hex digits or base64");
  return new Uint8Array(bytes);
}
