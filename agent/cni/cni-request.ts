// What a runtime hands a CNI plugin: the CNI_* environment and the network configuration on stdin,
// parsed and checked before anything is asked of the agent. Pure. Errors name the variable (code 4)
// or the configuration field (code 7), as the spec asks.
import { createHash } from "node:crypto";
import { isName } from "../../proto/values/index.js";
import { CNI_CODE, CniError, invalidConfig, invalidEnvironment } from "./cni-error.js";

export const SUPPORTED_VERSIONS = ["0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;
export const DEFAULT_API_SOCKET = "/run/weft/weft.sock";

export type CniCommand = "ADD" | "DEL" | "CHECK" | "VERSION" | "STATUS" | "GC";
const COMMANDS: readonly string[] = ["ADD", "DEL", "CHECK", "VERSION", "STATUS", "GC"];

export interface CniEnvironment {
  command: CniCommand;
  containerId?: string;
  netns?: string;
  ifName?: string;
  /** CNI_ARGS as pairs ("K=V;K2=V2"). */
  args: Record<string, string>;
}

export interface Attachment {
  containerId: string;
  ifName: string;
}

export interface CniConfig {
  cniVersion: string;
  /** The CNI network's name (podman shows it as the network). */
  name: string;
  /** The weft network to attach to: `network`, else `name`. */
  network: string;
  /** The agent's API socket (`apiSocket`), else the default. */
  apiSocket: string;
  /** runtimeConfig.aliases[name]: more DNS names for the container (podman's "aliases" capability). */
  aliases: string[];
  prevResult?: Record<string, unknown>;
  /** GC: the attachments the runtime still knows (`cni.dev/attachments` or `cni.dev/valid-attachments`). */
  validAttachments?: Attachment[];
}

const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function parseEnvironment(env: Readonly<Record<string, string | undefined>>): CniEnvironment {
  const command = env["CNI_COMMAND"];
  if (!command) throw invalidEnvironment("CNI_COMMAND", "is required");
  if (!COMMANDS.includes(command)) throw invalidEnvironment("CNI_COMMAND", `${JSON.stringify(command)} is not one of ${COMMANDS.join(", ")}`);
  const result: CniEnvironment = { command: command as CniCommand, args: parseArgs(env["CNI_ARGS"]) };
  const needs = command === "ADD" || command === "CHECK" ? ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"] : command === "DEL" ? ["CNI_CONTAINERID", "CNI_IFNAME"] : [];
  for (const variable of needs) if (!env[variable]) throw invalidEnvironment(variable, `is required for ${command}`);
  const containerId = env["CNI_CONTAINERID"];
  if (containerId) {
    if (!CONTAINER_ID.test(containerId)) throw invalidEnvironment("CNI_CONTAINERID", "must be letters, digits, '_', '.', '-', starting with a letter or digit");
    result.containerId = containerId;
  }
  const netns = env["CNI_NETNS"];
  // containerd and CRI-O name /var/run/netns/X, which is /run/netns/X on every distribution they run on.
  if (netns) result.netns = netns.replace(/^\/var\/run\/netns\//, "/run/netns/");
  if (env["CNI_IFNAME"]) result.ifName = env["CNI_IFNAME"];
  return result;
}

function parseArgs(text: string | undefined): Record<string, string> {
  const args: Record<string, string> = {};
  for (const pair of (text ?? "").split(";")) {
    const at = pair.indexOf("=");
    if (at > 0) args[pair.slice(0, at)] = pair.slice(at + 1);
    else if (pair.trim() !== "") throw invalidEnvironment("CNI_ARGS", `${JSON.stringify(pair)} is not KEY=VALUE`);
  }
  return args;
}

export function versionAtLeast(version: string, minimum: string): boolean {
  const a = version.split(".").map(Number);
  const b = minimum.split(".").map(Number);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

/** The configuration on stdin; `command` decides which parts are required. */
export function parseConfig(stdin: string, command: CniCommand): CniConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(stdin);
  } catch (err) {
    throw new CniError(CNI_CODE.decodeFailure, `stdin: not JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new CniError(CNI_CODE.decodeFailure, "stdin: must be a JSON object");
  const config = raw as Record<string, unknown>;
  const cniVersion = config["cniVersion"];
  if (typeof cniVersion !== "string") throw invalidConfig("cniVersion", "is required (a string such as \"1.0.0\")");
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(cniVersion)) {
    throw new CniError(CNI_CODE.incompatibleVersion, `cniVersion: ${JSON.stringify(cniVersion)} is not supported (supported: ${SUPPORTED_VERSIONS.join(", ")})`);
  }
  if (command === "CHECK" && !versionAtLeast(cniVersion, "0.4.0")) {
    throw new CniError(CNI_CODE.incompatibleVersion, `cniVersion: CHECK needs 0.4.0 or later, not ${cniVersion}`);
  }
  if ((command === "GC" || command === "STATUS") && !versionAtLeast(cniVersion, "1.1.0")) {
    throw new CniError(CNI_CODE.incompatibleVersion, `cniVersion: ${command} needs 1.1.0, not ${cniVersion}`);
  }
  const name = config["name"];
  if (!isName(name)) throw invalidConfig("name", "must be a weft name (1-63 letters, digits, '_', '.', '-', starting with a letter or digit)");
  const network = config["network"] ?? name;
  if (!isName(network)) throw invalidConfig("network", "must be the name of a weft network");
  const apiSocket = config["apiSocket"] ?? DEFAULT_API_SOCKET;
  if (typeof apiSocket !== "string" || !apiSocket.startsWith("/")) throw invalidConfig("apiSocket", "must be an absolute path");
  const result: CniConfig = { cniVersion, name, network, apiSocket, aliases: parseAliases(config["runtimeConfig"], name) };
  const prevResult = config["prevResult"];
  if (prevResult !== undefined) {
    if (typeof prevResult !== "object" || prevResult === null || Array.isArray(prevResult)) throw invalidConfig("prevResult", "must be an object");
    result.prevResult = prevResult as Record<string, unknown>;
  }
  if (command === "GC") result.validAttachments = parseAttachments(config);
  return result;
}

function parseAliases(runtimeConfig: unknown, name: string): string[] {
  if (runtimeConfig === undefined) return [];
  if (typeof runtimeConfig !== "object" || runtimeConfig === null) throw invalidConfig("runtimeConfig", "must be an object");
  const aliases = (runtimeConfig as Record<string, unknown>)["aliases"];
  if (aliases === undefined) return [];
  const mine = typeof aliases === "object" && aliases !== null ? (aliases as Record<string, unknown>)[name] : undefined;
  if (mine === undefined) return [];
  if (!Array.isArray(mine)) throw invalidConfig(`runtimeConfig.aliases.${name}`, "must be a list of names");
  // A name DNS cannot carry (podman may pass one) is left out rather than failing the container.
  return mine.filter(isName);
}

function parseAttachments(config: Record<string, unknown>): Attachment[] {
  // libcni 1.2.0 sent "cni.dev/valid-attachments", the spec says "cni.dev/attachments": take both.
  const field = config["cni.dev/attachments"] !== undefined ? "cni.dev/attachments" : "cni.dev/valid-attachments";
  const list = config[field];
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw invalidConfig(field, "must be a list");
  return list.map((item, i) => {
    const entry = (typeof item === "object" && item !== null ? item : {}) as Record<string, unknown>;
    const containerId = entry["containerID"];
    const ifName = entry["ifname"];
    if (typeof containerId !== "string" || containerId === "") throw invalidConfig(`${field}[${i}].containerID`, "is required");
    if (typeof ifName !== "string" || ifName === "") throw invalidConfig(`${field}[${i}].ifname`, "is required");
    return { containerId, ifName };
  });
}

/** weft's endpoint name for a CNI attachment: the same for ADD, CHECK, DEL and GC, no state needed. */
export function endpointNameFor(network: string, attachment: Attachment): string {
  const digest = createHash("sha256").update(`${network}\0${attachment.containerId}\0${attachment.ifName}`).digest("hex");
  return `${CNI_ENDPOINT_PREFIX}${digest.slice(0, 20)}`;
}

export const CNI_ENDPOINT_PREFIX = "cni-";
