// The README's first command, the way a user runs it: the `weft` bin shim (compiled code when dist/
// is fresh, as after `npm ci`) builds a lab with its service `web`, reports it, and takes it down again.
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
    expect(new Set(result.checks.map((c) => c.kind))).toEqual(new Set(["ping", "egress", "name", "isolation", "mesh"]));
    // The service web: each host's 8080 from the world and from a container, its VIP and its name.
    expect(result.checks.filter((c) => c.kind === "mesh").map((c) => `${c.from === "world" ? "world" : "container"} ${c.to}`)).toEqual([
      "world h1:8080",
      "world h2:8080",
      "container h1:8080",
      "container h2:8080",
      expect.stringMatching(/^container VIP 10\.40\.255\.\d+:80$/),
      "container web:80",
    ]);
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);

    const status = JSON.parse((await run("node", [CLI, "--json", "lab", "status", "--prefix", prefix])).stdout) as {
      hosts: Array<{ name: string; netns: string; underlayIp: string; agentPid: number; apiSocket: string }>;
      containers: Array<{ name: string; host: string; netns: string; network: string; ip: string; mac: string }>;
      services: Array<{ name: string; network: string; vip?: string; ports: unknown[]; backends: Array<{ name: string; node: string }> }>;
    };
    expect(status.hosts.map((h) => h.name)).toEqual(["h1", "h2"]);
    expect(status.hosts.every((h) => h.agentPid > 0 && h.apiSocket.endsWith(`${h.name}.sock`))).toBe(true);
    expect(status.containers.map((c) => c.ip).sort()).toEqual(result.containers.map((c) => c.ip).sort());
    expect(status.services).toEqual([
      {
        name: "web",
        network: "weft-lab",
        mode: "vip",
        vip: expect.stringMatching(/^10\.40\.255\.\d+$/),
        ports: [{ protocol: "tcp", published: 8080, target: 80, publishMode: "ingress" }],
        backends: [{ name: `${prefix}-h1-w1`, ip: expect.stringMatching(/^10\.40\./), node: "h1", endpointId: expect.any(String) }],
      },
    ]);

    await run("node", [CLI, "lab", "check", "--prefix", prefix], { timeout: 60_000 });
    await run("node", [CLI, "lab", "down", "--prefix", prefix], { timeout: 60_000 });
    expect(labNamespaces()).toEqual([]);
  });
});
