// The README's first command, the way a user runs it: the `weft` bin shim (compiled code when dist/
// is fresh, as after `npm ci`) builds a lab, reports it, and takes it down again.
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { labDown, type CheckResult } from "../../agent/lab/index.js";
import { firstNetworkPings, uniqueLabPrefix } from "../helpers/lab.js";

const run = promisify(execFile);
const CLI = new URL("../../agent/bin/weft.js", import.meta.url).pathname;
const prefix = uniqueLabPrefix();

afterAll(async () => {
  await labDown({ prefix });
}, 60_000);

function labNamespaces(): string[] {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.split(" ")[0]!)
    .filter((ns) => ns.startsWith(`${prefix}-`));
}

describe("weft lab through the CLI", () => {
  it("comes up with every cross-host pair reachable, reports status, and goes away", async () => {
    const up = await run("node", [CLI, "--json", "lab", "up", "--hosts", "2", "--containers", "1", "--prefix", prefix], { timeout: 120_000 });
    const result = JSON.parse(up.stdout) as { hosts: unknown[]; containers: Array<{ ip: string }>; checks: CheckResult[] };
    expect(result.hosts).toHaveLength(2);
    expect(result.containers).toHaveLength(2);
    expect(firstNetworkPings(result.checks)).toHaveLength(2);
    expect(new Set(result.checks.map((c) => c.kind))).toEqual(new Set(["ping", "egress", "name", "isolation"]));
    expect(result.checks.every((c) => c.ok)).toBe(true);

    const status = JSON.parse((await run("node", [CLI, "--json", "lab", "status", "--prefix", prefix])).stdout) as {
      hosts: Array<{ name: string; netns: string; underlayIp: string; agentPid: number; apiSocket: string }>;
      containers: Array<{ name: string; host: string; netns: string; network: string; ip: string; mac: string }>;
    };
    expect(status.hosts.map((h) => h.name)).toEqual(["h1", "h2"]);
    expect(status.hosts.every((h) => h.agentPid > 0 && h.apiSocket.endsWith(`${h.name}.sock`))).toBe(true);
    expect(status.containers.map((c) => c.ip).sort()).toEqual(result.containers.map((c) => c.ip).sort());

    await run("node", [CLI, "lab", "check", "--prefix", prefix], { timeout: 60_000 });
    await run("node", [CLI, "lab", "down", "--prefix", prefix], { timeout: 60_000 });
    expect(labNamespaces()).toEqual([]);
  });
});
