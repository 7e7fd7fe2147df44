// weftd.service under a real systemd: a podman container with systemd as PID 1 on a Debian 12 root
// (debootstrap from Debian's archive, cached in /var/tmp), Debian's etcd-server inside, weft installed
// from the release tarball (compose/install/build-release.sh) and enabled. The unit as shipped (plus a drop-in
// shortening WatchdogSec for the test) becomes active only once weftd says READY=1, with its status
// line, running with only the unit's four capabilities; a weftd whose event loop stops (SIGSTOP) is killed by the watchdog and started again.
import { execFileSync, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../agent/package-root.js";
import { pollUntil, uniqueLabPrefix } from "../helpers/lab.js";
import { debianRoot, releaseTarball } from "../helpers/ops-cache.js";

const REPO = packageRoot();
const container = `${uniqueLabPrefix()}-systemd`;
let release: string | undefined;

function podman(...args: string[]): string {
  return execFileSync("podman", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}
function inside(...args: string[]): { status: number | null; out: string } {
  const run = spawnSync("podman", ["exec", container, ...args], { encoding: "utf8" });
  return { status: run.status, out: `${run.stdout}${run.stderr}`.trim() };
}
function show(property: string): string {
  return inside("systemctl", "show", "weftd", `--property=${property}`, "--value").out;
}

beforeAll(async () => {
  const root = await debianRoot();
  release = dirname(await releaseTarball());
  podman(
    "--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file", "run", "-d", "--name", container, "--privileged", "--systemd=always", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096",
    "-v", `${release}:/release:ro`, "-v", `${join(REPO, "compose/systemd")}:/opt/weft-systemd:ro`, "--rootfs", `${root}:O`, "/lib/systemd/systemd",
  );
  // The README's install: the unit and its files as an operator installs them (compose/README.md), a
  // drop-in with a short watchdog for the test, the release unpacked, then the unit enabled and started.
  const script = [
    "i=0; until systemctl is-system-running --wait >/dev/null 2>&1 || [ \"$(systemctl is-system-running 2>/dev/null)\" = degraded ]; do i=$((i+1)); [ $i -lt 300 ] || exit 1; sleep 0.1; done",
    "install -D -m 0644 /opt/weft-systemd/weftd.yaml /etc/weft/weftd.yaml",
    "install -D -m 0644 /opt/weft-systemd/weftd.default /etc/default/weftd",
    "install -D -m 0644 /opt/weft-systemd/weftd.service /etc/systemd/system/weftd.service",
    "mkdir -p /etc/systemd/system/weftd.service.d && printf '[Service]\\nWatchdogSec=4s\\n' > /etc/systemd/system/weftd.service.d/test.conf",
    "tar -C / -xzf /release/*.tar.gz && systemctl daemon-reload && systemctl enable --now --no-block weftd",
  ].join(" && ");
  const install = spawnSync("podman", ["exec", container, "sh", "-c", script], { encoding: "utf8" });
  if (install.status !== 0) throw new Error(`install failed: ${install.stdout}${install.stderr}`);
}, 900_000);

afterAll(() => {
  spawnSync("podman", ["rm", "-f", "-t", "0", container], { stdio: "ignore" });
}, 60_000);

describe("weftd.service under systemd", () => {
  it("becomes active only when weftd says READY=1, with its status line", async () => {
    const state = await pollUntil(async () => show("ActiveState"), (s) => s === "active" || s === "failed", 120_000, 500);
    expect(state, inside("journalctl", "-u", "weftd", "--no-pager", "-n", "40").out).toBe("active");
    expect(show("StatusText")).toMatch(/^ready: node \S+, api unix:\/run\/weft\/weft\.sock$/);
    expect(show("Type")).toBe("notify");
    expect(inside("systemctl", "is-active", "etcd").out).toBe("active");
    // Root with exactly the five capabilities the unit bounds it to: NET_BIND_SERVICE (10), NET_ADMIN
    // (12), NET_RAW (13), SYS_PTRACE (19), SYS_ADMIN (21).
    const status = inside("cat", `/proc/${show("MainPID")}/status`).out;
    expect(/^CapEff:\s+(\w+)$/m.exec(status)?.[1]).toBe((2n ** 10n + 2n ** 12n + 2n ** 13n + 2n ** 19n + 2n ** 21n).toString(16).padStart(16, "0"));
    expect(/^NoNewPrivs:\s+(\d)$/m.exec(status)?.[1]).toBe("1");
  }, 150_000);

  it("attaches a namespace named by /proc/PID/ns/net whose process holds every capability (as a Docker container's do)", () => {
    expect(inside("weft", "network", "create", "unitnet", "--subnet", "10.77.0.0/16").status).toBe(0);
    // A root process with the full capability set in a network namespace of its own; setsid execs in
    // place (a background job is no group leader), so $! is the namespace holder's PID.
    const holder = inside("sh", "-c", "setsid unshare --net sleep 600 >/dev/null 2>&1 & echo $!");
    expect(holder.status).toBe(0);
    const pid = holder.out.trim();
    try {
      expect(inside("grep", "^CapEff", `/proc/${pid}/status`).out).not.toMatch(/CapEff:\s+0000000000203400$/);
      const attach = inside("weft", "--json", "endpoint", "attach", "--network", "unitnet", "--netns", `/proc/${pid}/ns/net`, "--name", "full-caps");
      expect(attach.status, attach.out).toBe(0);
      expect(inside("nsenter", `--net=/proc/${pid}/ns/net`, "ip", "-4", "-o", "addr", "show", "dev", "eth0").out).toMatch(/inet 10\.77\./);
    } finally {
      inside("kill", pid);
    }
  }, 60_000);

  it("kills a weftd whose event loop stopped when the watchdog expires, and starts it again", async () => {
    const pid = show("MainPID");
    expect(Number(pid)).toBeGreaterThan(0);
    expect(inside("kill", "-STOP", pid).status).toBe(0);
    const restarted = await pollUntil(
      async () => ({ restarts: Number(show("NRestarts")), pid: show("MainPID"), state: show("ActiveState") }),
      (s) => s.restarts >= 1 && s.pid !== pid && s.pid !== "0" && s.state === "active",
      120_000,
      500,
    );
    expect(restarted, inside("journalctl", "-u", "weftd", "--no-pager", "-n", "40").out).toMatchObject({ state: "active" });
    expect(restarted.restarts).toBeGreaterThanOrEqual(1);
    expect(inside("journalctl", "-u", "weftd", "--no-pager").out).toMatch(/[Ww]atchdog timeout/);
  }, 150_000);
});
