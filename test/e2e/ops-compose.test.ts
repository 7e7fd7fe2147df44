// compose/docker-compose.yml brought up for real: a private dockerd (Debian's docker.io 20.10) in a
// network namespace of its own (nsenter --net + unshare --mount: `ip netns exec` empties
// /sys/fs/cgroup and runc fails), with its own data-root, exec-root, pidfile and socket; its builds
// reach Debian's archive through its own NAT and a masquerade on the host for that namespace's one
// address. compose/images/build-images.sh builds the images with no registry (a debootstrap root
// imported as weft-debian:12, etcd and Prometheus from Debian's packages, the agent from the release
// tarball); `docker-compose up` starts etcd, the three agents and Prometheus (not Grafana: its image
// needs a registry) under a project name and underlay of this run's own. The agents register and see
// each other, endpoints attached on two of them (a namespace inside each agent's container) ping
// across, and Prometheus scrapes all three. At the end `docker-compose down -v`, and every container,
// network and volume of the run, the namespace and the host's masquerade rule go.
//
// Where this machine's capability bounding set lacks some (CAP_SYS_RESOURCE here), dockerd's
// `privileged: true` asks runc for every capability and fails ("unable to apply caps"); the test's
// dockerd then runs runc through a wrapper that leaves out only those, so the compose file runs as
// written.
//
// The data-root is kept in /var/tmp/weft-compose-dockerd as a build cache (the images, whose apt-get
// layers are reused; each run rebuilds only the agent's release layer, older agent images are pruned):
// on a shared 2-core machine a cold run (debootstrap and every apt-get) took 9 min 56 s, a warm one
// 1 min 43 s (2 min 51 s under a load of 12), about half of it the release build.
// Needs docker.io, docker-compose, debootstrap, curl and python3 (docker-compose's own).
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { randomInt } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../agent/package-root.js";
import { pollUntil, uniqueLabPrefix } from "../helpers/lab.js";
import { debianRoot, releaseTarball } from "../helpers/ops-cache.js";

const run = promisify(execFile);
const REPO = packageRoot();
const COMPOSE_FILE = join(REPO, "compose/docker-compose.yml");
const DATA_ROOT = "/var/tmp/weft-compose-dockerd";
const DOCKER_CLI = "/usr/bin/docker";
const AGENTS = ["weft1", "weft2", "weft3"] as const;
const prefix = uniqueLabPrefix();
const project = `${prefix}compose`;
const netns = `${prefix}-dk`;
const hostVeth = `${prefix}-h`;
// The namespace's one address towards the host: a /30 of 100.66.0.0/16 (shared address space, used by
// nothing else here); the compose underlay lives only inside the namespace, a different one each run.
const slot = randomInt(16384) * 4;
const hostIp = `100.66.${slot >> 8}.${(slot & 255) + 1}`;
const nsIp = `100.66.${slot >> 8}.${(slot & 255) + 2}`;
const underlay = `10.60.${randomInt(1, 255)}`;
const NETWORK = { name: "composenet", subnet: "10.98.0.0/16" };

// Linux's capability numbers (capability.h), to name the ones this machine's bounding set lacks.
const CAPABILITIES = [
  "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE",
  "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT",
  "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE",
  "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
  "PERFMON", "BPF", "CHECKPOINT_RESTORE",
];

let dir = "";
let dockerd: ChildProcess | undefined;
const made = { netns: false, nat: false };

const socket = (): string => join(dir, "docker.sock");
const env = (): NodeJS.ProcessEnv => ({ ...process.env, DOCKER_HOST: `unix://${socket()}`, WEFT_COMPOSE_UNDERLAY: underlay });

async function docker(args: string[], timeout = 60_000): Promise<string> {
  const { stdout } = await run(DOCKER_CLI, ["-H", `unix://${socket()}`, ...args], { timeout, maxBuffer: 64 << 20 });
  return stdout.trim();
}
async function compose(args: string[], timeout = 120_000): Promise<string> {
  const { stdout } = await run("docker-compose", ["-p", project, "-f", COMPOSE_FILE, ...args], { env: env(), timeout, maxBuffer: 64 << 20 });
  return stdout.trim();
}
type Outcome = { ok: boolean; out: string };
const outcome = (promise: Promise<string>): Promise<Outcome> =>
  promise.then(
    (out) => ({ ok: true, out }),
    (err: { stdout?: string; stderr?: string; message: string }) => ({ ok: false, out: `${err.stdout ?? ""}${err.stderr ?? ""}${err.message}` }),
  );
