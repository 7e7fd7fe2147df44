// The lab's services, through the `weft` CLI as a user runs it (`weft service create|ls --json`
// against one host's API socket): the CLI's parsing of --publish and --selector is the one the lab
// means to exercise. What `service ls --json` prints (the API's Service messages as proto JSON) is
// read back into the small shape the lab reports and checks with.
import { join } from "node:path";
import { packageRoot } from "../package-root.js";
import { runCommand } from "./command-runner.js";
import { LabError } from "./lab-error.js";
import type { LabHost } from "./lab-state.js";

const WEFT_CLI = join(packageRoot(), "agent", "bin", "weft.js");

export interface LabServicePort {
  protocol: "tcp" | "udp";
  published: number;
  target: number;
  publishMode: "ingress" | "local";
}

export interface LabServiceBackend {
  name: string;
  ip: string;
  node: string;
  endpointId: string;
}

export interface LabService {
  name: string;
  network: string;
  mode: "vip" | "dnsrr";
  /** vip mode only. */
  vip?: string;
  ports: LabServicePort[];
  backends: LabServiceBackend[];
}

export interface LabServiceSpec {
  name: string;
  network: string;
  /** `k=v[,k=v]` */
  selector: string;
  /** `PUBLISHED:TARGET[/proto][,mode=local]`, each one --publish. */
  publish?: readonly string[];
  mode?: "vip" | "dnsrr";
  affinity?: "none" | "client-ip";
}

/** Runs `weft --api-socket <host's socket> ARGS...`; a failure carries the CLI's own message. */
export async function runWeftCli(host: Pick<LabHost, "apiSocket">, args: readonly string[], timeoutMs = 30_000): Promise<string> {
  const { stdout } = await runCommand(process.execPath, [WEFT_CLI, "--api-socket", host.apiSocket, ...args], { timeoutMs });
  return stdout;
}

export function serviceCreateArgs(spec: LabServiceSpec): string[] {
  return [
    "service", "create", spec.name,
    "--network", spec.network,
    "--selector", spec.selector,
    ...(spec.publish ?? []).flatMap((p) => ["--publish", p]),
    ...(spec.mode ? ["--mode", spec.mode] : []),
    ...(spec.affinity ? ["--affinity", spec.affinity] : []),
  ];
}

export async function createLabService(host: Pick<LabHost, "apiSocket">, spec: LabServiceSpec): Promise<void> {
  await runWeftCli(host, serviceCreateArgs(spec));
}

export async function removeLabService(host: Pick<LabHost, "apiSocket">, name: string): Promise<void> {
  await runWeftCli(host, ["service", "rm", name]);
}

export async function listLabServices(host: Pick<LabHost, "apiSocket">, timeoutMs = 10_000): Promise<LabService[]> {
  const out = await runWeftCli(host, ["--json", "service", "ls"], timeoutMs);
  let json: unknown;
  try {
    json = JSON.parse(out);
  } catch (err) {
    throw new LabError("service ls", `printed no JSON: ${out.slice(0, 200)}`, { cause: err });
  }
  return parseServiceList(json);
}

/**
 * `{services: [...]}` (ListServicesResponse) or a bare array, as proto JSON: enum values may be
 * spelled as the enum's constant (`PORT_PROTOCOL_UDP`, `PUBLISH_MODE_LOCAL`, `SERVICE_MODE_DNSRR`)
 * or as the CLI's words; ports and addresses as numbers and strings. Anything else fails loudly.
 */
export function parseServiceList(json: unknown): LabService[] {
  const list = Array.isArray(json) ? json : isObject(json) ? (json["services"] ?? []) : undefined;
  if (!Array.isArray(list)) throw new LabError("service ls", "expected {services: [...]}");
  return list.map((item, i) => parseService(item, `services[${i}]`));
}

function parseService(value: unknown, field: string): LabService {
  if (!isObject(value)) throw new LabError(field, "not an object");
  const vip = optionalString(value["vip"]);
  const ports = arrayOf(value["ports"], `${field}.ports`).map((p, i): LabServicePort => {
    const at = `${field}.ports[${i}]`;
    if (!isObject(p)) throw new LabError(at, "not an object");
    return {
      protocol: /udp$/i.test(String(p["protocol"] ?? "")) ? "udp" : "tcp",
      published: port(p["published"], `${at}.published`),
      target: port(p["target"], `${at}.target`),
      publishMode: /local$/i.test(String(p["publishMode"] ?? p["publish_mode"] ?? "")) ? "local" : "ingress",
    };
  });
  const backends = arrayOf(value["backends"], `${field}.backends`).map((b, i): LabServiceBackend => {
    const at = `${field}.backends[${i}]`;
    if (!isObject(b)) throw new LabError(at, "not an object");
    return {
      name: optionalString(b["name"]) ?? "",
      ip: requiredString(b["ip"], `${at}.ip`),
      node: optionalString(b["node"]) ?? "",
      endpointId: optionalString(b["endpointId"] ?? b["endpoint_id"]) ?? "",
    };
  });
  return {
    name: requiredString(value["name"], `${field}.name`),
    network: requiredString(value["network"], `${field}.network`),
    mode: /dnsrr$/i.test(String(value["mode"] ?? "")) ? "dnsrr" : "vip",
    ...(vip ? { vip } : {}),
    ports,
    backends: backends.sort((a, b) => a.ip.localeCompare(b.ip, "en", { numeric: true })),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function arrayOf(value: unknown, field: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new LabError(field, "not a list");
  return value;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function requiredString(value: unknown, field: string): string {
  const text = optionalString(value);
  if (text === undefined) throw new LabError(field, "missing");
  return text;
}

function port(value: unknown, field: string): number {
  const n = typeof value === "string" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 65535) throw new LabError(field, `not a port: ${JSON.stringify(value)}`);
  return n;
}
