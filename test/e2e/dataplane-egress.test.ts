// The egress part and the overlay additions on the real kernel, in namespaces made for this run: a
// gateway bridge with one isolated leg per container carrying its default route, the host's address on
// the overlay bridge, and the overlay MTU on every interface, repaired when wrong.
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireCommand } from "../../agent/host-dependencies.js";
import {
  KernelWorkerClient,
  egressHostIfNameFor,
  hostIfNameFor,
  vtepMacFor,
  type DesiredEgressLeg,
  type DesiredLocalEndpoint,
  type DesiredState,
} from "../../dataplane/index.js";

const run = `weft${randomBytes(3).toString("hex")}`;
const hostNs = `${run}-h`;
const containers = [`${run}-c1`, `${run}-c2`] as const;
const BRIDGE = "weft_gwbridge";
const VNI = 310;
const made: string[] = [];
let worker: KernelWorkerClient | undefined;

function sh(program: string, ...args: string[]): string {
  return execFileSync(program, args, { encoding: "utf8" });
}

interface IpLink {
  ifname: string;
  address: string;
  mtu: number;
  master?: string;
  flags: string[];
  linkinfo?: { info_kind?: string; info_slave_kind?: string; info_slave_data?: { isolated?: boolean } };
}
const link = (ns: string, name: string) => (JSON.parse(sh("ip", "-n", ns, "-d", "-j", "link", "show", "dev", name)) as IpLink[])[0]!;
const linkNames = (ns: string) => (JSON.parse(sh("ip", "-n", ns, "-j", "link", "show")) as IpLink[]).map((l) => l.ifname);
const inet = (ns: string, dev: string) =>
  (JSON.parse(sh("ip", "-n", ns, "-j", "addr", "show", "dev", dev)) as { addr_info: { family: string; local: string; prefixlen: number }[] }[])[0]!.addr_info
    .filter((a) => a.family === "inet")
    .map((a) => `${a.local}/${a.prefixlen}`);
const ipForward = () => sh("ip", "netns", "exec", hostNs, "cat", "/proc/sys/net/ipv4/ip_forward").trim();

function ping(ns: string, target: string, deadlineSeconds: number): { ok: boolean; output: string } {
  const result = spawnSync("ip", ["netns", "exec", ns, "ping", "-c", "1", "-w", String(deadlineSeconds), target], { encoding: "utf8" });
  return { ok: result.status === 0, output: result.stdout + result.stderr };
}

const ids = ["e1e1e1e1e1e1e1e1", "e2e2e2e2e2e2e2e2"] as const;
const overlayEndpoints: DesiredLocalEndpoint[] = ids.map((id, i) => ({
  id,
  hostIfName: hostIfNameFor(id),
  netns: containers[i]!,
  ifName: "eth0",
  mac: `02:42:0a:1f:00:0${i + 2}`,
  ip: `10.31.0.${i + 2}`,
  prefixLen: 16,
}));
const legs: DesiredEgressLeg[] = ids.map((id, i) => ({
  endpointId: id,
  hostIfName: egressHostIfNameFor(id),
  netns: containers[i]!,
  ifName: "eth1",
  ip: `172.18.0.${i + 2}/16`,
  mac: `02:42:ac:12:00:0${i + 2}`,
  gateway: "172.18.0.1",
}));

function state(options: { mtu?: number; gateway?: string; legs?: DesiredEgressLeg[] } = {}): DesiredState {
  const mtu = options.mtu ?? 1400;
  return {
    underlay: { ip: "10.78.0.1", mtu: 1500 },
    overlay: {
      networks: [
        { vni: VNI, vtepMac: vtepMacFor("egress-e2e", VNI), mtu, gateway: options.gateway ?? "10.31.0.1/16", localEndpoints: overlayEndpoints, remoteEndpoints: [] },
      ],
    },
    egress: { bridge: { name: BRIDGE, address: "172.18.0.1/16", mtu }, legs: options.legs ?? legs },
  };
}

function expectMtuEverywhere(mtu: number): void {
  for (const name of [`weft-br${VNI}`, `weft-vx${VNI}`, BRIDGE, ...overlayEndpoints.map((e) => e.hostIfName), ...legs.map((l) => l.hostIfName)]) {
    expect({ name, mtu: link(hostNs, name).mtu }).toEqual({ name, mtu });
  }
  for (const ns of containers) for (const name of ["eth0", "eth1"]) expect({ ns, name, mtu: link(ns, name).mtu }).toEqual({ ns, name, mtu });
}

