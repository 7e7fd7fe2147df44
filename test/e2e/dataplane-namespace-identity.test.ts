// Which namespace a path names, on the real kernel: inspectNetworkNamespace refuses what is not a
// network namespace (without blocking on a FIFO) and the agent's own, and the kernel never makes an
// endpoint's interface in a namespace other than the one recorded at attach.
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireCommand } from "../../agent/host-dependencies.js";
import { KernelWorkerClient, hostIfNameFor, inspectNetworkNamespace, vtepMacFor, type DesiredLocalEndpoint, type DesiredState } from "../../dataplane/index.js";
import { WeftError } from "../../proto/values/index.js";

const run = `weft${randomBytes(3).toString("hex")}`;
const hostNs = `${run}-h`;
const containerNs = `${run}-c`;
const processNs = `${run}-p`;
const fifoNs = `${run}-fifo`;
const TSX = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url));
const INDEX = fileURLToPath(new URL("../../dataplane/index.ts", import.meta.url));
const made: string[] = [];
const children: ChildProcess[] = [];
let dir = "";
let worker: KernelWorkerClient | undefined;

function sh(program: string, ...args: string[]): string {
  return execFileSync(program, args, { encoding: "utf8" });
}

async function waitFor<T>(what: string, probe: () => T | undefined, deadlineMs = 10_000): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function thrown(work: () => unknown): WeftError {
  try {
    work();
  } catch (error) {
    if (error instanceof WeftError) return error;
    throw error;
  }
  throw new Error("expected a WeftError");
}

