// Rule updates at scale: weft's table with 1,000 services x 10 backends (each a VIP and a published
// port, Maglev tables of the contract's size) written by the firewall shell into a scratch network
// namespace, then one backend added to one service. The times are the shell's own (onWrite: the nft
// transaction alone), so they are what the agent's weft_mesh_rule_apply_duration_seconds reports.
//
// `npx tsx test/bench/mesh-rules.ts [--runs N]` prints them as JSON.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { maglevTable, maglevTableSize } from "../../controlplane/services/index.js";
import type { DesiredFirewall } from "../../dataplane/desired-state.js";
import type { DesiredMesh, DesiredService } from "../../dataplane/mesh/mesh-state.js";
import { NftablesFirewall } from "../../dataplane/nftables/nftables-firewall.js";
import { firewallTable } from "../../dataplane/nftables/render-firewall.js";
import { median } from "./throughput.js";

const run = promisify(execFile);

export const MESH_RULE_SERVICES = 1000;
export const MESH_RULE_BACKENDS = 10;

export interface MeshRules {
  runs: number;
  services: number;
  backendsPerService: number;
  /** Slots of each service's Maglev table. */
  tableSize: number;
  fullApplyMs: number;
  oneBackendAddedMs: number;
  /** How each write was made, as the shell reported it (expected: full, then incremental). */
  kinds: string[];
}

const BRIDGE = "weft-br42";
// A /12 so that 1,000 VIPs fit in the network's last /20 slice, as the agent would place them.
const SUBNET = "10.64.0.0/12";

const firewall: DesiredFirewall = {
  underlayIface: "ul0",
  egress: { bridge: "weft_gwbridge", subnet: "172.18.0.0/16" },
  networks: [{ name: "bench", vni: 42, bridge: BRIDGE, subnet: SUBNET, gatewayIp: "10.64.0.1", internal: false }],
  dnsPort: 53,
};

function address(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

const NETWORK_BASE = ((10 << 24) | (64 << 16)) >>> 0;
/** The network's last /20 slice, where the agent puts VIPs. */
const VIP_BASE = NETWORK_BASE + (15 << 16) + (240 << 8);

function service(i: number, backendCount: number): DesiredService {
  // 16 addresses per service from 10.64.1.0 on, sorted by construction.
  const ips = Array.from({ length: backendCount }, (_, b) => address(NETWORK_BASE + 256 + i * 16 + b));
  const local = ips.map((_, b) => b).filter((b) => b % 3 === 0);
  const localTable = maglevTable(local.map((b) => ips[b]!), maglevTableSize(local.length)).map((j) => local[j]!);
  return {
    name: `svc${String(i).padStart(4, "0")}`,
    bridge: BRIDGE,
    vip: address(VIP_BASE + 1 + i),
    affinity: "none",
    hashSeed: Math.imul(i + 1, 2654435761) >>> 0,
    backends: ips.map((ip, b) => ({ ip, local: local.includes(b) })),
    table: maglevTable(ips, maglevTableSize(ips.length)),
    localTable,
    ports: [{ protocol: "tcp", published: 10_000 + i, target: 80, publishMode: "ingress" }],
  };
}

function benchMesh(services: number, backends: number, grown?: number): DesiredMesh {
  return { services: Array.from({ length: services }, (_, i) => service(i, i === grown ? backends + 1 : backends)) };
}

/**
 * One run, in the current network namespace: the table written whole, then with one backend more. The
 * shell runs as in weftd (no `run` given), so a change confined to slot maps takes the agent's own
 * path (one nf_tables netlink batch), not nft's.
 */
async function measureOnce(): Promise<{ fullMs: number; addedMs: number; kinds: string[] }> {
  const before = firewallTable(firewall, benchMesh(MESH_RULE_SERVICES, MESH_RULE_BACKENDS));
  const after = firewallTable(firewall, benchMesh(MESH_RULE_SERVICES, MESH_RULE_BACKENDS, 500));
  const writes: Array<{ ms: number; kind: string }> = [];
  const shell = new NftablesFirewall({
    onWrite: (ms, kind) => writes.push({ ms, kind }),
    conntrack: { deleteMeshEntries: async () => 0 },
  });
  await shell.apply(before);
  await shell.apply(after);
  if (writes.length !== 2) throw new Error(`expected 2 writes, the shell made ${writes.length}`);
  return { fullMs: writes[0]!.ms, addedMs: writes[1]!.ms, kinds: writes.map((w) => w.kind) };
}

export async function measureMeshRules(options: { runs: number }): Promise<MeshRules> {
  const full: number[] = [];
  const added: number[] = [];
  const kinds: string[] = [];
  for (let i = 0; i < options.runs; i++) {
    const netns = `weftbench-${randomBytes(3).toString("hex")}`;
    await run("ip", ["netns", "add", netns]);
    try {
      // A process of its own inside the scratch namespace, as weftd runs in its host's.
      const { stdout } = await run("ip", ["netns", "exec", netns, process.execPath, "--import", "tsx", fileURLToPath(import.meta.url), "--once"], { maxBuffer: 1 << 20 });
      const once = JSON.parse(stdout) as Awaited<ReturnType<typeof measureOnce>>;
      full.push(once.fullMs);
      added.push(once.addedMs);
      if (i === 0) kinds.push(...once.kinds);
    } finally {
      await run("ip", ["netns", "del", netns]).catch(() => undefined);
    }
  }
  const round = (n: number): number => Math.round(n * 10) / 10;
  return {
    runs: options.runs,
    services: MESH_RULE_SERVICES,
    backendsPerService: MESH_RULE_BACKENDS,
    tableSize: maglevTableSize(MESH_RULE_BACKENDS),
    fullApplyMs: round(median(full)),
    oneBackendAddedMs: round(median(added)),
    kinds,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "3" }, once: { type: "boolean", default: false } } });
  const result = values.once ? await measureOnce() : await measureMeshRules({ runs: Number(values.runs) });
  process.stdout.write(JSON.stringify(result) + "\n");
}