describe("egress and the overlay gateway on the real kernel", () => {
  beforeAll(() => {
    for (const command of ["ip", "ping"]) requireCommand(command);
    for (const ns of [hostNs, ...containers]) {
      sh("ip", "netns", "add", ns);
      made.push(ns);
    }
    sh("ip", "-n", hostNs, "link", "set", "lo", "up");
    sh("ip", "-n", hostNs, "link", "add", "ul0", "type", "veth", "peer", "name", "ul1");
    sh("ip", "-n", hostNs, "addr", "add", "10.78.0.1/24", "dev", "ul0");
    sh("ip", "-n", hostNs, "link", "set", "ul0", "up");
    sh("ip", "netns", "exec", hostNs, "sh", "-c", "echo 0 > /proc/sys/net/ipv4/ip_forward");
    worker = new KernelWorkerClient(hostNs);
  });

  afterAll(async () => {
    await worker?.close();
    for (const ns of made) spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  });

  it("makes the gateway bridge and a leg per container with its default route, and turns on forwarding", async () => {
    const report = await worker!.reconcile(state());
    expect(report.errors).toEqual([]);
    expect(report.skipped).toEqual([]);
    expect(report.sysctlsChanged).toEqual(["net.ipv4.ip_forward=1"]);
    expect(ipForward()).toBe("1");
    expect(inet(hostNs, BRIDGE)).toEqual(["172.18.0.1/16"]);
    expect(link(hostNs, BRIDGE).address).toBe("02:42:ac:12:00:01"); // its own, not a leg's that may leave
    for (const [i, ns] of containers.entries()) {
      const leg = legs[i]!;
      const host = link(hostNs, leg.hostIfName);
      expect(host).toMatchObject({ master: BRIDGE, linkinfo: { info_slave_kind: "bridge", info_slave_data: { isolated: true } } });
      expect(host.flags).toContain("UP");
      expect(inet(ns, "eth1")).toEqual([leg.ip]);
      const routes = JSON.parse(sh("ip", "-n", ns, "-j", "route", "show", "default")) as { dst: string; gateway?: string; dev: string }[];
      expect(routes).toEqual([expect.objectContaining({ dst: "default", gateway: "172.18.0.1", dev: "eth1" })]);
      const reached = ping(ns, "172.18.0.1", 5);
      expect(reached.output).toContain("1 received");
    }
  });

  it("keeps the legs apart: members of the gateway bridge cannot reach each other (port isolation)", async () => {
    expect(ping(containers[0], "172.18.0.3", 2).ok).toBe(false);
    // The same ping goes through once isolation is off, so it is isolation that stopped it...
    sh("ip", "-n", hostNs, "link", "set", "dev", legs[0]!.hostIfName, "type", "bridge_slave", "isolated", "off");
    sh("ip", "-n", hostNs, "link", "set", "dev", legs[1]!.hostIfName, "type", "bridge_slave", "isolated", "off");
    spawnSync("ip", ["-n", containers[0], "neigh", "flush", "dev", "eth1"]); // forget the failed lookup
    expect(ping(containers[0], "172.18.0.3", 5).output).toContain("1 received");
    // ...and the next reconcile puts it back.
    const report = await worker!.reconcile(state());
    expect(report.errors).toEqual([]);
    for (const leg of legs) expect(link(hostNs, leg.hostIfName).linkinfo?.info_slave_data?.isolated).toBe(true);
    spawnSync("ip", ["-n", containers[0], "neigh", "flush", "dev", "eth1"]);
    expect(ping(containers[0], "172.18.0.3", 2).ok).toBe(false);
    expect(ping(containers[1], "172.18.0.2", 2).ok).toBe(false);
  });

  it("gives the overlay bridge the host's gateway address, reachable from the containers on the overlay", () => {
    expect(inet(hostNs, `weft-br${VNI}`)).toEqual(["10.31.0.1/16"]);
    expect(link(hostNs, `weft-br${VNI}`).address).toBe("02:42:0a:1f:00:01");
    for (const ns of containers) expect(ping(ns, "10.31.0.1", 5).output).toContain("1 received");
    // The overlay leg carries no default route.
    const routes = JSON.parse(sh("ip", "-n", containers[0], "-j", "route", "show", "dev", "eth0")) as { dst: string }[];
    expect(routes.map((r) => r.dst)).toEqual(["10.31.0.0/16"]);
  });

  it("sets the overlay MTU on every overlay interface and both ends of every leg", () => {
    expectMtuEverywhere(1400);
  });

  it("does nothing on a second run with the same state", async () => {
    const report = await worker!.reconcile(state());
    expect(report).toMatchObject({ linksCreated: 0, linksDeleted: 0, errors: [], skipped: [] });
    expect(report.sysctlsChanged).toBeUndefined();
  });

  it("repairs a changed MTU on all of them, and replaces the gateway address", async () => {
    const report = await worker!.reconcile(state({ mtu: 1380, gateway: "10.31.4.1/16" }));
    expect(report.errors).toEqual([]);
    expectMtuEverywhere(1380);
    expect(inet(hostNs, `weft-br${VNI}`)).toEqual(["10.31.4.1/16"]);
    expect(link(hostNs, `weft-br${VNI}`).address).toBe("02:42:0a:1f:04:01");
    sh("ip", "-n", hostNs, "link", "set", "dev", `weft-br${VNI}`, "mtu", "1500");
    sh("ip", "-n", hostNs, "link", "set", "dev", legs[0]!.hostIfName, "mtu", "1500");
    sh("ip", "-n", hostNs, "addr", "add", "10.31.9.9/16", "dev", `weft-br${VNI}`);
    expect((await worker!.reconcile(state({ mtu: 1380, gateway: "10.31.4.1/16" }))).errors).toEqual([]);
    expectMtuEverywhere(1380);
    expect(inet(hostNs, `weft-br${VNI}`)).toEqual(["10.31.4.1/16"]);
  });

  it("removes a leg the state no longer names, and only that one; the others keep reaching the gateway at once", async () => {
    const report = await worker!.reconcile(state({ mtu: 1380, gateway: "10.31.4.1/16", legs: [legs[0]!] }));
    expect(report).toMatchObject({ linksDeleted: 1, errors: [] });
    expect(linkNames(hostNs)).not.toContain(legs[1]!.hostIfName);
    expect(linkNames(containers[1])).not.toContain("eth1");
    expect(linkNames(hostNs)).toContain(legs[0]!.hostIfName);
    expect(ping(containers[0], "172.18.0.1", 5).output).toContain("1 received");
  });
});
