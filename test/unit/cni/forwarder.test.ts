// The plugin binaries (C and Node forwarders) against weftd's CNI socket served by startCniServer on a
// fake agent: the same bytes out as handleCni, the same exit codes, 11/50 with no agent, VERSION alone.
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "node:net";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCniServer } from "../../../agent/cni/cni-server.js";
import { conflistFor, installConflist, installPlugin, probeCniSocket } from "../../../agent/cni/cni-install.js";
import { SUPPORTED_VERSIONS } from "../../../agent/cni/cni-request.js";
import { cniSocketPath, decodeRequest, encodeRequest } from "../../../agent/cni/cni-wire.js";
import { WeftError } from "../../../proto/values/index.js";
import type { CniAgent } from "../../../agent/cni/cni-agent.js";

const C_SOURCE = new URL("../../../agent/bin/weft-cni.c", import.meta.url).pathname;
const NODE_FORWARDER = new URL("../../../agent/bin/weft-cni.cjs", import.meta.url).pathname;

const agent: CniAgent = {
  attach: async (r) => ({ id: "e1", name: r.name, network: r.network, local: true, gateway: "10.40.1.1", mtu: 1450, interfaces: [{ name: r.ifName, mac: "02:42:0a:28:01:02", ip: "10.40.1.2/16" }] }),
  detach: async (name) => {
    throw new WeftError("not-found", `endpoint: no endpoint "${name}"`, { field: "endpoint" });
  },
  find: async () => undefined,
  list: async () => [],
  ping: async () => undefined,
};

let dir: string;
let server: Server;
let cPlugin: string;

function runPlugin(binary: string, env: Record<string, string>, stdin: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [], { env: { PATH: process.env["PATH"] ?? "", ...env }, stdio: ["pipe", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout }));
    child.stdin.end(stdin);
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-cni-"));
  server = await startCniServer(cniSocketPath(join(dir, "agent.sock")), { agent, inspector: { inspect: async () => ({ addresses: new Map(), routes: [] }) } }, () => undefined);
  cPlugin = (await installPlugin(join(dir, "bin"), { c: C_SOURCE, node: NODE_FORWARDER })).path;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe("the wire", () => {
  it("carries only CNI_* variables and stdin verbatim", () => {
    const frame = encodeRequest({ CNI_COMMAND: "ADD", CNI_ARGS: "A=1;B=2", HOME: "/root" }, Buffer.from('{"x":"\\u0000"}'));
    expect(decodeRequest(frame)).toEqual({ env: { CNI_COMMAND: "ADD", CNI_ARGS: "A=1;B=2" }, stdin: '{"x":"\\u0000"}' });
  });

  it("names weftd's CNI socket next to its API socket", () => {
    expect(cniSocketPath("/run/weft/weft.sock")).toBe("/run/weft/weft-cni.sock");
    expect(cniSocketPath("/run/weft/lab/weft/h1.sock")).toBe("/run/weft/lab/weft/h1-cni.sock");
  });
});

describe.each([
  ["C", () => cPlugin],
  ["Node", () => NODE_FORWARDER],
])("the %s forwarder", (_kind, plugin) => {
  const config = (extra: object = {}) => JSON.stringify({ cniVersion: "1.0.0", name: "lab", type: "weft", apiSocket: join(dir, "agent.sock"), ...extra });
  const addEnv = { CNI_COMMAND: "ADD", CNI_CONTAINERID: "c0ffee", CNI_NETNS: "/run/netns/c1", CNI_IFNAME: "eth0" };

  it("prints weftd's ADD result and exits 0", async () => {
    const { code, stdout } = await runPlugin(plugin(), addEnv, config());
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ cniVersion: "1.0.0", ips: [{ address: "10.40.1.2/16", gateway: "10.40.1.1", interface: 0 }] });
  });

  it("passes weftd's error and a non-zero exit through; DEL of something gone is success", async () => {
    const bad = await runPlugin(plugin(), { ...addEnv, CNI_IFNAME: "" }, config());
    expect(bad.code).not.toBe(0);
    expect(JSON.parse(bad.stdout)).toMatchObject({ code: 4 });
    expect(await runPlugin(plugin(), { ...addEnv, CNI_COMMAND: "DEL" }, config())).toEqual({ code: 0, stdout: "" });
  });

  it("says 11 (50 to STATUS) when no weftd serves the named socket", async () => {
    const elsewhere = config({ apiSocket: join(dir, "none.sock"), cniVersion: "1.1.0" });
    const add = await runPlugin(plugin(), addEnv, elsewhere);
    expect(add.code).not.toBe(0);
    expect(JSON.parse(add.stdout)).toMatchObject({ cniVersion: "1.1.0", code: 11 });
    expect(JSON.parse((await runPlugin(plugin(), { CNI_COMMAND: "STATUS" }, elsewhere)).stdout)).toMatchObject({ code: 50 });
  });

  it("answers VERSION itself, with the agent's list of versions", async () => {
    const { code, stdout } = await runPlugin(plugin(), { CNI_COMMAND: "VERSION" }, config({ apiSocket: join(dir, "none.sock"), cniVersion: "0.4.0" }));
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ cniVersion: "0.4.0", supportedVersions: [...SUPPORTED_VERSIONS] });
  });
});

describe("install", () => {
  it("compiles the C forwarder into the bin dir as `weft`, leaving no temporary file", async () => {
    expect(cPlugin).toBe(join(dir, "bin", "weft"));
    expect((await stat(cPlugin)).mode & 0o777).toBe(0o755);
    expect(await readdir(join(dir, "bin"))).toEqual(["weft"]);
    await expect(promisify(execFile)("file", [cPlugin]).then((r) => r.stdout)).resolves.toMatch(/ELF/);
  });

  it("falls back to the Node forwarder when nothing compiles, which runs alone as `weft` (CommonJS)", async () => {
    const fallback = await installPlugin(join(dir, "bin-node"), { c: join(dir, "missing.c"), node: NODE_FORWARDER });
    expect(fallback).toEqual({ path: join(dir, "bin-node", "weft"), kind: "node" });
    const { code, stdout } = await runPlugin(fallback.path, { CNI_COMMAND: "VERSION" }, '{"cniVersion":"1.0.0"}');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ cniVersion: "1.0.0" });
  });

  it("writes the conflist naming the network and the agent's socket, portmap chained when asked", async () => {
    const path = await installConflist(join(dir, "net.d"), { name: "lab", network: "weft-lab", apiSocket: "/run/weft/h1.sock", cniVersion: "1.0.0", portmap: true });
    expect(path).toBe(join(dir, "net.d", "10-weft-lab.conflist"));
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({
      cniVersion: "1.0.0",
      name: "lab",
      plugins: [
        { type: "weft", network: "weft-lab", apiSocket: "/run/weft/h1.sock", capabilities: { aliases: true } },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    });
    expect(await readdir(join(dir, "net.d"))).toEqual(["10-weft-lab.conflist"]);
    expect(conflistFor({ name: "x", network: "x", apiSocket: "/s", cniVersion: "1.1.0", portmap: false })).not.toMatch(/portmap/);
  });

  it("probes weftd's CNI socket, and refuses when nothing serves it", async () => {
    await expect(probeCniSocket(join(dir, "agent.sock"))).resolves.toBeUndefined();
    await expect(probeCniSocket(join(dir, "none.sock"))).rejects.toThrow(/none-cni\.sock/);
  });
});
