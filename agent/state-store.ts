// What an agent keeps across restarts in its state dir: its subnet slices, its local endpoints and
// its gossip version. Written atomically (temp file + rename); validated on read.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface LocalEndpoint {
  id: string;
  name: string;
  network: string;
  netns: string;
  ifName: string;
  ip: string;
  mac: string;
  createdAt: string;
}

export interface AgentState {
  node: string;
  gossipVersion: number;
  /** network name -> this node's slice CIDR */
  subnets: Record<string, string>;
  endpoints: LocalEndpoint[];
}

export function emptyState(node: string): AgentState {
  return { node, gossipVersion: 0, subnets: {}, endpoints: [] };
}

export class StateStore {
  private readonly path: string;
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly dir: string) {
    this.path = join(dir, "state.json");
  }

  async load(node: string): Promise<AgentState> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return emptyState(node);
      throw err;
    }
    const state = parseAgentState(JSON.parse(text), this.path);
    if (state.node !== node) {
      throw new Error(`${this.path} belongs to node "${state.node}", not "${node}": use another --state-dir or the same --node-name`);
    }
    return state;
  }

  /** Saves a snapshot; saves are serialized so an older snapshot never overwrites a newer one. */
  save(state: AgentState): Promise<void> {
    const text = JSON.stringify(state, null, 2);
    this.writing = this.writing
      .catch(() => undefined)
      .then(async () => {
        await mkdir(this.dir, { recursive: true, mode: 0o700 });
        const tmp = `${this.path}.tmp`;
        await writeFile(tmp, text, { mode: 0o600 });
        await rename(tmp, this.path);
      });
    return this.writing;
  }
}

function parseAgentState(value: unknown, path: string): AgentState {
  const fail = (field: string, reason: string): never => {
    throw new Error(`${path}: ${field}: ${reason}`);
  };
  if (typeof value !== "object" || value === null) fail("(root)", "must be an object");
  const v = value as Record<string, unknown>;
  if (typeof v["node"] !== "string") fail("node", "must be a string");
  if (typeof v["gossipVersion"] !== "number") fail("gossipVersion", "must be a number");
  if (typeof v["subnets"] !== "object" || v["subnets"] === null) fail("subnets", "must be an object");
  if (!Array.isArray(v["endpoints"])) fail("endpoints", "must be an array");
  const endpoints = (v["endpoints"] as unknown[]).map((e, i) => {
    if (typeof e !== "object" || e === null) return fail(`endpoints[${i}]`, "must be an object");
    const r = e as Record<string, unknown>;
    for (const key of ["id", "name", "network", "netns", "ifName", "ip", "mac", "createdAt"]) {
      if (typeof r[key] !== "string") fail(`endpoints[${i}].${key}`, "must be a string");
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
