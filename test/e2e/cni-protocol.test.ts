// weft-cni driven with the real CNI protocol (CNI_* env + stdin, as libcni execs a plugin) against
// real lab agents. `weft cni install` puts the plugin and conflist in place (refusing, leaving nothing,
// when no agent answers); the installed plugin is then run with the conflist's config as libcni
// would (cniVersion and name injected). ADD on two hosts gives containers that reach each other across hosts by address
// and by name; CHECK sees the namespace as ADD left it and notices a missing address; DEL removes
// the endpoint everywhere and is idempotent; GC removes what the runtime no longer lists; bad config
// and an absent agent give the spec's codes. The compiled C forwarder is the plugin.
//
// Until weftd serves the CNI socket itself, this file serves it next to each lab agent's API socket
// (startCniServer over the agent's gRPC API, exactly what weftd runs); when weftd does, it uses weftd's.
import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { Command } from "commander";
import { connect, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grpcCniAgent, nsenterInspector, startCniServer } from "../../agent/cni/index.js";
import { addCniCommands } from "../../agent/cli/cni-commands.js";
import { endpointNameFor } from "../../agent/cni/cni-request.js";
import { cniSocketPath } from "../../agent/cni/cni-wire.js";
import { inNetns, pollUntil, resolveIn, withLab, withLabApi, type TestLab } from "../helpers/lab.js";

let lab: TestLab;
let binDir: string;
let confDir: string;
let plugin: string;
let pluginConfig: Record<string, unknown>;
const servers: Server[] = [];
const agents: Array<{ close(): void }> = [];
const namespaces: string[] = [];

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

beforeAll(async () => {
  lab = await withLab({ hosts: 2, containers: 0 });
  binDir = await mkdtemp(join(tmpdir(), "weft-cni-bin-"));
  confDir = await mkdtemp(join(tmpdir(), "weft-cni-conf-"));
  for (const host of lab.state.hosts) {
    if (await answers(cniSocketPath(host.apiSocket))) continue;
    const agent = grpcCniAgent(host.apiSocket);
    agents.push(agent);
    servers.push(await startCniServer(cniSocketPath(host.apiSocket), { agent, inspector: nsenterInspector }, () => undefined));
  }
}, 180_000);

afterAll(async () => {
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  for (const agent of agents) agent.close();
  for (const ns of namespaces) execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  for (const d of [binDir, confDir]) if (d) await rm(d, { recursive: true, force: true });
  await lab?.down();
}, 60_000);

interface PluginRun {
  code: number;
  out: Record<string, unknown>;
  ms: number;
}

function cni(command: string, env: Record<string, string>, config: Record<string, unknown>): Promise<PluginRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(plugin, [], { env: { PATH: process.env["PATH"] ?? "", CNI_PATH: binDir, CNI_COMMAND: command, ...env }, stdio: ["pipe", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, out: stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : {}, ms: performance.now() - started }));
    child.stdin.end(JSON.stringify(config));
  });
}

async function weftCni(args: string[]): Promise<string[]> {
  const said: string[] = [];
  const program = new Command("weft").option("--api-socket <path>").exitOverride();
  addCniCommands(program, (line) => said.push(line));
  await program.parseAsync(args, { from: "user" });
  return said;
}

/** The installed conflist's weft entry, as libcni hands it to the plugin, pointed at `host`'s agent. */
function configFor(host: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const h = lab.state.hosts.find((x) => x.name === host)!;
  return { ...pluginConfig, apiSocket: h.apiSocket, ...extra };
}

