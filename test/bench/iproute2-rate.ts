// The same work as kernel-rate.ts through iproute2's batch mode (`bridge -batch` for FDB, `ip -batch`
// for neighbours): the fastest way to program these entries without netlink of one's own, measured on
// the same kernel in the same run so the README can show the ratio.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export async function measureIproute2Rate(options: { entries: number; runs: number }): Promise<{ addPerSec: number; deletePerSec: number }> {
  const netns = `weft${randomBytes(3).toString("hex")}-ib`;
  const dir = mkdtempSync(join(tmpdir(), "weft-iproute2-"));
  const hex = (v: number): string => (v & 255).toString(16).padStart(2, "0");
  const lines = { fdbAdd: [] as string[], fdbDel: [] as string[], neighAdd: [] as string[], neighDel: [] as string[] };
  for (let i = 0; i < options.entries; i++) {
    const mac = `02:42:${hex(i >> 24)}:${hex(i >> 16)}:${hex(i >> 8)}:${hex(i)}`;
    const dst = `10.255.${1 + (i % 200)}.${1 + ((i >> 8) % 250)}`;
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    lines.fdbAdd.push(`fdb append ${mac} dev weft-vx1 dst ${dst} self permanent`);
    lines.fdbDel.push(`fdb del ${mac} dev weft-vx1 dst ${dst} self`);
    lines.neighAdd.push(`neigh replace ${ip} lladdr ${mac} dev weft-vx1 nud permanent`);
    lines.neighDel.push(`neigh del ${ip} dev weft-vx1`);
  }
  for (const [name, content] of Object.entries(lines)) writeFileSync(join(dir, name), content.join("\n") + "\n");
  const timed = (fn: () => void): number => {
    const start = performance.now();
    fn();
    return performance.now() - start;
  };
  execFileSync("ip", ["netns", "add", netns]);
  try {
    execFileSync("ip", ["-n", netns, "link", "add", "weft-vx1", "type", "vxlan", "id", "1", "local", "10.255.0.1", "dstport", "4789", "nolearning", "proxy"]);
    execFileSync("ip", ["-n", netns, "link", "set", "weft-vx1", "up"]);
    const adds: number[] = [];
    const deletes: number[] = [];
    for (let run = 0; run < options.runs; run++) {
      const add = timed(() => {
        execFileSync("bridge", ["-n", netns, "-batch", join(dir, "fdbAdd")]);
        execFileSync("ip", ["-n", netns, "-batch", join(dir, "neighAdd")]);
      });
      const del = timed(() => {
        execFileSync("bridge", ["-n", netns, "-batch", join(dir, "fdbDel")]);
        execFileSync("ip", ["-n", netns, "-batch", join(dir, "neighDel")]);
      });
      adds.push((2 * options.entries) / (add / 1000));
      deletes.push((2 * options.entries) / (del / 1000));
    }
    const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1]!;
    return { addPerSec: median(adds), deletePerSec: median(deletes) };
  } finally {
    execFileSync("ip", ["netns", "del", netns]);
    rmSync(dir, { recursive: true, force: true });
  }
}
