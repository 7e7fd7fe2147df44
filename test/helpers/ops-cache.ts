// What the operator tests share and build once: a clean Debian 12 root (debootstrap from Debian's
// archive, cached in /var/tmp across runs) and the release tarball of this checkout (cached per source
// state). Test files run two at a time, so each is built under a lock: a second file waits for the
// first instead of building (or deleting) the same thing beside it.
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { packageRoot } from "../../agent/package-root.js";

const run = promisify(execFile);
const REPO = packageRoot();
export const DEBIAN_ROOT = "/var/tmp/weft-ops-systemd-root";
const RELEASES = "/var/tmp/weft-release-cache";
/** What the tests run inside the root: systemd as PID 1, weft's runtime tools, Debian's etcd. */
const PACKAGES = "systemd,systemd-sysv,dbus,iproute2,nftables,conntrack,util-linux,etcd-server,procps";
/** A lock older than this was left by a killed run. */
const STALE_LOCK_MS = 20 * 60_000;

/** The cached clean root, built now when missing (about 5 minutes). Callers must not write into it. */
export async function debianRoot(): Promise<string> {
  const complete = join(DEBIAN_ROOT, ".complete");
  if (existsSync(complete)) return DEBIAN_ROOT;
  await withLock(`${DEBIAN_ROOT}.lock`, async () => {
    if (existsSync(complete)) return;
    rmSync(DEBIAN_ROOT, { recursive: true, force: true });
    await run("debootstrap", ["--variant=minbase", `--include=${PACKAGES}`, "bookworm", DEBIAN_ROOT, "http://deb.debian.org/debian"], { maxBuffer: 256 << 20 });
    writeFileSync(complete, "");
  });
  return DEBIAN_ROOT;
}

/**
 * The path of this checkout's release tarball (compose/install/build-release.sh), built once per source
 * state: the commit plus any uncommitted change. Older releases in the cache are removed.
 */
export async function releaseTarball(): Promise<string> {
  const dir = join(RELEASES, sourceState());
  const find = (): string | undefined => (existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith(".tar.gz")) : undefined);
  const built = find();
  if (built && existsSync(join(dir, ".complete"))) return join(dir, built);
  mkdirSync(RELEASES, { recursive: true });
  await withLock(`${dir}.lock`, async () => {
    if (find() && existsSync(join(dir, ".complete"))) return;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    await run(join(REPO, "compose/install/build-release.sh"), [dir], { maxBuffer: 64 << 20 });
    writeFileSync(join(dir, ".complete"), "");
    for (const other of readdirSync(RELEASES)) {
      const path = join(RELEASES, other);
      if (path !== dir && !other.endsWith(".lock")) rmSync(path, { recursive: true, force: true });
    }
  });
  return join(dir, find()!);
}

function sourceState(): string {
  const git = (...args: string[]): string => execFileSync("git", ["-C", REPO, ...args], { encoding: "utf8", maxBuffer: 256 << 20 });
  const hash = createHash("sha256");
  hash.update(git("rev-parse", "HEAD"));
  hash.update(git("diff", "HEAD", "--binary"));
  for (const file of git("ls-files", "--others", "--exclude-standard").split("\n").filter(Boolean)) {
    hash.update(`${file} ${existsSync(join(REPO, file)) ? statSync(join(REPO, file)).mtimeMs : 0}\n`);
  }
  return hash.digest("hex").slice(0, 16);
}

async function withLock(path: string, work: () => Promise<void>): Promise<void> {
  for (;;) {
    try {
      closeSync(openSync(path, "wx"));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const age = Date.now() - (existsSync(path) ? statSync(path).mtimeMs : Date.now());
      if (age > STALE_LOCK_MS) rmSync(path, { force: true });
      else await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  try {
    await work();
  } finally {
    rmSync(path, { force: true });
  }
}
