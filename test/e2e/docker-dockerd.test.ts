// weft under real dockerd (Debian's docker.io 20.10): one dockerd per lab host, started in the host's
// network namespace (nsenter --net + unshare --mount: `ip netns exec` empties /sys/fs/cgroup and runc
// fails) with its own data-root, exec-root, pidfile and socket, and no bridge or iptables of its own;
// weft's Docker driver served per host on /run/docker/plugins/<lab prefix>-<host>.sock (started here
// while weftd does not serve it itself); an image from `docker import` of a busybox rootfs. Containers
// on two hosts reach each other by address and by name (the driver points their resolv.conf at weft's
// DNS on their gateway) and the world; the plugin is the network's IPAM driver too, so `docker
// inspect` shows exactly the address weft reports (`weft endpoint ls --json`), inside that host's
// slice, and `docker run --ip` takes an address of the slice or fails naming the field;
// `docker rm` removes the endpoint everywhere, a restart of weftd keeps their traffic, and a restart of
// dockerd finds its weft network again.
// Needs docker.io (dockerd, containerd, runc) and busybox-static.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { copyFile, mkdir, mkdtemp, open, readFile, rm, symlink } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labAgent, runWeftCli } from "../../agent/lab/index.js";
import { dockerPluginSocketPath, startDockerPlugin } from "../../agent/docker/index.js";
import type { DockerPlugin } from "../../agent/docker/docker-plugin.js";
import { pollUntil, withLab, withLabApi, type TestLab } from "../helpers/lab.js";

const run = promisify(execFile);
const IMAGE = "weft-busybox";
const DOCKER_CLI = existsSync("/usr/bin/docker") ? "/usr/bin/docker" : "docker";
const HOSTS = ["h1", "h2"] as const;
const NETWORK = "weftnet";

let lab: TestLab;
let dir: string;
const plugins = new Map<string, DockerPlugin>();
const daemons = new Map<string, ChildProcess>();

const pluginName = (host: string): string => `${lab.prefix}-${host}`;
const dockerSocket = (host: string): string => join(dir, host, "docker.sock");

async function docker(host: string, args: string[], timeout = 60_000): Promise<string> {
  const { stdout } = await run(DOCKER_CLI, ["-H", `unix://${dockerSocket(host)}`, ...args], { timeout });
  return stdout.trim();
}

async function startDockerd(host: string): Promise<void> {
  const h = lab.state.hosts.find((x) => x.name === host)!;
  const base = join(dir, host);
  await mkdir(base, { recursive: true });
  const logFile = await open(join(base, "dockerd.log"), "a");
  const child = spawn(
    "nsenter",
    [`--net=/run/netns/${h.netns}`, "--", "unshare", "--mount", "--propagation", "slave", "--",
      "dockerd", "--data-root", join(base, "data"), "--exec-root", join(base, "exec"), "--pidfile", join(base, "docker.pid"),
      "-H", `unix://${dockerSocket(host)}`, "--bridge", "none", "--iptables=false", "--ip-masq=false", "--storage-driver", "vfs",
      "--exec-opt", "native.cgroupdriver=cgroupfs", "--log-level", "warn"],
    { detached: true, stdio: ["ignore", logFile.fd, logFile.fd] },
  );
  await logFile.close();
  daemons.set(host, child);
  const up = await pollUntil(() => docker(host, ["version", "--format", "{{.Server.Version}}"], 5000).then(() => true, () => false), (ok) => ok, 60_000, 250);
  if (!up) throw new Error(`dockerd on ${host} did not start: ${await readFile(join(base, "dockerd.log"), "utf8").catch(() => "")}`);
}

async function stopDockerd(host: string): Promise<void> {
  const child = daemons.get(host);
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
  if (child.exitCode === null) child.kill("SIGKILL");
  daemons.delete(host);
}

