// The programs weft needs from the host, and the Debian packages that provide them. The lab installs
// what is missing (and says so); everything else fails with a message naming the package.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { errorText } from "../proto/values/index.js";

export const HOST_PACKAGES: Readonly<Record<string, string>> = {
  etcd: "etcd-server",
  etcdctl: "etcd-client",
  ip: "iproute2",
  bridge: "iproute2",
  nft: "nftables",
  // The mesh deletes removed backends' connection-tracking entries.
  conntrack: "conntrack",
  nsenter: "util-linux",
  ping: "iputils-ping",
  // The lab's world: its DNS server, and the lab's egress and name checks.
  dnsmasq: "dnsmasq-base",
  curl: "curl",
  getent: "libc-bin",
};

export function hasCommand(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

export class MissingDependencyError extends Error {
  constructor(
    readonly command: string,
    readonly debianPackage: string,
  ) {
    super(`${command} is not installed: install it with 'apt-get install -y ${debianPackage}' (or run 'npm run lab', which installs it)`);
    this.name = "MissingDependencyError";
  }
}

/** Throws a MissingDependencyError naming the Debian package when `command` is not on PATH. */
export function requireCommand(command: string, debianPackage = HOST_PACKAGES[command] ?? command): void {
  if (!hasCommand(command)) throw new MissingDependencyError(command, debianPackage);
}

/** Installs the Debian packages behind any missing commands with apt-get; returns what it installed. */
export function installMissing(commands: readonly string[], log: (line: string) => void): string[] {
  const missing = [...new Set(commands.filter((c) => !hasCommand(c)).map((c) => HOST_PACKAGES[c] ?? c))];
  if (missing.length === 0) return [];
  if (process.getuid?.() !== 0) throw new Error(`missing ${missing.join(", ")}; installing them needs root (apt-get)`);
  log(`installing missing packages with apt-get: ${missing.join(" ")}`);
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit" });
  execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  for (const pkg of missing) stopPackageService(pkg, log);
  return missing;
}

/** Services a package starts on install that weft only wanted the program of: Debian's etcd-server
 * enables and starts a system-wide etcd on 127.0.0.1:2379 at every boot (prometheus likewise on :9090),
 * but the lab runs its own. */
const PACKAGE_SERVICES: Readonly<Record<string, string>> = { "etcd-server": "etcd.service", prometheus: "prometheus.service" };

function stopPackageService(pkg: string, log: (line: string) => void): void {
  const unit = PACKAGE_SERVICES[pkg];
  if (unit === undefined || !existsSync("/run/systemd/system")) return;
  try {
    execFileSync("systemctl", ["disable", "--now", unit], { stdio: "ignore" });
    log(`${pkg} is installed for its program only: stopped and disabled ${unit}`);
  } catch (err) {
    log(`could not stop ${unit} that ${pkg} started: ${errorText(err)} (stop it with 'systemctl disable --now ${unit}')`);
  }
}
