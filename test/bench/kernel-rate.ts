// How fast the real Kernel writes FDB + neighbour entries: a scratch namespace with one VXLAN device,
// `entries` remote endpoints added then deleted per run (each endpoint = 1 FDB + 1 neighbour entry, both
// counted), median of runs after one warm-up round. Run directly: `npx tsx test/bench/kernel-rate.ts [entries] [runs]`.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { KernelWorkerClient, emptyPlan, type FdbEntry, type NeighbourEntry } from "../../dataplane/index.js";

export interface KernelRate {
  addPerSec: number;
  deletePerSec: number;
  runs: { add: number; delete: number }[];
}

export async function measureKernelRate(options: { entries: number; runs: number }): Promise<KernelRate> {
  const netns = `weft${randomBytes(3).toString("hex")}-kb`;
  const device = "weft-vx1";
  execFileSync("ip", ["netns", "add", netns]);
  let worker: KernelWorkerClient | undefined;
  try {
    execFileSync("ip", ["-n", netns, "link", "add", device, "type", "vxlan", "id", "1", "local", "10.255.0.1", "dstport", "4789", "nolearning", "proxy"]);
    execFileSync("ip", ["-n", netns, "link", "set", device, "up"]);
    worker = new KernelWorkerClient(netns);
    const fdb: FdbEntry[] = [];
    const neighbours: NeighbourEntry[] = [];
    for (let i = 0; i < options.entries; i++) {
      const mac = `02:42:${hex(i >> 24)}:${hex(i >> 16)}:${hex(i >> 8)}:${hex(i)}`;
      fdb.push({ device, mac, dst: `10.255.${1 + (i % 200)}.${1 + ((i >> 8) % 250)}` });
      neighbours.push({ device, ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, mac });
    }
    // One unmeasured round first: the encoder's first thousands of calls run before V8 optimises them.
    await worker.apply({ ...emptyPlan(), fdbAdd: fdb, neighboursAdd: neighbours });
    await worker.apply({ ...emptyPlan(), fdbRemove: fdb, neighboursRemove: neighbours });
    const runs: { add: number; delete: number }[] = [];
    for (let run = 0; run < options.runs; run++) {
      const added = await worker.apply({ ...emptyPlan(), fdbAdd: fdb, neighboursAdd: neighbours });
      requireClean(added.result.errors, "add");
      const deleted = await worker.apply({ ...emptyPlan(), fdbRemove: fdb, neighboursRemove: neighbours });
      requireClean(deleted.result.errors, "delete");
      const count = 2 * options.entries;
      runs.push({ add: count / (added.elapsedMs / 1000), delete: count / (deleted.elapsedMs / 1000) });
    }
    return { addPerSec: median(runs.map((r) => r.add)), deletePerSec: median(runs.map((r) => r.delete)), runs };
  } finally {
    await worker?.close();
    execFileSync("ip", ["netns", "del", netns]);
  }
}

function requireClean(errors: readonly { object: string; message: string }[], phase: string): void {
  if (errors.length > 0) throw new Error(`${phase}: ${errors.length} errors, first: ${errors[0]!.object}: ${errors[0]!.message}`);
}

function hex(value: number): string {
  return (value & 255).toString(16).padStart(2, "0");
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return Math.round(sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const entries = Number(process.argv[2] ?? 10_000);
  const runs = Number(process.argv[3] ?? 3);
  const rate = await measureKernelRate({ entries, runs });
  console.log(JSON.stringify({ entries, ...rate, runs: rate.runs.map((r) => ({ add: Math.round(r.add), delete: Math.round(r.delete) })) }));
}