/** The driver as weftd serves it, its state under the host's dir (kept across restarts). */
async function startPlugin(host: string): Promise<void> {
  const h = lab.state.hosts.find((x) => x.name === host)!;
  plugins.set(host, await startDockerPlugin({ apiSocket: h.apiSocket, pluginSocket: dockerPluginSocketPath(pluginName(host)), dockerSocket: dockerSocket(host), stateDir: join(dir, host, "weft"), log: () => undefined }));
}

async function weftEndpoint(host: string, name: string) {
  return withLabApi(lab, host, async (api) => (await api.listEndpoints({ network: lab.state.network!.name })).endpoints.find((e) => e.name === name));
}

/** The endpoint as `weft endpoint ls --json` on that host reports it. */
async function cliEndpoint(host: string, name: string): Promise<{ ip: string; local: boolean } | undefined> {
  const h = lab.state.hosts.find((x) => x.name === host)!;
  const out = JSON.parse(await runWeftCli(h, ["--json", "endpoint", "ls", "--network", lab.state.network!.name])) as { endpoints: Array<{ name: string; ip: string; local?: boolean }> };
  const endpoint = out.endpoints.find((e) => e.name === name);
  return endpoint && { ip: endpoint.ip, local: endpoint.local === true };
}

/** This host's slice of the lab network. */
async function sliceOf(host: string): Promise<string | undefined> {
  return withLabApi(lab, host, async (api) => {
    const { node } = await api.getStatus({});
    return (await api.inspectNetwork({ name: lab.state.network!.name })).slices.find((s) => s.node === node)?.cidr;
  });
}

const ipValue = (text: string): number => text.split(".").reduce((n, part) => n * 256 + Number(part), 0);
const ipText = (value: number): string => [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".");

function inSlice(ip: string, slice: string): boolean {
  const [base, bits] = slice.split("/");
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipValue(ip) / size) === Math.floor(ipValue(base!) / size);
}

/** The address in the middle of a slice (neither its gateway nor an end Docker's IPAM counts from). */
function middleOf(slice: string): string {
  const [base, bits] = slice.split("/");
  return ipText(ipValue(base!) + 2 ** (31 - Number(bits)));
}

async function dockerAddress(host: string, container: string): Promise<string> {
  return docker(host, ["inspect", "-f", `{{(index .NetworkSettings.Networks "${NETWORK}").IPAddress}}`, container]);
}

/** docker inspect's address is weft's (as the CLI lists it on that host), inside the host's slice. */
async function expectWeftAddress(host: string, container: string): Promise<string> {
  const endpoint = await pollUntil(() => cliEndpoint(host, container), (e) => e !== undefined, 20_000);
  expect(endpoint, `weft endpoint ${container} on ${host}`).toMatchObject({ local: true });
  expect(await dockerAddress(host, container)).toBe(endpoint!.ip);
  const slice = await sliceOf(host);
  expect(slice, `${host}'s slice`).toBeDefined();
  expect(inSlice(endpoint!.ip, slice!), `${endpoint!.ip} in ${slice}`).toBe(true);
  return endpoint!.ip;
}

async function endpointNames(host: string): Promise<string[]> {
  return withLabApi(lab, host, async (api) => (await api.listEndpoints({ network: lab.state.network!.name })).endpoints.map((e) => e.name));
}

beforeAll(async () => {
  lab = await withLab({ hosts: 2, containers: 0 });
  dir = await mkdtemp(join(tmpdir(), "weft-docker-"));
  for (const host of HOSTS) {
    await startPlugin(host);
    await startDockerd(host);
  }
  const rootfs = join(dir, "rootfs");
  await mkdir(join(rootfs, "bin"), { recursive: true });
  await copyFile("/bin/busybox", join(rootfs, "bin", "busybox"));
  for (const applet of ["sh", "sleep", "ping", "nslookup", "wget", "ip", "cat"]) await symlink("busybox", join(rootfs, "bin", applet));
  await run("tar", ["-C", rootfs, "-cf", join(dir, "rootfs.tar"), "."]);
  for (const host of HOSTS) {
    await docker(host, ["import", join(dir, "rootfs.tar"), IMAGE]);
    await docker(host, ["network", "create", "-d", pluginName(host), "--ipam-driver", pluginName(host), "-o", `weft.network=${lab.state.network!.name}`, "--subnet", lab.state.network!.subnet, NETWORK]);
  }
}, 300_000);

