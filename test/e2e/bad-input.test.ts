// Bad input through the user's own surface (the weft CLI talking to a real weftd): each request fails
// with a message naming the field, and leaves nothing behind: no etcd key, no veth, no endpoint.
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withLab, type TestLab } from "../helpers/lab.js";

const run = promisify(execFile);
const CLI = new URL("../../agent/bin/weft.js", import.meta.url).pathname;
let lab: TestLab;
const extraNamespaces: string[] = [];

beforeAll(async () => {
  lab = await withLab({ hosts: 1, containers: 1 });
}, 120_000);

afterAll(async () => {
  for (const ns of extraNamespaces) execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  await lab?.down();
}, 60_000);

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function weft(...args: string[]): Promise<CliResult> {
  const socket = lab.state.hosts[0]!.apiSocket;
  try {
    const { stdout, stderr } = await run("node", [CLI, "--api-socket", socket, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Keys under the cluster prefix, read from etcd where the lab runs it (inside the underlay namespace). */
function etcdKeys(under: string): string[] {
  const out = execFileSync(
    "ip",
    ["netns", "exec", `${lab.prefix}-ul`, "etcdctl", `--endpoints=${lab.state.etcd.endpoint}`, "get", "--prefix", "--keys-only", `/weft/v1/${under}`],
    { env: { ...process.env, ETCDCTL_API: "3" }, encoding: "utf8" },
  );
  return out.split("\n").filter(Boolean);
}

/** weft's veths on the host (the host ends of containers' eth0). */
function hostVeths(): string[] {
  const links = JSON.parse(execFileSync("ip", ["-n", lab.state.hosts[0]!.netns, "-j", "link", "show", "type", "veth"], { encoding: "utf8" })) as Array<{ ifname: string }>;
  return links.map((l) => l.ifname).filter((n) => /^weft[0-9a-f]{11}$/.test(n)).sort();
}

function newNamespace(suffix: number): string {
  const ns = `${lab.prefix}-h1-c${suffix}`;
  execFileSync("ip", ["netns", "add", ns]);
  extraNamespaces.push(ns);
  return ns;
}

function expectRefused(result: CliResult, field: string, reason: RegExp): void {
  expect(result.code, result.stdout).not.toBe(0);
  expect(result.stderr).toMatch(new RegExp(`^weft: ${field}: `));
  expect(result.stderr).toMatch(reason);
}

describe("bad input through the CLI and a real agent", () => {
  it("refuses invalid networks and creates nothing", async () => {
    const before = etcdKeys("networks/");
    expectRefused(await weft("network", "create", "bad", "--subnet", "10.0.0.0/33"), "subnet", /not an IPv4 CIDR/);
    expectRefused(await weft("network", "create", "bad", "--subnet", "10.0.0.1/16"), "subnet", /10\.0\.0\.0\/16/);
    expectRefused(await weft("network", "create", "weft-lab", "--subnet", "10.99.0.0/16"), "name", /already/);
    expectRefused(await weft("network", "create", "bad", "--subnet", "10.40.128.0/17"), "subnet", /overlaps/);
    expectRefused(await weft("network", "create", "bad", "--subnet", "10.99.0.0/16", "--vni", "42"), "vni", /already used/);
    const vni = await weft("network", "create", "bad", "--subnet", "10.99.0.0/16", "--vni", "16777216");
    expect(vni.code).not.toBe(0);
    expect(vni.stderr).toContain("--vni must be from 1 to 16777215");
    expect(etcdKeys("networks/")).toEqual(before);
  });

  it("refuses attaches to unknown networks and missing namespaces, leaving no slice or veth", async () => {
    const veths = hostVeths();
    const subnets = etcdKeys("subnets/");
    const ns = newNamespace(50);
    expectRefused(await weft("endpoint", "attach", "--network", "nope", "--netns", ns), "network", /no network named "nope"/);
    expectRefused(await weft("endpoint", "attach", "--network", "weft-lab", "--netns", `${lab.prefix}-missing`), "netns", /does not exist/);
    expect(hostVeths()).toEqual(veths);
    expect(etcdKeys("subnets/")).toEqual(subnets);
  });

  it("rolls back an attach the kernel refuses: no half-made veth, no orphan slice", async () => {
    expect((await weft("network", "create", "orphan", "--subnet", "10.98.0.0/16")).code).toBe(0);
    const ns = newNamespace(51);
    // The namespace already has an eth0, so creating the container end fails in the kernel.
    execFileSync("ip", ["-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "other0"]);
    const veths = hostVeths();
    expectRefused(await weft("endpoint", "attach", "--network", "orphan", "--netns", ns), "netns", /could not attach/);
    expect(hostVeths()).toEqual(veths);
    expect(etcdKeys("subnets/orphan/")).toEqual([]);
    const endpoints = JSON.parse((await weft("--json", "endpoint", "ls", "--network", "orphan")).stdout) as { endpoints: unknown[] };
    expect(endpoints.endpoints).toEqual([]);
    expect((await weft("network", "rm", "orphan")).code).toBe(0);
  });

  it("reports a full subnet slice and keeps the endpoint it has", async () => {
    expect((await weft("network", "create", "tiny", "--subnet", "10.97.0.0/16", "--host-prefix-len", "30")).code).toBe(0);
    const first = await weft("--json", "endpoint", "attach", "--network", "tiny", "--netns", newNamespace(52));
    expect(first.code, first.stderr).toBe(0);
    const veths = hostVeths();
    expectRefused(await weft("endpoint", "attach", "--network", "tiny", "--netns", newNamespace(53)), "ip", /full/);
    expect(hostVeths()).toEqual(veths);
    expect(etcdKeys("subnets/tiny/")).toHaveLength(1);
    const endpoints = JSON.parse((await weft("--json", "endpoint", "ls", "--network", "tiny")).stdout) as { endpoints: Array<{ id: string }> };
    expect(endpoints.endpoints.map((e) => e.id)).toEqual([(JSON.parse(first.stdout) as { endpoint: { id: string } }).endpoint.id]);
  });

  it("refuses host namespaces as --netns: the initial one (/proc/1/ns/net) and the agent's own", async () => {
    const veths = hostVeths();
    const subnets = etcdKeys("subnets/");
    expectRefused(await weft("endpoint", "attach", "--network", "weft-lab", "--netns", "/proc/1/ns/net"), "netns", /initial network namespace|own|cannot open/);
    const agentPid = lab.state.hosts[0]!.agentPid;
    expectRefused(await weft("endpoint", "attach", "--network", "weft-lab", "--netns", `/proc/${agentPid}/ns/net`), "netns", /own/);
    expectRefused(await weft("endpoint", "attach", "--network", "weft-lab", "--netns", "/etc/passwd"), "netns", /neither a namespace name/);
    expect(hostVeths()).toEqual(veths);
    expect(etcdKeys("subnets/")).toEqual(subnets);
  });

  it("refuses a FIFO named like a namespace without blocking, and keeps answering", async () => {
    const name = `${lab.prefix}-fifo`;
    execFileSync("mkfifo", [`/run/netns/${name}`]);
    try {
      expectRefused(await weft("endpoint", "attach", "--network", "weft-lab", "--netns", name), "netns", /not a network namespace|FIFO|fifo/);
      expect((await weft("status")).code).toBe(0);
    } finally {
      execFileSync("rm", ["-f", `/run/netns/${name}`]);
    }
  });

  it("withdraws an endpoint whose namespace was deleted and re-created under the same name, instead of re-populating it", async () => {
    const ns = newNamespace(54);
    const attached = await weft("--json", "endpoint", "attach", "--network", "weft-lab", "--netns", ns);
    expect(attached.code, attached.stderr).toBe(0);
    const id = (JSON.parse(attached.stdout) as { endpoint: { id: string } }).endpoint.id;
    execFileSync("ip", ["netns", "del", ns]);
    execFileSync("ip", ["netns", "add", ns]);
    // Another attach runs a full reconcile, which would re-create eth0 in whatever namespace has the name.
    const other = await weft("endpoint", "attach", "--network", "weft-lab", "--netns", newNamespace(55));
    expect(other.code, other.stderr).toBe(0);
    const listed = async (): Promise<string[]> =>
      (JSON.parse((await weft("--json", "endpoint", "ls", "--network", "weft-lab")).stdout) as { endpoints: Array<{ id: string }> }).endpoints.map((e) => e.id);
    const deadline = Date.now() + 10_000;
    while ((await listed()).includes(id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await listed()).not.toContain(id);
    const links = JSON.parse(execFileSync("ip", ["-n", ns, "-j", "link", "show"], { encoding: "utf8" })) as Array<{ ifname: string }>;
    expect(links.map((l) => l.ifname)).toEqual(["lo"]);
  });

  it("removes a network once its last endpoint detached: the agent released its slice", async () => {
    expect((await weft("network", "create", "brief", "--subnet", "10.96.0.0/16")).code).toBe(0);
    const attached = await weft("--json", "endpoint", "attach", "--network", "brief", "--netns", newNamespace(56));
    expect(attached.code, attached.stderr).toBe(0);
    expect(etcdKeys("subnets/brief/")).toHaveLength(1);
    expect((await weft("endpoint", "detach", (JSON.parse(attached.stdout) as { endpoint: { id: string } }).endpoint.id)).code).toBe(0);
    expect(etcdKeys("subnets/brief/")).toEqual([]);
    const removed = await weft("network", "rm", "brief");
    expect(removed.code, removed.stderr).toBe(0);
  });

  it("keeps a network's devices when its key vanishes from etcd while a local endpoint uses it", async () => {
    expect((await weft("network", "create", "kept", "--subnet", "10.95.0.0/16", "--vni", "4242")).code).toBe(0);
    const attached = await weft("--json", "endpoint", "attach", "--network", "kept", "--netns", newNamespace(57));
    expect(attached.code, attached.stderr).toBe(0);
    const veths = hostVeths();
    // A mistyped prefix, a restore, a removal from a node with a partial view: the key just goes.
    execFileSync("ip", ["netns", "exec", `${lab.prefix}-ul`, "etcdctl", `--endpoints=${lab.state.etcd.endpoint}`, "del", "/weft/v1/networks/kept"], {
      env: { ...process.env, ETCDCTL_API: "3" },
    });
    expect(etcdKeys("networks/kept")).toEqual([]);
    // Another attach runs a full reconcile, which would tear the network down if it were gone for the agent.
    const other = await weft("endpoint", "attach", "--network", "weft-lab", "--netns", newNamespace(58));
    expect(other.code, other.stderr).toBe(0);
    const links = JSON.parse(execFileSync("ip", ["-n", lab.state.hosts[0]!.netns, "-j", "link", "show"], { encoding: "utf8" })) as Array<{ ifname: string }>;
    expect(links.map((l) => l.ifname)).toEqual(expect.arrayContaining(["weft-vx4242", "weft-br4242"]));
    expect(hostVeths()).toEqual(expect.arrayContaining(veths));
  });

  it("refuses to remove a network that still has endpoints, and unknown endpoints", async () => {
    expectRefused(await weft("network", "rm", "weft-lab"), "name", /active endpoint/);
    expectRefused(await weft("network", "rm", "nothing-here"), "name", /no network/);
    expectRefused(await weft("endpoint", "detach", "no-such-endpoint"), "endpoint", /no endpoint/);
  });

  it("refuses bad aliases naming the field, and leaves no endpoint, veth or slice", async () => {
    const veths = hostVeths();
    const subnets = etcdKeys("subnets/");
    const ns = newNamespace(59);
    expectRefused(await weft("endpoint", "attach", "--network", "weft-lab", "--netns", ns, "--alias", "not a name"), "aliases", /must be 1-63 characters/);
    expectRefused(await weft("endpoint", "attach", "--network", "weft-lab", "--netns", ns, "--alias", "x".repeat(64)), "aliases", /must be 1-63 characters/);
    expect(hostVeths()).toEqual(veths);
    expect(etcdKeys("subnets/")).toEqual(subnets);
    const endpoints = JSON.parse((await weft("--json", "endpoint", "ls")).stdout) as { endpoints: Array<{ netns: string }> };
    expect(endpoints.endpoints.some((e) => e.netns === ns)).toBe(false);
  });

  it("refuses to start weftd with an egress subnet overlapping a host route, naming the flag, changing nothing", async () => {
    const host = lab.state.hosts[0]!;
    const links = (): string[] =>
      (JSON.parse(execFileSync("ip", ["-n", host.netns, "-j", "link", "show"], { encoding: "utf8" })) as Array<{ ifname: string }>).map((l) => l.ifname).sort();
    const before = links();
    const stateDir = `/run/weft/lab/${lab.prefix}/overlap-state`;
    const weftd = new URL("../../agent/bin/weftd.js", import.meta.url).pathname;
    const result = await run("ip", [
      "netns", "exec", host.netns, process.execPath, weftd,
      "--node-name", "overlap", "--etcd-endpoints", lab.state.etcd.endpoint, "--underlay-ip", host.underlayIp,
      "--gossip-listen", `${host.underlayIp}:7999`, "--metrics-listen", "off", "--api-socket", `/run/weft/lab/${lab.prefix}/overlap.sock`,
      "--state-dir", stateDir, "--egress-subnet", "10.251.0.0/16",
    ]).then(
      () => ({ code: 0, text: "" }),
      (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, text: `${err.stdout}${err.stderr}` }),
    );
    expect(result.code).not.toBe(0);
    expect(result.text).toMatch(/--egress-subnet: 10\.251\.0\.0\/16 overlaps the host's route 10\.251\.0\.0\/24/);
    expect(links()).toEqual(before);
    expect(etcdKeys("nodes/overlap")).toEqual([]);
    expect(execFileSync("sh", ["-c", `test -e ${stateDir} && echo exists || echo absent`], { encoding: "utf8" }).trim()).toBe("absent");
  });
});
