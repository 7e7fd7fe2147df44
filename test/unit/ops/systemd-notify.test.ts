// weftd's sd_notify side: the environment it reads, the messages it sends and when, and the datagram
// itself arriving on a socket this test binds (as systemd would), with weftd's own PID as sender.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { SystemdNotifier, notifySocketAddress, sendNotifyDatagram, watchdogPingIntervalMs } from "../../../agent/systemd/index.js";
import { startNotifyListener, type NotifyListener } from "./notify-listener.js";

describe("notifySocketAddress", () => {
  it("builds a sockaddr_un for a path (NUL-terminated) and for an abstract @name (leading NUL)", () => {
    const path = notifySocketAddress("/run/systemd/notify");
    expect(path.readUInt16LE(0)).toBe(1);
    expect(path.subarray(2).toString()).toBe("/run/systemd/notify\0");
    const abstract = notifySocketAddress("@weft/notify");
    expect(abstract.subarray(2).toString()).toBe("\0weft/notify");
  });

  it("refuses a relative path, another address family and an over-long path, naming NOTIFY_SOCKET", () => {
    expect(() => notifySocketAddress("run/notify")).toThrow(/^NOTIFY_SOCKET: /);
    expect(() => notifySocketAddress("vsock:2:1234")).toThrow(/^NOTIFY_SOCKET: /);
    expect(() => notifySocketAddress(`/${"x".repeat(120)}`)).toThrow(/^NOTIFY_SOCKET: longer than 108 bytes/);
  });
});

describe("watchdogPingIntervalMs", () => {
  it("is half of WATCHDOG_USEC, and only for the process WATCHDOG_PID names", () => {
    expect(watchdogPingIntervalMs({ WATCHDOG_USEC: "30000000" }, 7)).toBe(15_000);
    expect(watchdogPingIntervalMs({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "7" }, 7)).toBe(15_000);
    expect(watchdogPingIntervalMs({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "8" }, 7)).toBeUndefined();
    expect(watchdogPingIntervalMs({}, 7)).toBeUndefined();
  });

  it("refuses a WATCHDOG_USEC that is not a positive number", () => {
    expect(() => watchdogPingIntervalMs({ WATCHDOG_USEC: "0" }, 7)).toThrow(/^WATCHDOG_USEC: /);
    expect(() => watchdogPingIntervalMs({ WATCHDOG_USEC: "30s" }, 7)).toThrow(/^WATCHDOG_USEC: /);
  });
});

describe("SystemdNotifier", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function notifier(env: Record<string, string>): { sent: string[]; warnings: string[]; notifier: SystemdNotifier } {
    const sent: string[] = [];
    const warnings: string[] = [];
    return { sent, warnings, notifier: new SystemdNotifier({ env, pid: 7, send: (_a, m) => sent.push(m), warn: (l) => warnings.push(l) }) };
  }

  it("sends nothing without NOTIFY_SOCKET", () => {
    const { sent, notifier: n } = notifier({ WATCHDOG_USEC: "1000000" });
    n.starting("x");
    n.ready("y");
    n.stopping();
    expect(n.enabled).toBe(false);
    expect(sent).toEqual([]);
  });

  it("extends the start timeout while starting, then READY=1, WATCHDOG=1 every half period, STOPPING=1 and no ping after", () => {
    vi.useFakeTimers();
    const { sent, notifier: n } = notifier({ NOTIFY_SOCKET: "/run/systemd/notify", WATCHDOG_USEC: "2000000", WATCHDOG_PID: "7" });
    n.starting("registering\nin etcd");
    expect(sent).toEqual(["STATUS=registering in etcd"]);
    vi.advanceTimersByTime(2000);
    expect(sent.slice(1)).toEqual(["EXTEND_TIMEOUT_USEC=3000000", "EXTEND_TIMEOUT_USEC=3000000"]);
    sent.length = 0;
    n.ready("ready: node n1");
    expect(sent).toEqual(["READY=1\nSTATUS=ready: node n1"]);
    vi.advanceTimersByTime(999);
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(2001);
    expect(sent.slice(1)).toEqual(["WATCHDOG=1", "WATCHDOG=1", "WATCHDOG=1"]);
    sent.length = 0;
    n.stopping();
    vi.advanceTimersByTime(10_000);
    expect(sent).toEqual(["STOPPING=1\nSTATUS=shutting down"]);
  });

  it("pings only from the event loop: a blocked loop sends no WATCHDOG=1", () => {
    vi.useFakeTimers();
    const { sent, notifier: n } = notifier({ NOTIFY_SOCKET: "/run/systemd/notify", WATCHDOG_USEC: "2000000" });
    n.ready("ready");
    sent.length = 0;
    // Time passes without the loop turning (a busy loop): no timer callback, so no ping.
    vi.setSystemTime(Date.now() + 10_000);
    expect(sent).toEqual([]);
    vi.advanceTimersToNextTimer();
    expect(sent).toEqual(["WATCHDOG=1"]);
    n.stopping();
  });

  it("reports a failed send as a warning instead of throwing", () => {
    const warnings: string[] = [];
    const n = new SystemdNotifier({ env: { NOTIFY_SOCKET: "/nowhere/notify" }, pid: 7, send: sendNotifyDatagram, warn: (l) => warnings.push(l) });
    n.ready("ready");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^systemd notification READY=1 not sent: NOTIFY_SOCKET: sendto: No such file or directory/);
  });
});

describe("sendNotifyDatagram against a bound socket", () => {
  let dir: string;
  const listeners: NotifyListener[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "weft-notify-"));
  });
  afterAll(async () => {
    for (const l of listeners) l.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const kind of ["path", "abstract"] as const) {
    it(`delivers each message as one datagram from this process's PID (${kind} socket)`, async () => {
      const socket = kind === "path" ? join(dir, "notify") : `@weft-test-notify-${process.pid}`;
      const listener = await startNotifyListener(socket);
      listeners.push(listener);
      const n = new SystemdNotifier({ env: { NOTIFY_SOCKET: socket }, pid: process.pid, send: sendNotifyDatagram, warn: (l) => expect.fail(l) });
      n.ready("ready: node n1");
      n.stopping();
      await listener.next((m) => m.fields["STOPPING"] === "1", 10_000);
      expect(listener.received.map((m) => m.message)).toEqual(["READY=1\nSTATUS=ready: node n1", "STOPPING=1\nSTATUS=shutting down"]);
      expect(listener.received.map((m) => m.pid)).toEqual([process.pid, process.pid]);
    });
  }
});