afterAll(async () => {
  for (const host of HOSTS) {
    if (!daemons.has(host)) continue;
    const ids = await docker(host, ["ps", "-aq"]).catch(() => "");
    if (ids) await docker(host, ["rm", "-f", ...ids.split("\n")]).catch(() => undefined);
    await docker(host, ["network", "rm", NETWORK]).catch(() => undefined);
    await stopDockerd(host);
  }
  for (const plugin of plugins.values()) await plugin.close();
  await lab?.down();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 180_000);

describe("dockerd with weft's network driver", () => {
  const a = () => `${lab.prefix}-da`;
  const b = () => `${lab.prefix}-db`;
  const ipOf = async (host: string, name: string): Promise<string> => {
    const endpoint = await pollUntil(() => weftEndpoint(host, name), (e) => e !== undefined, 20_000);
    expect(endpoint, `weft endpoint ${name} on ${host}`).toBeDefined();
    return endpoint!.ip;
  };

  it("refuses a network for a weft network that does not exist, naming the option, and keeps nothing", async () => {
    const refused = await docker("h1", ["network", "create", "-d", pluginName("h1"), "-o", "weft.network=absent", "--subnet", "10.99.0.0/16", "weftbad"]).then(() => "", (err: { stderr?: string }) => err.stderr ?? "");
    expect(refused).toContain("Options.weft.network");
    expect(await docker("h1", ["network", "ls", "--format", "{{.Name}}"])).not.toContain("weftbad");
  });

  it("runs containers on two hosts that reach each other by address and by name, and the world", async () => {
    await docker("h2", ["run", "-d", "--name", b(), "--network", NETWORK, IMAGE, "sleep", "600"]);
    const started = performance.now();
    await docker("h1", ["run", "-d", "--name", a(), "--network", NETWORK, IMAGE, "sleep", "600"]);
    const ipA = await ipOf("h1", a());
    const ipB = await ipOf("h2", b());
    const ping = (host: string, container: string, target: string) => docker(host, ["exec", container, "ping", "-c", "1", "-W", "2", target]).then(() => true, () => false);
    expect(await pollUntil(() => ping("h2", b(), ipA), (ok) => ok, 15_000)).toBe(true);
    process.stdout.write(`docker run on h1 -> reachable from h2: ${(performance.now() - started).toFixed(0)} ms\n`);
    expect(await ping("h1", a(), ipB)).toBe(true);
    // By name: the driver points the container's resolver at weft's DNS on its gateway, which knows
    // the other host's container (dockerd's embedded resolver does not).
    const nameserver = `nameserver ${(await weftEndpoint("h1", a()))!.gateway}`;
    expect(await pollUntil(() => docker("h1", ["exec", a(), "cat", "/etc/resolv.conf"]), (text) => text.includes(nameserver), 10_000)).toContain(nameserver);
    await pollUntil(() => docker("h2", ["exec", b(), "cat", "/etc/resolv.conf"]), (text) => text.includes("# weft"), 10_000);
    expect(await docker("h1", ["exec", a(), "nslookup", b()])).toContain(ipB);
    expect(await ping("h1", a(), b())).toBe(true);
    expect(await ping("h2", b(), a())).toBe(true);
    const h1 = lab.state.hosts.find((h) => h.name === "h1")!;
    expect(await docker("h1", ["exec", a(), "wget", "-q", "-O", "-", `http://${lab.state.world!.ip}/`])).toBe(h1.underlayIp);
  });

  it("docker inspect shows the address weft gave the container, inside that host's slice, on both hosts", async () => {
    expect(await expectWeftAddress("h1", a())).toBe(await ipOf("h1", a()));
    await expectWeftAddress("h2", b());
  });

  it("docker run --ip takes a free address of the host's slice, and refuses another host's or a taken one naming the field", async () => {
    const slice = (await sliceOf("h1"))!;
    const wanted = middleOf(slice);
    const c = `${lab.prefix}-dc`;
    await docker("h1", ["run", "-d", "--name", c, "--network", NETWORK, "--ip", wanted, IMAGE, "sleep", "600"]);
    expect(await expectWeftAddress("h1", c)).toBe(wanted);
    const taken = `${lab.prefix}-dt`;
    const elsewhere = `${lab.prefix}-de`;
    const ipB = await ipOf("h2", b());
    for (const [name, ip, reason] of [[taken, wanted, "in use"], [elsewhere, ipB, "slice"]] as const) {
      const err = await docker("h1", ["run", "-d", "--name", name, "--network", NETWORK, "--ip", ip, IMAGE, "sleep", "600"]).then(() => "", (e: { stderr?: string }) => e.stderr ?? "");
      expect(err).toContain("Address:");
      expect(err).toContain(reason);
      await docker("h1", ["rm", "-f", name]).catch(() => undefined);
      expect(await cliEndpoint("h1", name)).toBeUndefined();
    }
    await docker("h1", ["rm", "-f", c]);
    // Released: the address is free again for the next container asking for it.
    await docker("h1", ["run", "-d", "--name", c, "--network", NETWORK, "--ip", wanted, IMAGE, "sleep", "600"]);
    expect(await expectWeftAddress("h1", c)).toBe(wanted);
    await docker("h1", ["rm", "-f", c]);
    await pollUntil(() => cliEndpoint("h1", c), (e) => e === undefined, 10_000);
  });

  it("a restart of weftd (and of the driver it serves, which keeps its state on disk) keeps the containers' traffic", async () => {
    const ipB = await ipOf("h2", b());
    await plugins.get("h1")!.close();
    plugins.delete("h1");
    await labAgent("stop", "h1", { prefix: lab.prefix });
    await labAgent("start", "h1", { prefix: lab.prefix });
    await startPlugin("h1");
    const ok = await pollUntil(() => docker("h1", ["exec", a(), "ping", "-c", "1", "-W", "2", ipB]).then(() => true, () => false), (x) => x, 20_000);
    expect(ok).toBe(true);
    await expectWeftAddress("h1", a());
    // The restarted plugin still knows the pool and its reservations: a new container gets another address.
    const c = `${lab.prefix}-dr`;
    await docker("h1", ["run", "-d", "--name", c, "--network", NETWORK, IMAGE, "sleep", "600"]);
    expect(await expectWeftAddress("h1", c)).not.toBe(await ipOf("h1", a()));
    await docker("h1", ["rm", "-f", c]);
  });

  it("docker rm removes the container's endpoint on every host", async () => {
    expect(await endpointNames("h2")).toContain(a());
    await docker("h1", ["rm", "-f", a()]);
    expect(await pollUntil(() => endpointNames("h2"), (names) => !names.includes(a()), 10_000)).not.toContain(a());
    expect(await endpointNames("h1")).not.toContain(a());
  });

  it("a restart of dockerd finds its weft network again, and a new container on it is reachable", async () => {
    await stopDockerd("h1");
    await startDockerd("h1");
    expect(await docker("h1", ["network", "ls", "--format", "{{.Name}} {{.Driver}}"])).toContain(`${NETWORK} ${pluginName("h1")}`);
    await docker("h1", ["run", "-d", "--name", a(), "--network", NETWORK, IMAGE, "sleep", "600"]);
    const ipA = await expectWeftAddress("h1", a());
    expect(await pollUntil(() => docker("h2", ["exec", b(), "ping", "-c", "1", "-W", "2", ipA]).then(() => true, () => false), (ok) => ok, 15_000)).toBe(true);
  });
});