function container(host: string, tag: string): { netns: string; env: Record<string, string> } {
  const netns = `${lab.prefix}-${host}-${tag}`;
  execFileSync("ip", ["netns", "add", netns]);
  namespaces.push(netns);
  return { netns, env: { CNI_CONTAINERID: `${lab.prefix}${tag}`.repeat(4), CNI_NETNS: `/run/netns/${netns}`, CNI_IFNAME: "eth0", CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAME=${lab.prefix}-${tag}` } };
}

async function endpointNames(host: string): Promise<string[]> {
  return withLabApi(lab, host, async (api) => (await api.listEndpoints({ network: lab.state.network!.name })).endpoints.map((e) => e.name));
}

describe("weft cni install", () => {
  it("refuses, installing nothing, when no agent answers", async () => {
    await expect(weftCni(["--api-socket", "/run/weft/nobody-here.sock", "cni", "install", "--network", lab.state.network!.name, "--bin-dir", binDir, "--conf-dir", confDir])).rejects.toThrow(/nothing installed/);
    expect([...(await readdir(binDir)), ...(await readdir(confDir))]).toEqual([]);
  });

  it("puts the plugin and a conflist naming the agent's socket in place", async () => {
    const h1 = lab.state.hosts[0]!;
    const network = lab.state.network!.name;
    await weftCni(["--api-socket", h1.apiSocket, "cni", "install", "--network", network, "--bin-dir", binDir, "--conf-dir", confDir, "--portmap"]);
    expect(await readdir(binDir)).toEqual(["weft"]);
    expect(await readdir(confDir)).toEqual([`10-weft-${network}.conflist`]);
    plugin = join(binDir, "weft");
    const conflist = JSON.parse(await readFile(join(confDir, `10-weft-${network}.conflist`), "utf8")) as { cniVersion: string; name: string; plugins: Array<Record<string, unknown>> };
    expect(conflist.plugins.map((p) => p["type"])).toEqual(["weft", "portmap"]);
    expect(conflist.plugins[0]).toMatchObject({ network, apiSocket: h1.apiSocket });
    pluginConfig = { cniVersion: conflist.cniVersion, name: conflist.name, ...conflist.plugins[0] };
  });
});

describe("weft-cni over the CNI protocol", () => {
  let a: ReturnType<typeof container>;
  let b: ReturnType<typeof container>;
  let ipA = "";
  let ipB = "";

  it("ADD on two hosts: a full result, and the containers reach each other by address and by name", async () => {
    a = container("h1", "ca");
    b = container("h2", "cb");
    const addA = await cni("ADD", a.env, configFor("h1"));
    const addB = await cni("ADD", b.env, configFor("h2"));
    expect(addA.code, JSON.stringify(addA.out)).toBe(0);
    expect(addB.code, JSON.stringify(addB.out)).toBe(0);
    process.stdout.write(`cni ADD round trip through weft-cni: ${addA.ms.toFixed(0)} ms, ${addB.ms.toFixed(0)} ms\n`);
    const result = addA.out as { cniVersion: string; interfaces: Array<{ name: string; sandbox: string }>; ips: Array<{ address: string; gateway: string; interface: number }>; routes: Array<{ dst: string; gw: string }>; dns: { nameservers: string[] } };
    expect(result.cniVersion).toBe("1.0.0");
    expect(result.interfaces.map((i) => i.name)).toEqual(["eth0", "eth1"]);
    expect(result.interfaces[0]!.sandbox).toBe(a.env["CNI_NETNS"]);
    expect(result.ips[0]!.interface).toBe(0);
    expect(result.routes).toEqual([{ dst: "0.0.0.0/0", gw: result.ips[1]!.gateway }]);
    expect(result.dns.nameservers).toEqual([result.ips[0]!.gateway]);
    ipA = result.ips[0]!.address.split("/")[0]!;
    ipB = (addB.out as typeof result).ips[0]!.address.split("/")[0]!;
    const ping = await inNetns(a.netns, ["ping", "-c", "1", "-W", "2", ipB]);
    expect(ping.code, ping.stderr).toBe(0);
    execFileSync("mkdir", ["-p", `/etc/netns/${b.netns}`]);
    execFileSync("sh", ["-c", `printf 'nameserver ${(addB.out as typeof result).dns.nameservers[0]}\\n' > /etc/netns/${b.netns}/resolv.conf`]);
    try {
      expect(await pollUntil(() => resolveIn(b.netns, `${lab.prefix}-ca`), (x) => x.length > 0, 5000)).toEqual([ipA]);
    } finally {
      execFileSync("rm", ["-rf", `/etc/netns/${b.netns}`]);
    }
  });

  it("CHECK passes as ADD left it, and names what went missing in the namespace", async () => {
    expect(await cni("CHECK", a.env, configFor("h1"))).toMatchObject({ code: 0 });
    execFileSync("ip", ["-n", a.netns, "addr", "flush", "dev", "eth0"]);
    const check = await cni("CHECK", a.env, configFor("h1"));
    expect(check.code).not.toBe(0);
    expect(check.out).toMatchObject({ code: 101, msg: expect.stringContaining(`eth0 lacks address ${ipA}/`) as unknown });
  });

  it("refuses an unknown network (7, naming it) and says 11 for an agent that is not there", async () => {
    const c = container("h1", "cc");
    const bad = await cni("ADD", c.env, configFor("h1", { network: "nosuchnet" }));
    expect(bad.out).toMatchObject({ code: 7, msg: expect.stringMatching(/^network: /) as unknown });
    const away = await cni("ADD", c.env, configFor("h1", { apiSocket: "/run/weft/nobody-here.sock" }));
    expect(away.out).toMatchObject({ code: 11 });
    expect(await endpointNames("h1")).not.toContain(endpointNameFor(lab.state.network!.name, { containerId: c.env["CNI_CONTAINERID"]!, ifName: "eth0" }));
  });

  it("DEL removes the endpoint on every host, and succeeds again when it is gone", async () => {
    const name = endpointNameFor(lab.state.network!.name, { containerId: a.env["CNI_CONTAINERID"]!, ifName: "eth0" });
    expect(await endpointNames("h2")).toContain(name);
    const del = await cni("DEL", a.env, configFor("h1"));
    expect(del.code, JSON.stringify(del.out)).toBe(0);
    process.stdout.write(`cni DEL round trip through weft-cni: ${del.ms.toFixed(0)} ms\n`);
    expect(await pollUntil(() => endpointNames("h2"), (names) => !names.includes(name), 5000)).not.toContain(name);
    expect(await cni("DEL", a.env, configFor("h1"))).toMatchObject({ code: 0 });
    expect(await cni("DEL", { ...a.env, CNI_NETNS: "" }, configFor("h1"))).toMatchObject({ code: 0 });
  });

  it("GC (1.1.0) removes attachments the runtime no longer lists and keeps the ones it does", async () => {
    const d = container("h2", "cd");
    expect(await cni("ADD", d.env, configFor("h2"))).toMatchObject({ code: 0 });
    const keep = [{ containerID: d.env["CNI_CONTAINERID"], ifname: "eth0" }];
    const gc = await cni("GC", {}, configFor("h2", { cniVersion: "1.1.0", "cni.dev/attachments": keep }));
    expect(gc.code, JSON.stringify(gc.out)).toBe(0);
    const names = await endpointNames("h2");
    const network = lab.state.network!.name;
    expect(names).toContain(endpointNameFor(network, { containerId: d.env["CNI_CONTAINERID"]!, ifName: "eth0" }));
    expect(names).not.toContain(endpointNameFor(network, { containerId: b.env["CNI_CONTAINERID"]!, ifName: "eth0" }));
    expect(await cni("STATUS", {}, configFor("h2", { cniVersion: "1.1.0" }))).toMatchObject({ code: 0 });
  });
});
