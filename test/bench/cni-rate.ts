// CNI ADD and DEL round trips as a runtime sees them: weft-cni (the installed C forwarder) against a
// lab weftd, next to Debian's bridge + host-local plugins doing a single-host ADD/DEL in the same run
// (the floor a runtime sees today). Each plugin is exec'd with the spec's env and stdin from the host's
// network namespace (nsenter --net, for both, so both pay the same exec cost), one container namespace
// per plugin reused across iterations (each ADD with a fresh container id, each DEL right after it).
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Command } from "commander";
import { addCniCommands } from "../../agent/cli/cni-commands.js";
import { labDown, labUp } from "../../agent/lab/index.js";

const run = promisify(execFile);
const STANDARD_PLUGINS = "/usr/lib/cni";

export interface CniRoundTrips {
  iterations: number;
  weft: { addP50Ms: number; addP99Ms: number; delP50Ms: number; delP99Ms: number };
  bridge: { addP50Ms: number; addP99Ms: number; delP50Ms: number; delP99Ms: number };
}

interface Samples {
  add: number[];
  del: number[];
}

/** Execs `plugin` in network namespace `hostNetns` as libcni would; resolves its wall time in ms. */
function execPlugin(plugin: string, hostNetns: string, command: string, env: Record<string, string>, config: object): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn("nsenter", [`--net=/run/netns/${hostNetns}`, plugin], {
      env: { PATH: process.env["PATH"] ?? "", CNI_COMMAND: command, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = performance.now() - started;
      if (code === 0) resolve(ms);
      else reject(new Error(`${plugin} ${command} exited ${code}: ${out.trim()}`));
    });
    child.stdin.end(JSON.stringify(config));
  });
}

async function addDelLoop(plugin: string, hostNetns: string, containerNetns: string, cniPath: string, config: object, iterations: number, tag: string): Promise<Samples> {
  const samples: Samples = { add: [], del: [] };
  for (let i = 0; i < iterations; i++) {
    const env = { CNI_CONTAINERID: `${tag}${String(i).padStart(6, "0")}`.padEnd(64, "0"), CNI_NETNS: `/run/netns/${containerNetns}`, CNI_IFNAME: "eth0", CNI_PATH: cniPath };
    samples.add.push(await execPlugin(plugin, hostNetns, "ADD", env, config));
    samples.del.push(await execPlugin(plugin, hostNetns, "DEL", env, config));
  }
  return samples;
}

export async function measureCniRoundTrips(options: { iterations: number; percentile: (values: readonly number[], p: number) => number }): Promise<CniRoundTrips> {
  const p = options.percentile;
  const figures = (s: Samples) => ({
    addP50Ms: round(p(s.add, 50)),
    addP99Ms: round(p(s.add, 99)),
    delP50Ms: round(p(s.del, 50)),
    delP99Ms: round(p(s.del, 99)),
  });
  const prefix = `weftc${Math.random().toString(36).slice(2, 6)}`;
  const dir = await mkdtemp(join(tmpdir(), "weft-bench-cni-"));
  const namespaces = [`${prefix}-cw`, `${prefix}-bh`, `${prefix}-cb`];
  try {
    const { state } = await labUp({ hosts: 1, containers: 0, prefix, web: false, log: () => undefined });
    for (const ns of namespaces) await run("ip", ["netns", "add", ns]);
    const host = state.hosts[0]!;
    const network = state.network!.name;
    const program = new Command("weft").option("--api-socket <path>").exitOverride();
    addCniCommands(program, () => undefined);
    await program.parseAsync(["--api-socket", host.apiSocket, "cni", "install", "--network", network, "--bin-dir", join(dir, "bin"), "--conf-dir", join(dir, "net.d")], { from: "user" });
    const conflist = JSON.parse(await readFile(join(dir, "net.d", `10-weft-${network}.conflist`), "utf8")) as { cniVersion: string; name: string; plugins: object[] };
    const weftConfig = { cniVersion: conflist.cniVersion, name: conflist.name, ...conflist.plugins[0] };
    const bridgeConfig = {
      cniVersion: "1.0.0",
      name: `${prefix}-bridge`,
      type: "bridge",
      bridge: "cnibench0",
      isGateway: true,
      ipam: { type: "host-local", subnet: "10.199.0.0/16", dataDir: join(dir, "host-local") },
    };
    // One warm-up round each: first exec of each binary pays the page cache.
    await addDelLoop(join(dir, "bin", "weft"), host.netns, namespaces[0]!, join(dir, "bin"), weftConfig, 1, "warm");
    await addDelLoop(join(STANDARD_PLUGINS, "bridge"), namespaces[1]!, namespaces[2]!, STANDARD_PLUGINS, bridgeConfig, 1, "warm");
    const weft = await addDelLoop(join(dir, "bin", "weft"), host.netns, namespaces[0]!, join(dir, "bin"), weftConfig, options.iterations, prefix);
    const bridge = await addDelLoop(join(STANDARD_PLUGINS, "bridge"), namespaces[1]!, namespaces[2]!, STANDARD_PLUGINS, bridgeConfig, options.iterations, prefix);
    return { iterations: options.iterations, weft: figures(weft), bridge: figures(bridge) };
  } finally {
    for (const ns of namespaces) await run("ip", ["netns", "del", ns]).catch(() => undefined);
    await labDown({ prefix, log: () => undefined });
    await rm(dir, { recursive: true, force: true });
  }
}

const round = (n: number): number => Math.round(n * 10) / 10;