/** A command inside a service's container, as an operator runs it: `docker-compose exec`. */
const composeExec = (service: string, ...args: string[]): Promise<Outcome> => outcome(compose(["exec", "-T", service, ...args], 30_000));
/** The same through docker itself, for polling: docker-compose takes seconds to start on a busy machine. */
const containers = new Map<string, string>();
const dockerExec = (service: string, ...args: string[]): Promise<Outcome> => outcome(docker(["exec", containers.get(service)!, ...args], 30_000));
/** Prometheus' API at its published port, which is on the loopback of dockerd's namespace. */
async function prometheus(path: string): Promise<unknown> {
  const { stdout } = await run("nsenter", [`--net=/run/netns/${netns}`, "curl", "-sf", "--max-time", "5", `http://127.0.0.1:9090${path}`], { timeout: 10_000 });
  return JSON.parse(stdout) as unknown;
}
function sh(command: string, args: string[]): void {
  execFileSync(command, args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** CAP_* names up to the kernel's last that this process's bounding set lacks. */
function missingCapabilities(): string[] {
  const bounding = BigInt(`0x${/^CapBnd:\s+(\w+)$/m.exec(readFileSync("/proc/self/status", "utf8"))![1]}`);
  const last = Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8"));
  return CAPABILITIES.slice(0, last + 1).filter((_, bit) => (bounding & (1n << BigInt(bit))) === 0n).map((name) => `CAP_${name}`);
}

/** runc, leaving out of every container and exec the capabilities `drop` names (runc's arguments: --bundle DIR, --process FILE). */
function runcWithout(drop: string[]): string {
  const filter = join(dir, "drop-caps.py");
  writeFileSync(filter, [
    "import json, sys",
    `DROP = set(${JSON.stringify(drop)})`,
    "path, key = sys.argv[1], sys.argv[2]",
    "doc = json.load(open(path))",
    "caps = (doc[key] if key else doc).get('capabilities') or {}",
    "for kind in caps: caps[kind] = [c for c in caps[kind] if c not in DROP]",
    "json.dump(doc, open(path, 'w'))",
  ].join("\n"));
  const wrapper = join(dir, "runc");
  writeFileSync(wrapper, [
    "#!/bin/sh",
    "prev=",
    "for arg; do",
    `  case "$prev" in --bundle|-b) python3 ${filter} "$arg/config.json" process ;; --process|-p) python3 ${filter} "$arg" '' ;; esac`,
    "  prev=$arg",
    "done",
    `exec ${execFileSync("sh", ["-c", "command -v runc"], { encoding: "utf8" }).trim()} "$@"`,
  ].join("\n"), { mode: 0o755 });
  return wrapper;
}

async function startDockerd(): Promise<void> {
  mkdirSync(DATA_ROOT, { recursive: true });
  // One dockerd per data-root: a run killed before its afterAll may have left one.
  const others = readdirSync("/proc").filter((pid) => /^\d+$/.test(pid)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(DATA_ROOT);
    } catch {
      return false;
    }
  });
  if (others.length > 0) throw new Error(`a dockerd already uses ${DATA_ROOT} (pid ${others.join(", ")}): stop it first`);
  const drop = missingCapabilities();
  const runtime = drop.length === 0 ? [] : ["--add-runtime", `weft-runc=${runcWithout(drop)}`, "--default-runtime", "weft-runc"];
  const log = openSync(join(dir, "dockerd.log"), "a");
  dockerd = spawn(
    "nsenter",
    [`--net=/run/netns/${netns}`, "--", "unshare", "--mount", "--propagation", "slave", "--",
      "dockerd", "--data-root", DATA_ROOT, "--exec-root", join(dir, "exec"), "--pidfile", join(dir, "docker.pid"), "-H", `unix://${socket()}`,
      "--storage-driver", "overlay2", "--exec-opt", "native.cgroupdriver=cgroupfs", "--log-level", "warn", ...runtime],
    { detached: true, stdio: ["ignore", log, log] },
  );
  closeSync(log);
  const up = await pollUntil(() => docker(["version", "--format", "{{.Server.Version}}"], 5000).then(() => true, () => false), (ok) => ok, 60_000, 250);
  if (!up) throw new Error(`dockerd did not start: ${readFileSync(join(dir, "dockerd.log"), "utf8")}`);
}

