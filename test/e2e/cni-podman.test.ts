// weft under real podman (Debian's 4.3.1, network_backend "cni"): `weft cni install` per lab host,
// then `podman run --network weft-lab` on two hosts (podman started in the host's network namespace
// with nsenter, its own storage and config in a temp dir, an image imported from a busybox rootfs
// tarball): the containers reach each other across hosts by address and by name, reach the world
// through the egress bridge, and `podman rm` removes the endpoint on every host; `podman run -p` publishes
// a port on the host's underlay address through the standard portmap plugin chained after weft.
// Needs podman, containernetworking-plugins, runc and busybox-static (.ci/run installs them).
// runc, not crun: crun refuses this machine's hybrid cgroup layout; the ulimits: the defaults exceed
// what a process may set here.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile, copyFile } from "node:fs/promises";
import { connect, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addCniCommands } from "../../agent/cli/cni-commands.js";
import { grpcCniAgent, nsenterInspector, startCniServer } from "../../agent/cni/index.js";
import { cniSocketPath } from "../../agent/cni/cni-wire.js";
import { pollUntil, withLab, withLabApi, type TestLab } from "../helpers/lab.js";

const run = promisify(execFile);
const IMAGE = "localhost/weft-busybox";

let lab: TestLab;
let dir: string;
const servers: Server[] = [];
const agents: Array<{ close(): void }> = [];

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** podman as if on lab host `host`: in its network namespace, with that host's conflists. */
async function podman(host: string, args: string[], timeout = 60_000): Promise<string> {
  const h = lab.state.hosts.find((x) => x.name === host)!;
  const { stdout } = await run(
    "nsenter",
    [`--net=/run/netns/${h.netns}`, "podman", "--root", join(dir, "root"), "--runroot", join(dir, "run"), "--storage-driver", "vfs", "--network-config-dir", join(dir, host, "net.d"), ...args],
    { env: { ...process.env, CONTAINERS_CONF: join(dir, "containers.conf") }, timeout },
  );
  return stdout.trim();
}

async function endpointNames(host: string): Promise<string[]> {
  return withLabApi(lab, host, async (api) => (await api.listEndpoints({ network: lab.state.network!.name })).endpoints.map((e) => e.name));
}

beforeAll(async () => {
  lab = await withLab({ hosts: 2, containers: 0 });
  dir = await mkdtemp(join(tmpdir(), "weft-podman-"));
  for (const host of lab.state.hosts) {
    if (await answers(cniSocketPath(host.apiSocket))) continue;
    const agent = grpcCniAgent(host.apiSocket);
    agents.push(agent);
    servers.push(await startCniServer(cniSocketPath(host.apiSocket), { agent, inspector: nsenterInspector }, () => undefined));
  }
  await writeFile(
    join(dir, "containers.conf"),
    [
      "[containers]",
      'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
      "[network]",
      'network_backend = "cni"',
      `cni_plugin_dirs = ["${join(dir, "bin")}", "/usr/lib/cni"]`,
      "[engine]",
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      'runtime = "runc"',
      "",
    ].join("\n"),
  );
  for (const host of lab.state.hosts) {
    const program = new Command("weft").option("--api-socket <path>").exitOverride();
    addCniCommands(program, () => undefined);
    await program.parseAsync(["--api-socket", host.apiSocket, "cni", "install", "--network", lab.state.network!.name, "--bin-dir", join(dir, "bin"), "--conf-dir", join(dir, host.name, "net.d"), "--portmap"], { from: "user" });
  }
  const rootfs = join(dir, "rootfs");
  await mkdir(join(rootfs, "bin"), { recursive: true });
  await copyFile("/bin/busybox", join(rootfs, "bin", "busybox"));
  await mkdir(join(rootfs, "www"));
  for (const applet of ["sh", "sleep", "ping", "nslookup", "wget", "ip", "cat", "httpd"]) await symlink("busybox", join(rootfs, "bin", applet));
  await run("tar", ["-C", rootfs, "-cf", join(dir, "rootfs.tar"), "."]);
  await podman("h1", ["import", join(dir, "rootfs.tar"), IMAGE]);
}, 240_000);

afterAll(async () => {
  if (dir) {
    for (const host of ["h1", "h2"]) await podman(host, ["rm", "-a", "-f", "-t", "0"]).catch(() => undefined);
  }
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  for (const agent of agents) agent.close();
  await lab?.down();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 120_000);

describe("podman with weft's CNI plugin", () => {
  const a = () => `${lab.prefix}-pa`;
  const b = () => `${lab.prefix}-pb`;

  it("lists the weft network with weft as its driver", async () => {
    expect(await podman("h1", ["network", "ls", "--format", "{{.Name}} {{.Driver}}"])).toContain(`${lab.state.network!.name} weft`);
  });

  it("runs containers on two hosts that reach each other by address and by name, and the world", async () => {
    const network = lab.state.network!.name;
    await podman("h2", ["run", "-d", "--name", b(), "--network", network, IMAGE, "sleep", "600"]);
    const started = performance.now();
    await podman("h1", ["run", "-d", "--name", a(), "--network", network, IMAGE, "sleep", "600"]);
    const ipA = await podman("h1", ["inspect", "--format", `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, a()]);
    expect(ipA).toMatch(/^10\.40\./);
    const ping = (target: string) => podman("h2", ["exec", b(), "ping", "-c", "1", "-W", "2", target]).then(() => true, () => false);
    expect(await pollUntil(() => ping(ipA), (ok) => ok, 10_000)).toBe(true);
    process.stdout.write(`podman run on h1 -> reachable from h2: ${(performance.now() - started).toFixed(0)} ms\n`);
    expect(await pollUntil(() => ping(a()), (ok) => ok, 10_000)).toBe(true);
    const h1 = lab.state.hosts.find((h) => h.name === "h1")!;
    expect(await podman("h1", ["exec", a(), "wget", "-q", "-O", "-", `http://${lab.state.world!.ip}/`])).toBe(h1.underlayIp);
  });

  it("podman rm removes the container's endpoint on every host", async () => {
    expect((await endpointNames("h2")).filter((n) => n.startsWith("cni-"))).toHaveLength(2);
    await podman("h1", ["rm", "-f", "-t", "0", a()]);
    expect(await pollUntil(() => endpointNames("h2"), (names) => names.filter((n) => n.startsWith("cni-")).length === 1, 5000)).toHaveLength(1);
    expect(await endpointNames("h1")).toHaveLength(1);
  });

  it("podman run -p publishes a port through the chained portmap plugin, and podman rm takes it away", async () => {
    const network = lab.state.network!.name;
    const name = `${lab.prefix}-pw`;
    const h1 = lab.state.hosts.find((h) => h.name === "h1")!;
    const answer = `answer from ${name}`;
    await podman("h1", ["run", "-d", "--name", name, "--network", network, "-p", "18080:8080", IMAGE, "sh", "-c", `echo '${answer}' > /www/index.html && exec httpd -f -p 8080 -h /www`]);
    const fetch = () =>
      run("ip", ["netns", "exec", lab.state.world!.netns, "curl", "-s", "-m", "2", `http://${h1.underlayIp}:18080/`]).then(
        ({ stdout }) => stdout.trim(),
        () => "",
      );
    expect(await pollUntil(fetch, (body) => body === answer, 10_000)).toBe(answer);
    await podman("h1", ["rm", "-f", "-t", "0", name]);
    expect(await pollUntil(fetch, (body) => body === "", 10_000)).toBe("");
  });
});
