// compose/provision/weft-node.sh, the provisioning the Vagrantfile and the multipass user data share,
// run for real: two podman containers with systemd as PID 1 on the clean Debian 12 root
// the operator tests share (test/helpers/ops-cache.ts: debootstrap, cached in /var/tmp), compose/ mounted where the VMs have
// it (/opt/weft-compose) and the release tarball (compose/install/build-release.sh) as WEFT_RELEASE.
// The first is provisioned with etcd, the second (at the same time) against it, as the labs do: the
// script installs what the root lacks from Debian's archive (conntrack, removed from the first node
// for that; the second has everything and never calls apt-get), reconfigures and starts Debian's
// etcd, and weftd.service comes up active and registered with the files compose/systemd has. The
// two agents see each other and their endpoints ping across; a second run changes nothing.
// Warm (the root cached), on a shared 2-core machine: 1 min 44 s (2 min 5 s under a load of 11),
// about half of it the release build (now built once for all operator tests); cold adds the root's
// debootstrap (shared with ops-systemd and ops-install), 5 min 32 s here, so about 7 min 15 s.
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../agent/package-root.js";
import { pollUntil, uniqueLabPrefix } from "../helpers/lab.js";
import { debianRoot, releaseTarball } from "../helpers/ops-cache.js";

const REPO = packageRoot();
const prefix = uniqueLabPrefix();
const NODES = [`${prefix}-n1`, `${prefix}-n2`] as const;
const NETWORK = { name: "provnet", subnet: "10.97.0.0/16" };
const execFileAsync = promisify(execFile);
let release: string | undefined;
let releaseFile = "";
const provisioned = new Map<string, { ok: boolean; out: string }>();
let etcdIp = "";
let root = "";

