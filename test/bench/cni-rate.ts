// CNI ADD and DEL round trips as a runtime sees them: weft-cni (the installed C forwarder) against a
// lab weftd, next to Debian's bridge + host-local plugins doing a single-host ADD/DEL in the same run
// (the floor a runtime sees today). Each plugin is exec'd with the spec's env and stdin from the host's
// network namespace (nsenter --net, for both, so both pay the same exec cost), one container namespace
// per plugin reused across iterations (each ADD with a fresh container id, each DEL right after it).
// Then `podman run` -> reachable from another host: podman (network_backend "cni", runc, an image
// imported from a busybox rootfs) started in h1's namespace with weft's conflist; from the call until a
// lab container on h2 gets a ping reply from the new container's address (ping every ~50 ms).
import { execFile, spawn } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
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
  podman: { runs: number; runToReachableP50Ms: number; runToReachableP99Ms: number } | undefined;
}

const IMAGE = "localhost/weft-bench-busybox";

/** podman in network namespace `netns`, with its own storage and config under `dir`. */
async function podman(dir: string, netns: string, args: string[]): Promise<string> {
  const { stdout } = await run(
    "nsenter",
    [`--net=/run/netns/${netns}`, "podman", "--root", join(dir, "root"), "--runroot", join(dir, "run"), "--storage-driver", "vfs", "--network-config-dir", join(dir, "net.d"), ...args],
    { env: { ...process.env, CONTAINERS_CONF: join(dir, "containers.conf") }, timeout: 60_000 },
  );
  return stdout.trim();
}

async function preparePodman(dir: string, netns: string): Promise<void> {
  await writeFile(
    join(dir, "containers.conf"),
    ["[containers]", 'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]', "[network]", 'network_backend = "cni"', `cni_plugin_dirs = ["${join(dir, "bin")}", "${STANDARD_PLUGINS}"]`, "[engine]", 'cgroup_manager = "cgroupfs"', 'events_logger = "file"', 'runtime = "runc"', ""].join("\n"),
  );
  const rootfs = join(dir, "rootfs");
  await mkdir(join(rootfs, "bin"), { recursive: true });
  await copyFile("/bin/busybox", join(rootfs, "bin", "busybox"));
  for (const applet of ["sh", "sleep"]) await symlink("busybox", join(rootfs, "bin", applet));
  await run("tar", ["-C", rootfs, "-cf", join(dir, "rootfs.tar"), "."]);
  await podman(dir, netns, ["import", join(dir, "rootfs.tar"), IMAGE]);
}

async function podmanRunToReachable(dir: string, hostNetns: string, network: string, fromNetns: string, name: string): Promise<number> {
  const started = performance.now();
  await podman(dir, hostNetns, ["run", "-d", "--name", name, "--network", network, IMAGE, "sleep", "600"]);
  const ip = await podman(dir, hostNetns, ["inspect", "--format", `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, name]);
  const deadline = started + 30_000;
  while (performance.now() < deadline) {
    const replied = await run("ip", ["netns", "exec", fromNetns, "ping", "-c", "1", "-W", "0.05", ip]).then(() => true, () => false);
    if (replied) return performance.now() - started;
  }
  throw new Error(`podman container ${name} (${ip}) not reachable from ${fromNetns} within 30 s`);
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

export async function measureCniRoundTrips(options: { iterations: number; podmanRuns: number; percentile: (values: readonly number[], p: number) => number }): Promise<CniRoundTrips> {
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
    const { state } = await labUp({ hosts: 2, containers: 1, prefix, web: false, log: () => undefined });
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
    let podmanFigures: CniRoundTrips["podman"];
    if (options.podmanRuns > 0) {
      await preparePodman(dir, host.netns);
      const from = state.containers.find((c) => c.host !== host.name)!;
      const samples: number[] = [];
      for (let i = 0; i < options.podmanRuns; i++) {
        const name = `${prefix}-p${i}`;
        samples.push(await podmanRunToReachable(dir, host.netns, network, from.netns, name));
        await podman(dir, host.netns, ["rm", "-f", "-t", "0", name]);
      }
      podmanFigures = { runs: options.podmanRuns, runToReachableP50Ms: round(p(samples, 50)), runToReachableP99Ms: round(p(samples, 99)) };
    }
    return { iterations: options.iterations, weft: figures(weft), bridge: figures(bridge), podman: podmanFigures };
  } finally {
    await podman(dir, namespaces[0]!, ["rm", "-a", "-f", "-t", "0"]).catch(() => undefined);
    for (const ns of namespaces) await run("ip", ["netns", "del", ns]).catch(() => undefined);
    await labDown({ prefix, log: () => undefined });
    await rm(dir, { recursive: true, force: true });
  }
}

const round = (n: number): number => Math.round(n * 10) / 10;
