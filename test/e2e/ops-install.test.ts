// The install path for real nodes: compose/install/build-release.sh makes a tarball (weft compiled,
// its production dependencies and Node 20 under /opt/weft, /usr/bin wrappers); unpacked into a clean
// Debian 12 root from Debian's archive alone (debootstrap, no node there), `weftd --version` and
// `weft --help` work. The root and the release are built once for all operator tests (test/helpers/ops-cache.ts).
import { execFileSync, spawnSync } from "node:child_process";
import { dirname } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../agent/package-root.js";
import { debianRoot, releaseTarball } from "../helpers/ops-cache.js";

const REPO = packageRoot();
let root: string;
let out: string;
let tarball: string;

beforeAll(async () => {
  root = await debianRoot();
  tarball = await releaseTarball();
  out = dirname(tarball);
}, 900_000);

describe("install tarball", () => {
  it("installs into a clean Debian 12 root without node, and weftd --version and weft --help run there", () => {
    expect(tarball).toMatch(/\/weft-\d+\.\d+\.\d+-linux-\w+\.tar\.gz$/);
    const script = "tar -C / -xzf /release/*.tar.gz && if command -v node; then echo 'node found before install'; exit 9; fi; weftd --version && weft --help";
    const run = spawnSync(
      "podman",
      ["--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file", "run", "--rm", "--network", "none",
        "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096", "-v", `${out}:/release:ro`, "--rootfs", `${root}:O`, "sh", "-c", script],
      { encoding: "utf8" },
    );
    expect(run.status, run.stdout + run.stderr).toBe(0);
    const version = (JSON.parse(execFileSync("node", ["-p", `JSON.stringify(require("${REPO}/package.json").version)`], { encoding: "utf8" })) as string);
    expect(run.stdout).toContain(`weftd ${version}\n`);
    expect(run.stdout).toMatch(/Usage: weft \[options\] \[command\]/);
  }, 120_000);
});
