// weftd.service under a real systemd: a podman container with systemd as PID 1 on a Debian 12 root
// (debootstrap from Debian's archive, cached in /var/tmp), Debian's etcd-server inside, weft installed
// from the release tarball (compose/install/build-release.sh) and enabled. The unit as shipped (plus a drop-in
// shortening WatchdogSec for the test) becomes active only once weftd says READY=1, with its status
// line, running with only the unit's four capabilities; a weftd whose event loop stops (SIGSTOP) is killed by the watchdog and started again.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../agent/package-root.js";
import { pollUntil, uniqueLabPrefix } from "../helpers/lab.js";

const REPO = packageRoot();
const ROOT = "/var/tmp/weft-ops-systemd-root";
const PACKAGES = "systemd,systemd-sysv,dbus,iproute2,nftables,conntrack,util-linux,etcd-server,procps";
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

beforeAll(() => {
  if (!existsSync(join(ROOT, ".complete"))) {
    rmSync(ROOT, { recursive: true, force: true });
    execFileSync("debootstrap", ["--variant=minbase", `--include=${PACKAGES}`, "bookworm", ROOT, "http://deb.debian.org/debian"], { stdio: "ignore" });
    writeFileSync(join(ROOT, ".complete"), "");
  }
  // The unit, its files and the binary as an operator installs them (compose/README.md).
  const etc = join(ROOT, "etc");
  mkdirSync(join(etc, "weft"), { recursive: true });
  mkdirSync(join(etc, "systemd/system/weftd.service.d"), { recursive: true });
  writeFileSync(join(etc, "weft/weftd.yaml"), readFileSync(join(REPO, "compose/systemd/weftd.yaml")));
  writeFileSync(join(etc, "default/weftd"), readFileSync(join(REPO, "compose/systemd/weftd.default")));
  writeFileSync(join(etc, "systemd/system/weftd.service"), readFileSync(join(REPO, "compose/systemd/weftd.service")));
  writeFileSync(join(etc, "systemd/system/weftd.service.d/test.conf"), "[Service]\nWatchdogSec=4s\n");
  // Not enabled in the cached root: the test installs and enables it as an operator would.
  rmSync(join(etc, "systemd/system/multi-user.target.wants/weftd.service"), { force: true });
  rmSync(join(ROOT, "usr/bin/weftd"), { force: true });
  release = mkdtempSync(join(tmpdir(), "weft-release-"));
  execFileSync(join(REPO, "compose/install/build-release.sh"), [release], { stdio: ["ignore", "ignore", "inherit"] });
  podman(
    "--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file", "run", "-d", "--name", container, "--privileged", "--systemd=always", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096",
    "-v", `${release}:/release:ro`, "--rootfs", `${ROOT}:O`, "/lib/systemd/systemd",
  );
  // The README's install: unpack the release, then enable and start the unit.
  const install = spawnSync("podman", ["exec", container, "sh", "-c", "i=0; until systemctl is-system-running --wait >/dev/null 2>&1 || [ \"$(systemctl is-system-running 2>/dev/null)\" = degraded ]; do i=$((i+1)); [ $i -lt 300 ] || exit 1; sleep 0.1; done; tar -C / -xzf /release/*.tar.gz && systemctl daemon-reload && systemctl enable --now --no-block weftd"], { encoding: "utf8" });
  if (install.status !== 0) throw new Error(`install failed: ${install.stdout}${install.stderr}`);
}, 600_000);

afterAll(() => {
  spawnSync("podman", ["rm", "-f", "-t", "0", container], { stdio: "ignore" });
  if (release) rmSync(release, { recursive: true, force: true });
}, 60_000);

describe("weftd.service under systemd", () => {
  it("becomes active only when weftd says READY=1, with its status line", async () => {
    const state = await pollUntil(async () => show("ActiveState"), (s) => s === "active" || s === "failed", 120_000, 500);
    expect(state, inside("journalctl", "-u", "weftd", "--no-pager", "-n", "40").out).toBe("active");
    expect(show("StatusText")).toMatch(/^ready: node \S+, api unix:\/run\/weft\/weft\.sock$/);
    expect(show("Type")).toBe("notify");
    expect(inside("systemctl", "is-active", "etcd").out).toBe("active");
    // Root with exactly the four capabilities the unit bounds it to: NET_BIND_SERVICE (10), NET_ADMIN
    // (12), NET_RAW (13), SYS_ADMIN (21).
    const status = inside("cat", `/proc/${show("MainPID")}/status`).out;
    expect(/^CapEff:\s+(\w+)$/m.exec(status)?.[1]).toBe((2n ** 10n + 2n ** 12n + 2n ** 13n + 2n ** 21n).toString(16).padStart(16, "0"));
    expect(/^NoNewPrivs:\s+(\d)$/m.exec(status)?.[1]).toBe("1");
  }, 150_000);

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
