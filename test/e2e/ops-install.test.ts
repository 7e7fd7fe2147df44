// The install path for real nodes: compose/install/build-release.sh makes a tarball (weft compiled,
// its production dependencies and Node 20 under /opt/weft, /usr/bin wrappers); unpacked into a clean
// Debian 12 root from Debian's archive alone (debootstrap, no node there), `weftd --version` and
// `weft --help` work. The root is the one ops-systemd.test.ts builds and caches in /var/tmp.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../agent/package-root.js";

const REPO = packageRoot();
const ROOT = "/var/tmp/weft-ops-systemd-root";
const PACKAGES = "systemd,systemd-sysv,dbus,iproute2,nftables,conntrack,util-linux,etcd-server,procps";
let out: string;
let tarball: string;

beforeAll(() => {
  if (!existsSync(join(ROOT, ".complete"))) {
    rmSync(ROOT, { recursive: true, force: true });
    execFileSync("debootstrap", ["--variant=minbase", `--include=${PACKAGES}`, "bookworm", ROOT, "http://deb.debian.org/debian"], { stdio: "ignore" });
    writeFileSync(join(ROOT, ".complete"), "");
  }
  out = mkdtempSync(join(tmpdir(), "weft-release-"));
  tarball = execFileSync(join(REPO, "compose/install/build-release.sh"), [out], { encoding: "utf8" }).trim().split("\n").at(-1)!;
}, 600_000);

afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

describe("install tarball", () => {
  it("installs into a clean Debian 12 root without node, and weftd --version and weft --help run there", () => {
    expect(tarball).toMatch(/\/weft-\d+\.\d+\.\d+-linux-\w+\.tar\.gz$/);
    const script = "tar -C / -xzf /release/*.tar.gz && if command -v node; then echo 'node found before install'; exit 9; fi; weftd --version && weft --help";
    const run = spawnSync(
      "podman",
      ["--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file", "run", "--rm", "--network", "none",
        "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096", "-v", `${out}:/release:ro`, "--rootfs", `${ROOT}:O`, "sh", "-c", script],
      { encoding: "utf8" },
    );
    expect(run.status, run.stdout + run.stderr).toBe(0);
    const version = (JSON.parse(execFileSync("node", ["-p", `JSON.stringify(require("${REPO}/package.json").version)`], { encoding: "utf8" })) as string);
    expect(run.stdout).toContain(`weftd ${version}\n`);
    expect(run.stdout).toMatch(/Usage: weft \[options\] \[command\]/);
  }, 120_000);
});