async function stopDockerd(): Promise<void> {
  const child = dockerd;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

beforeAll(async () => {
  // Short: containerd's shim sockets live under the exec-root.
  dir = mkdtempSync(join(tmpdir(), "wc-"));
  sh("ip", ["netns", "add", netns]);
  made.netns = true;
  sh("ip", ["link", "add", hostVeth, "type", "veth", "peer", "name", `${prefix}-n`]);
  sh("ip", ["link", "set", `${prefix}-n`, "netns", netns]);
  sh("ip", ["addr", "add", `${hostIp}/30`, "dev", hostVeth]);
  sh("ip", ["link", "set", hostVeth, "up"]);
  sh("ip", ["-n", netns, "link", "set", "lo", "up"]);
  sh("ip", ["-n", netns, "link", "set", `${prefix}-n`, "name", "uplink"]);
  sh("ip", ["-n", netns, "addr", "add", `${nsIp}/30`, "dev", "uplink"]);
  sh("ip", ["-n", netns, "link", "set", "uplink", "up"]);
  sh("ip", ["-n", netns, "route", "add", "default", "via", hostIp]);
  // The host forwards (podman's and the labs' tests need it too) and masquerades this one address.
  execFileSync("nft", ["-f", "-"], { input: `table ip ${prefix} {\n chain postrouting {\n  type nat hook postrouting priority srcnat; policy accept;\n  ip saddr ${nsIp} oifname != "${hostVeth}" masquerade\n }\n}\n` });
  made.nat = true;
  sh("sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
  await startDockerd();
  // The clean Debian root and the release the other operator tests use, built once for all of them.
  const base = { WEFT_DEBIAN_ROOT: await debianRoot(), WEFT_RELEASE: await releaseTarball() };
  const build = spawnSync(join(REPO, "compose/images/build-images.sh"), [], { env: { ...env(), ...base }, encoding: "utf8", maxBuffer: 256 << 20 });
  if (build.status !== 0) throw new Error(`build-images.sh failed: ${build.stdout.slice(-4000)}${build.stderr.slice(-4000)}`);
  await compose(["up", "-d", "--no-build", "etcd", ...AGENTS, "prometheus"], 180_000);
  for (const service of AGENTS) containers.set(service, await compose(["ps", "-q", service]));
}, 1_200_000);

afterAll(async () => {
  if (dockerd) {
    await compose(["down", "-v", "--remove-orphans", "-t", "5"]).catch(() => undefined);
    const ids = await docker(["ps", "-aq"]).catch(() => "");
    if (ids) await docker(["rm", "-f", "-v", ...ids.split("\n")]).catch(() => undefined);
    // The images stay as the build cache; an earlier run's agent image (now untagged) goes.
    await docker(["image", "prune", "-f"]).catch(() => undefined);
    await docker(["network", "prune", "-f"]).catch(() => undefined);
    await stopDockerd();
  }
  if (made.nat) spawnSync("nft", ["delete", "table", "ip", prefix], { stdio: "ignore" });
  if (made.netns) {
    spawnSync("ip", ["link", "del", hostVeth], { stdio: "ignore" });
    spawnSync("ip", ["netns", "del", netns], { stdio: "ignore" });
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 180_000);

describe("compose/docker-compose.yml under a private dockerd", () => {
  it("starts etcd, three agents that register and see each other, and Prometheus", async () => {
    const statuses = await pollUntil(
      () => Promise.all(AGENTS.map(async (name) => {
        const { ok, out } = await dockerExec(name, "weft", "--json", "status");
        return ok ? (JSON.parse(out) as { node: string; etcdConnected: boolean; peersAlive: number }) : undefined;
      })),
      (all) => all.every((s) => s?.etcdConnected === true && s.peersAlive === 2),
      120_000,
      1000,
    );
    expect(statuses, await compose(["logs", "--tail", "20"]).catch((e: Error) => e.message)).toEqual(
      AGENTS.map((name) => expect.objectContaining({ node: name, etcdConnected: true, peersAlive: 2 })),
    );
    const ps = await compose(["ps", "--services", "--filter", "status=running"]);
    expect(ps.split("\n").sort()).toEqual(["etcd", "prometheus", ...AGENTS]);
    const status = await composeExec("weft3", "weft", "status");
    expect(status.out).toMatch(/^peers\s+2 alive of 2$/m);
  }, 150_000);

  it("attaches endpoints on two agents, each in a namespace inside its agent's container, that ping across", async () => {
    const created = await composeExec("weft1", "weft", "network", "create", NETWORK.name, "--subnet", NETWORK.subnet);
    expect(created.ok, created.out).toBe(true);
    const ips: string[] = [];
    for (const name of ["weft1", "weft2"]) {
      expect((await dockerExec(name, "ip", "netns", "add", "app")).ok).toBe(true);
      const attached = await composeExec(name, "weft", "--json", "endpoint", "attach", "--network", NETWORK.name, "--netns", "app", "--name", `${name}-app`);
      expect(attached.ok, attached.out).toBe(true);
      ips.push((JSON.parse(attached.out) as { endpoint: { ip: string } }).endpoint.ip);
    }
    const ping = (from: string, to: string) => dockerExec(from, "ip", "netns", "exec", "app", "ping", "-c", "1", "-W", "2", to);
    const reached = await pollUntil(() => ping("weft2", ips[0]!), (r) => r.ok, 20_000, 200);
    expect(reached.ok, reached.out).toBe(true);
    const back = await ping("weft1", ips[1]!);
    expect(back.ok, back.out).toBe(true);
  }, 90_000);

  it("Prometheus scrapes all three agents", async () => {
    type Targets = { data: { activeTargets: { labels: { job: string; instance: string }; health: string }[] } };
    const targets = await pollUntil(
      () => prometheus("/api/v1/targets?state=active").then((t) => (t as Targets).data.activeTargets.filter((x) => x.labels.job === "weft"), () => []),
      (weft) => weft.length === 3 && weft.every((x) => x.health === "up"),
      60_000,
      1000,
    );
    expect(targets.map((t) => [t.labels.instance, t.health]).sort()).toEqual(AGENTS.map((name) => [`${name}:9464`, "up"]));
    const info = (await prometheus("/api/v1/query?query=weft_build_info")) as { data: { result: { metric: { node: string } }[] } };
    expect(info.data.result.map((r) => r.metric.node).sort()).toEqual([...AGENTS]);
  }, 90_000);
});