/** Runs inspectNetworkNamespace in a child process, so a blocking open fails the test instead of hanging it. */
function inspectInChild(path: string): { ok: boolean; code?: string; field?: string; message?: string } {
  const code = `import(${JSON.stringify(INDEX)}).then((m) => { try { console.log(JSON.stringify({ ok: true, id: m.inspectNetworkNamespace(${JSON.stringify(path)}) })); } catch (e) { console.log(JSON.stringify({ ok: false, code: e.code, field: e.field, message: e.message })); } });`;
  const child = spawnSync(TSX, ["--eval", code], { encoding: "utf8", timeout: 30_000, killSignal: "SIGKILL" });
  if (child.status !== 0) throw new Error(`child did not finish (status ${child.status}, signal ${child.signal}): ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split("\n").pop()!);
}

const links = (ns: string) => (JSON.parse(sh("ip", "-n", ns, "-j", "link", "show")) as { ifname: string }[]).map((l) => l.ifname).sort();

function endpoint(id: string, netns: string, netnsId?: { dev: number; ino: number }): DesiredLocalEndpoint {
  return { id, hostIfName: hostIfNameFor(id), netns, ...(netnsId === undefined ? {} : { netnsId }), ifName: "eth0", mac: "02:42:0a:2b:00:02", ip: "10.43.0.2", prefixLen: 16 };
}

function state(localEndpoints: DesiredLocalEndpoint[]): DesiredState {
  return { underlay: { ip: "192.168.61.1", mtu: 1500 }, overlay: { networks: [{ vni: 302, vtepMac: vtepMacFor("identity-e2e", 302), mtu: 1400, localEndpoints, remoteEndpoints: [] }] } };
}

beforeAll(() => {
  for (const command of ["ip", "sleep"]) requireCommand(command);
  requireCommand("mkfifo", "coreutils");
  dir = mkdtempSync(join(tmpdir(), `${run}-`));
  for (const ns of [hostNs, containerNs, processNs]) {
    sh("ip", "netns", "add", ns);
    made.push(ns);
  }
});

afterAll(async () => {
  await worker?.close();
  for (const child of children) child.kill("SIGKILL");
  for (const ns of made) spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  rmSync(`/run/netns/${fifoNs}`, { force: true });
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

describe("inspectNetworkNamespace", () => {
  it("returns the identity of a named namespace, by name and by path", () => {
    const stat = statSync(`/run/netns/${containerNs}`);
    const id = inspectNetworkNamespace(`/run/netns/${containerNs}`);
    expect(id).toEqual({ dev: stat.dev, ino: stat.ino, cookie: expect.stringMatching(/^\d+$/) });
    expect(inspectNetworkNamespace(containerNs)).toEqual(id);
  });

  it("gives a process's /proc/PID/ns/net the identity of the namespace the process is in", async () => {
    const sleeper = spawn("ip", ["netns", "exec", processNs, "sleep", "600"], { stdio: "ignore" });
    children.push(sleeper);
    const pid = sleeper.pid!;
    await waitFor("sleep inside the namespace", () => (sh("ip", "netns", "identify", String(pid)).trim() === processNs ? true : undefined));
    expect(inspectNetworkNamespace(`/proc/${pid}/ns/net`)).toEqual(inspectNetworkNamespace(processNs));
  });

  it("refuses the agent's own namespace, however it is named", () => {
    for (const path of ["/proc/self/ns/net", `/proc/${process.pid}/ns/net`, "/proc/thread-self/ns/net"]) {
      const error = thrown(() => inspectNetworkNamespace(path));
      expect(error).toMatchObject({ code: "invalid-argument", field: "netns" });
      expect(error.message).toMatch(/agent's own network namespace/);
    }
  });

  it("refuses a FIFO without blocking", () => {
    const fifo = join(dir, "fifo");
    sh("mkfifo", fifo);
    expect(inspectInChild(fifo)).toMatchObject({ ok: false, code: "invalid-argument", field: "netns", message: expect.stringMatching(/is not a network namespace/) });
  });

  it("refuses a regular file, a directory, another kind of namespace, and names a missing path", () => {
    const file = join(dir, "file");
    writeFileSync(file, "not a namespace");
    expect(thrown(() => inspectNetworkNamespace(file))).toMatchObject({ code: "invalid-argument", field: "netns", message: expect.stringMatching(/not on nsfs/) });
    expect(thrown(() => inspectNetworkNamespace(dir))).toMatchObject({ code: "invalid-argument", field: "netns" });
    expect(thrown(() => inspectNetworkNamespace("/proc/self/ns/mnt"))).toMatchObject({ code: "invalid-argument", message: expect.stringMatching(/another kind of namespace/) });
    expect(thrown(() => inspectNetworkNamespace(join(dir, "missing")))).toMatchObject({ code: "not-found", field: "netns" });
  });
});

describe("an endpoint's namespace on the real kernel", () => {
  beforeAll(() => {
    worker = new KernelWorkerClient(hostNs);
  });

  it("is not recreated in a namespace that replaced the recorded one at the same path", async () => {
    const recorded = inspectNetworkNamespace(containerNs);
    const ep = endpoint("f1f1f1f1f1f1f1f1", containerNs, recorded);
    const first = await worker!.reconcile(state([ep]));
    expect(first.errors).toEqual([]);
    expect(links(containerNs)).toEqual(["eth0", "lo"]);

    // The container dies without a detach and a new namespace takes its name.
    sh("ip", "netns", "del", containerNs);
    await waitFor("the host end to go with the namespace", () => (links(hostNs).includes(ep.hostIfName) ? undefined : true));
    sh("ip", "netns", "add", containerNs);
    // The new namespace often gets the old one's inode number back; its cookie differs.
    expect(inspectNetworkNamespace(containerNs).cookie).not.toBe(recorded.cookie);

    const report = await worker!.reconcile(state([ep]));
    expect(report.errors).toEqual([expect.objectContaining({ code: "namespace-changed", endpointId: ep.id, object: `link ${ep.hostIfName}` })]);
    expect(links(containerNs)).toEqual(["lo"]);
    expect(links(hostNs)).not.toContain(ep.hostIfName);
  });

  it("reports a recorded namespace that is gone as namespace-changed", async () => {
    const ep = endpoint("f2f2f2f2f2f2f2f2", `${run}-never`, { dev: 4, ino: 1 });
    const report = await worker!.reconcile(state([ep]));
    expect(report.errors).toEqual([expect.objectContaining({ code: "namespace-changed", endpointId: ep.id })]);
  });

  it("never makes an endpoint's interface in the dataplane's own namespace", async () => {
    const ep = endpoint("f3f3f3f3f3f3f3f3", hostNs);
    const report = await worker!.reconcile(state([ep]));
    expect(report.errors).toEqual([expect.objectContaining({ endpointId: ep.id, message: expect.stringMatching(/own network namespace/) })]);
    expect(links(hostNs).filter((name) => name === "eth0" || name === ep.hostIfName)).toEqual([]);
  });

  it("refuses a FIFO where a namespace should be without blocking the kernel", async () => {
    sh("mkfifo", `/run/netns/${fifoNs}`);
    const ep = endpoint("f4f4f4f4f4f4f4f4", fifoNs);
    const report = await worker!.reconcile(state([ep]));
    expect(report.errors).toEqual([expect.objectContaining({ endpointId: ep.id, message: expect.stringMatching(/is not a network namespace/) })]);
    expect(links(hostNs)).not.toContain(ep.hostIfName);
  });
});
