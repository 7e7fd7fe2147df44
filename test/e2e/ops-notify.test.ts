// weftd under a stand-in for systemd: a real agent in a lab host's namespace, NOTIFY_SOCKET pointing at
// a datagram socket this test binds (tools python3), WATCHDOG_USEC set. When etcd cannot be reached it
// never says READY=1 and exits for systemd to restart it; with etcd it says READY=1 once registered, synced and
// reconciled (its API then reports etcd connected and a reconcile done), pings WATCHDOG=1 from its own
// PID, and says STOPPING=1 on SIGTERM.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentStatus, labAgent, type LabHost } from "../../agent/lab/index.js";
import { WEFTD_NODE_FLAGS, weftdArgs } from "../../agent/lab/lab-agent-process.js";
import { packageRoot } from "../../agent/package-root.js";
import { withLab, type TestLab } from "../helpers/lab.js";
import { startNotifyListener, type NotifyListener } from "../unit/ops/notify-listener.js";

const WEFTD = join(packageRoot(), "agent", "bin", "weftd.js");
let lab: TestLab;
let host: LabHost;
let dir: string;
const children: ChildProcess[] = [];
const listeners: NotifyListener[] = [];

beforeAll(async () => {
  lab = await withLab({ hosts: 1, containers: 0 });
  host = lab.state.hosts[0]!;
  await labAgent("stop", host.name, { prefix: lab.prefix });
  dir = await mkdtemp(join(tmpdir(), "weft-ops-notify-"));
}, 180_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  for (const l of listeners) l.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  await lab?.down();
}, 60_000);

function startWeftd(socket: string, args: string[]): { child: ChildProcess; exited: Promise<number | null> } {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("WEFT_") && !key.startsWith("WATCHDOG_")));
  const child = spawn("ip", ["netns", "exec", host.netns, process.execPath, ...WEFTD_NODE_FLAGS, WEFTD, ...args], {
    env: { ...env, NOTIFY_SOCKET: socket, WATCHDOG_USEC: "1000000" },
    cwd: packageRoot(),
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.push(child);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, exited };
}

describe("weftd's sd_notify protocol", () => {
  it("without etcd: never READY=1, and exits non-zero so systemd starts it again", async () => {
    const listener = await startNotifyListener(join(dir, "no-etcd.sock"));
    listeners.push(listener);
    const args = weftdArgs(host).map((a) => (a.startsWith("http://") ? "http://127.0.0.1:9" : a));
    const { child, exited } = startWeftd(listener.socket, args);
    const code = await Promise.race([exited, new Promise<"running">((resolve) => setTimeout(() => resolve("running"), 45_000))]);
    if (code === "running") child.kill("SIGKILL");
    expect(code).toBe(1);
    expect(listener.received.filter((n) => n.fields["READY"] !== undefined)).toEqual([]);
    expect(listener.received.some((n) => n.fields["STATUS"]?.startsWith("registering in etcd http://127.0.0.1:9"))).toBe(true);
    expect(new Set(listener.received.map((n) => n.pid))).toEqual(new Set([child.pid]));
  });

  it("READY=1 once registered and reconciled, WATCHDOG=1 pings, STOPPING=1 on SIGTERM", async () => {
    const listener = await startNotifyListener(join(dir, "notify.sock"));
    listeners.push(listener);
    const { child, exited } = startWeftd(listener.socket, weftdArgs(host));
    const ready = await listener.next((n) => n.fields["READY"] === "1", 90_000);
    expect(ready.pid).toBe(child.pid);
    expect(ready.fields["STATUS"]).toBe(`ready: node ${host.name}, api unix:${host.apiSocket}`);
    const status = await agentStatus(host, 5000);
    expect(status.etcdConnected).toBe(true);
    expect(status.lastReconcileMs).toBeGreaterThan(0n);
    // Nothing claimed readiness before: the STATUS lines say where the start was.
    const before = listener.received.slice(0, listener.received.indexOf(ready));
    expect(before.every((n) => n.fields["READY"] === undefined)).toBe(true);
    expect(before.some((n) => n.fields["STATUS"]?.startsWith("registering in etcd"))).toBe(true);

    await listener.next((n) => listener.received.indexOf(n) > listener.received.indexOf(ready) + 2 && n.message === "WATCHDOG=1", 30_000);
    const pings = listener.received.filter((n) => n.message === "WATCHDOG=1");
    expect(pings.length).toBeGreaterThanOrEqual(2);
    expect(new Set(pings.map((n) => n.pid))).toEqual(new Set([child.pid]));

    child.kill("SIGTERM");
    await listener.next((n) => n.fields["STOPPING"] === "1", 30_000);
    expect(await exited).toBe(0);
  });
});
