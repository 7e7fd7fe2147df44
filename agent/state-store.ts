// What an agent keeps across restarts in its state dir: its subnet slices, its local endpoints (with
// the identity of each one's namespace) and its gossip version. Written crash-safe: a temp file,
// fsynced, the previous copy kept as state.json.prev, a rename, then the directory fsynced. A
// state.json that cannot be read or parsed falls back to the previous copy.
import { constants } from "node:fs";
import { copyFile, mkdir, open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { errorText, isIPv4, isMac } from "../proto/values/index.js";

export interface LocalEndpoint {
  id: string;
  name: string;
  network: string;
  netns: string;
  ifName: string;
  ip: string;
  mac: string;
  createdAt: string;
  /** Device and inode of the namespace at attach; absent for endpoints attached before weft recorded it. */
  netnsId?: { dev: number; ino: number };
  /** More DNS names of the endpoint in its network; absent in states written before aliases. */
  aliases?: string[];
  /** Announced through gossip (services select backends by them); absent when none. */
  labels?: Record<string, string>;
  /** Its leg on the egress bridge (address from this host's egress subnet); absent on internal networks. */
  egress?: EgressLeg;
}

export interface EgressLeg {
  /** Interface name inside the namespace, eth1 by default. */
  ifName: string;
  ip: string;
  mac: string;
}

export interface AgentState {
  node: string;
  gossipVersion: number;
  /** network name -> this node's slice CIDR (kept after the slice is released, to prefer it again) */
  subnets: Record<string, string>;
  endpoints: LocalEndpoint[];
}

/** Where a loaded state came from: its file, the previous copy (the file was corrupt), or nowhere. */
export type StateSource = "current" | "previous" | "none";

export function emptyState(node: string): AgentState {
  return { node, gossipVersion: 0, subnets: {}, endpoints: [] };
}

export class StateStore {
  readonly path: string;
  readonly previousPath: string;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly dir: string,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    this.path = join(dir, "state.json");
    this.previousPath = `${this.path}.prev`;
  }

  async load(node: string): Promise<AgentState> {
    return (await this.loadWithSource(node)).state;
  }

  async loadWithSource(node: string): Promise<{ state: AgentState; source: StateSource }> {
    const current = await readState(this.path);
    if (current.kind === "ok") return { state: belongsTo(current.state, node, this.path), source: "current" };
    const previous = await readState(this.previousPath);
    if (current.kind === "corrupt") {
      this.log(`${this.path} is unreadable (${current.reason}); ${previous.kind === "ok" ? `using the previous copy ${this.previousPath}` : "no usable previous copy either"}`);
    }
    if (previous.kind === "ok") return { state: belongsTo(previous.state, node, this.previousPath), source: "previous" };
    if (current.kind === "corrupt" && previous.kind === "corrupt") {
      this.log(`${this.previousPath} is unreadable too (${previous.reason}); starting with no state`);
    }
    return { state: emptyState(node), source: "none" };
  }

  /** Saves a snapshot; saves are serialized so an older snapshot never overwrites a newer one. */
  save(state: AgentState): Promise<void> {
    const text = JSON.stringify(state, null, 2);
    this.writing = this.writing.catch(() => undefined).then(() => this.write(text));
    return this.writing;
  }

  private async write(text: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.tmp`;
    const file = await open(tmp, "w", 0o600);
    try {
      await file.writeFile(text);
      await file.sync();
    } finally {
      await file.close();
    }
    // The copy being replaced becomes the fallback (a copy, so state.json is never missing).
    await copyFile(this.path, this.previousPath).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    });
    await rename(tmp, this.path);
    const dir = await open(this.dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

type ReadResult = { kind: "ok"; state: AgentState } | { kind: "missing" } | { kind: "corrupt"; reason: string };

async function readState(path: string): Promise<ReadResult> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { kind: "missing" };
    return { kind: "corrupt", reason: errorText(err) };
  }
  try {
    return { kind: "ok", state: parseAgentState(JSON.parse(text), path) };
  } catch (err) {
    return { kind: "corrupt", reason: errorText(err) };
  }
}

function belongsTo(state: AgentState, node: string, path: string): AgentState {
  if (state.node !== node) {
    throw new Error(`${path} belongs to node "${state.node}", not "${node}": use another --state-dir or the same --node-name`);
  }
  return state;
}

function parseAgentState(value: unknown, path: string): AgentState {
  const fail = (field: string, reason: string): never => {
    throw new Error(`${path}: ${field}: ${reason}`);
  };
  if (typeof value !== "object" || value === null) fail("(root)", "must be an object");
  const v = value as Record<string, unknown>;
  if (typeof v["node"] !== "string") fail("node", "must be a string");
  if (typeof v["gossipVersion"] !== "number" || !Number.isSafeInteger(v["gossipVersion"])) fail("gossipVersion", "must be an integer");
  if (typeof v["subnets"] !== "object" || v["subnets"] === null || Array.isArray(v["subnets"])) fail("subnets", "must be an object");
  for (const [network, cidr] of Object.entries(v["subnets"] as object)) {
    if (typeof cidr !== "string") fail(`subnets.${network}`, "must be a string");
  }
  if (!Array.isArray(v["endpoints"])) fail("endpoints", "must be an array");
  const endpoints = (v["endpoints"] as unknown[]).map((e, i) => {
    if (typeof e !== "object" || e === null) return fail(`endpoints[${i}]`, "must be an object");
    const r = e as Record<string, unknown>;
    for (const key of ["id", "name", "network", "netns", "ifName", "ip", "mac", "createdAt"]) {
      if (typeof r[key] !== "string") fail(`endpoints[${i}].${key}`, "must be a string");
    }
    if (!isIPv4(r["ip"])) fail(`endpoints[${i}].ip`, "must be an IPv4 address");
    if (!isMac(r["mac"])) fail(`endpoints[${i}].mac`, "must be a MAC address");
    const aliases = r["aliases"];
    if (aliases !== undefined && (!Array.isArray(aliases) || aliases.some((a) => typeof a !== "string"))) fail(`endpoints[${i}].aliases`, "must be a list of names");
    const labels = r["labels"];
    if (labels !== undefined && (typeof labels !== "object" || labels === null || Array.isArray(labels) || Object.values(labels).some((v) => typeof v !== "string"))) {
      fail(`endpoints[${i}].labels`, "must be an object of string values");
    }
    const egress = r["egress"] as Record<string, unknown> | undefined;
    if (egress !== undefined) {
      if (typeof egress !== "object" || egress === null) fail(`endpoints[${i}].egress`, "must be { ifName, ip, mac }");
      if (typeof egress["ifName"] !== "string") fail(`endpoints[${i}].egress.ifName`, "must be a string");
      if (!isIPv4(egress["ip"])) fail(`endpoints[${i}].egress.ip`, "must be an IPv4 address");
      if (!isMac(egress["mac"])) fail(`endpoints[${i}].egress.mac`, "must be a MAC address");
    }
    const id = r["netnsId"];
    if (id !== undefined) {
      const n = id as Record<string, unknown>;
      if (typeof id !== "object" || id === null || !Number.isSafeInteger(n["dev"]) || !Number.isSafeInteger(n["ino"])) {
        fail(`endpoints[${i}].netnsId`, "must be { dev, ino } integers");
      }
    }
    return r as unknown as LocalEndpoint;
  });
  return {
    node: v["node"] as string,
    gossipVersion: v["gossipVersion"] as number,
    subnets: v["subnets"] as Record<string, string>,
    endpoints,
  };
}