function podman(...args: string[]): string {
  return execFileSync("podman", ["--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}
function inside(container: string, ...args: string[]): { status: number | null; out: string } {
  const run = spawnSync("podman", ["exec", container, ...args], { encoding: "utf8" });
  return { status: run.status, out: `${run.stdout}${run.stderr}`.trim() };
}
function show(container: string, property: string): string {
  return inside(container, "systemctl", "show", "weftd", `--property=${property}`, "--value").out;
}
function journal(container: string): string {
  return inside(container, "journalctl", "-u", "weftd", "-u", "etcd", "--no-pager", "-n", "40").out;
}
/** weft-node.sh as the Vagrantfile runs it: compose/ at /opt/weft-compose, the release as WEFT_RELEASE. */
async function provision(container: string, ...args: string[]): Promise<{ ok: boolean; out: string }> {
  const script = "/opt/weft-compose/provision/weft-node.sh";
  return execFileAsync("podman", ["exec", "-e", `WEFT_RELEASE=/release/${releaseFile}`, container, script, ...args], { encoding: "utf8", maxBuffer: 64 << 20, timeout: 300_000 }).then(
    ({ stdout, stderr }) => ({ ok: true, out: stdout + stderr }),
    (err: { stdout?: string; stderr?: string; message: string }) => ({ ok: false, out: `${err.stdout ?? ""}${err.stderr ?? ""}${err.message}` }),
  );
}

beforeAll(async () => {
  root = await debianRoot();
  const tarball = await releaseTarball();
  release = dirname(tarball);
  releaseFile = basename(tarball);
  for (const name of NODES) {
    // On podman's default bridge (its NAT reaches Debian's archive); busybox for ping, which the root lacks.
    podman(
      "run", "-d", "--name", name, "--hostname", name, "--privileged", "--systemd=always", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096",
      "-v", `${release}:/release:ro`, "-v", `${join(REPO, "compose")}:/opt/weft-compose:ro`, "-v", "/bin/busybox:/usr/local/bin/busybox:ro",
      "--rootfs", `${root}:O`, "/lib/systemd/systemd",
    );
  }
  for (const name of NODES) {
    // A clean node: weft files a cached root may hold from older test runs are removed in this
    // container's overlay. The test's namespace is made before weftd
    // starts: podman's /run is not a shared mount, so a first /run/netns made later would not
    // propagate into the unit's private mount namespace (on a host, systemd makes /run shared).
    const setup = inside(name, "sh", "-c", [
      "i=0; until systemctl is-system-running --wait >/dev/null 2>&1 || [ \"$(systemctl is-system-running 2>/dev/null)\" = degraded ]; do i=$((i+1)); [ $i -lt 300 ] || exit 1; sleep 0.1; done",
      "rm -rf /etc/weft /etc/default/weftd /etc/systemd/system/weftd.service /etc/systemd/system/weftd.service.d /etc/systemd/system/multi-user.target.wants/weftd.service /usr/bin/weftd /usr/bin/weft /opt/weft",
      "systemctl daemon-reload && ip netns add app",
      ...(name === NODES[0] ? ["dpkg --purge conntrack >/dev/null"] : []),
    ].join("\n"));
    if (setup.status !== 0) throw new Error(`${name}: systemd did not start: ${setup.out}`);
  }
  etcdIp = podman("inspect", "-f", "{{.NetworkSettings.IPAddress}}", NODES[0]);
  // At once, as `vagrant up` may: the second node's weftd is restarted by systemd until etcd is up.
  const [first, second] = await Promise.all([provision(NODES[0], "node1", "eth0", etcdIp, "etcd"), provision(NODES[1], "node2", "eth0", etcdIp)]);
  provisioned.set(NODES[0], first);
  provisioned.set(NODES[1], second);
}, 600_000);

afterAll(() => {
  for (const name of NODES) spawnSync("podman", ["rm", "-f", "-t", "0", name], { stdio: "ignore" });
}, 60_000);

describe("compose/provision/weft-node.sh on a clean Debian 12 root under systemd", () => {
  it("provisions the first node with etcd: weftd.service active and registered", () => {
    const { ok, out } = provisioned.get(NODES[0])!;
    expect(ok, out).toBe(true);
    // The node lacked conntrack: installed from Debian's archive, and only that.
    expect(out).toContain("weft-node.sh: installing conntrack\n");
    expect(inside(NODES[0], "conntrack", "--version").status).toBe(0);
    expect(out).toMatch(/weft-node\.sh: weftd\.service is active: ready: node node1, api unix:\/run\/weft\/weft\.sock/);
    expect(inside(NODES[0], "systemctl", "is-active", "etcd").out).toBe("active");
    expect(inside(NODES[0], "systemctl", "is-enabled", "weftd").out).toBe("enabled");
    expect(show(NODES[0], "ActiveState"), journal(NODES[0])).toBe("active");
    const status = JSON.parse(inside(NODES[0], "weft", "--json", "status").out) as { node: string; underlayIp: string; etcdConnected: boolean };
    expect(status).toMatchObject({ node: "node1", underlayIp: etcdIp, etcdConnected: true });
  });

  it("writes the unit, weftd.yaml and /etc/default/weftd as compose/systemd has them, with this node's settings", () => {
    const source = (file: string) => readFileSync(join(REPO, "compose/systemd", file), "utf8");
    expect(inside(NODES[0], "cat", "/etc/systemd/system/weftd.service").out).toBe(source("weftd.service").trim());
    expect(inside(NODES[0], "cat", "/etc/weft/weftd.yaml").out).toBe(source("weftd.yaml").trim());
    const expected = source("weftd.default")
      .replace(/^#?WEFT_NODE_NAME=.*$/m, "WEFT_NODE_NAME=node1")
      .replace(/^#?WEFT_UNDERLAY_IFACE=.*$/m, "WEFT_UNDERLAY_IFACE=eth0")
      .replace(/^#?WEFT_ETCD_ENDPOINTS=.*$/m, `WEFT_ETCD_ENDPOINTS=http://${etcdIp}:2379`);
    expect(expected).not.toBe(source("weftd.default"));
    expect(inside(NODES[0], "cat", "/etc/default/weftd").out).toBe(expected.trim());
    expect(inside(NODES[0], "cat", "/etc/default/etcd").out).toContain(`ETCD_LISTEN_CLIENT_URLS=http://${etcdIp}:2379,http://127.0.0.1:2379`);
  });

  it("provisions the second node against the first's etcd: the agents see each other and their endpoints ping across", async () => {
    const { ok, out } = provisioned.get(NODES[1])!;
    expect(ok, out).toBe(true);
    expect(out).not.toContain("installing");
    expect(show(NODES[1], "ActiveState"), journal(NODES[1])).toBe("active");
    const peers = await pollUntil(
      async () => (JSON.parse(inside(NODES[0], "weft", "--json", "peers").out) as { peers: { name: string; state: string }[] }).peers,
      (list) => list.some((p) => p.name === "node2" && p.state === "alive"),
      30_000,
      500,
    );
    expect(peers).toContainEqual(expect.objectContaining({ name: "node2", state: "alive" }));
    expect(inside(NODES[0], "weft", "network", "create", NETWORK.name, "--subnet", NETWORK.subnet).status).toBe(0);
    const attach = (name: string) => JSON.parse(inside(name, "weft", "--json", "endpoint", "attach", "--network", NETWORK.name, "--netns", "app", "--name", `${name}-app`).out) as { endpoint: { ip: string } };
    const a = attach(NODES[0]).endpoint.ip;
    const b = attach(NODES[1]).endpoint.ip;
    const ping = (from: string, to: string) => inside(from, "ip", "netns", "exec", "app", "/usr/local/bin/busybox", "ping", "-c", "1", "-W", "2", to).status === 0;
    expect(await pollUntil(async () => ping(NODES[1], a), (okay) => okay, 20_000, 200)).toBe(true);
    expect(ping(NODES[0], b)).toBe(true);
  }, 60_000);

  it("run again, changes nothing: no apt-get, weftd not restarted", async () => {
    const pid = show(NODES[0], "MainPID");
    const again = await provision(NODES[0], "node1", "eth0", etcdIp, "etcd");
    expect(again.ok, again.out).toBe(true);
    expect(again.out).not.toContain("installing");
    expect(again.out).not.toContain("Reading package lists");
    expect(show(NODES[0], "MainPID")).toBe(pid);
    expect(show(NODES[0], "NRestarts")).toBe("0");
  }, 120_000);
});
