// Attach through rtnetlink into a namespace given by path, link observation against iproute2's view, and
// setns hygiene (only the calling thread moves, and it always comes back), on the real kernel.
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, readdirSync, readlinkSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireCommand } from "../../agent/host-dependencies.js";
import { KernelWorkerClient, hostIfNameFor, vtepMacFor, type DesiredLocalEndpoint, type DesiredState } from "../../dataplane/index.js";
import { inNetworkNamespace, openNetworkNamespace } from "../../dataplane/network-namespace.js";

/** The namespace of the calling thread, like `readlink /proc/thread-self/ns/net` ("net:[4026531840]"). */
const currentNetnsId = (): string => readlinkSync("/proc/thread-self/ns/net");

const run = `weft${randomBytes(3).toString("hex")}`;
const hostNs = `${run}-h`;
const containerNs = `${run}-c`;
const crowdedNs = `${run}-x`;
let worker: KernelWorkerClient | undefined;
let sleeper: ChildProcess | undefined;

function sh(program: string, ...args: string[]): string {
  return execFileSync(program, args, { encoding: "utf8" });
}

interface IpLink {
  ifindex: number;
  ifname: string;
  mtu: number;
  address?: string;
  master?: string;
  flags: string[];
  linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; port?: number; learning?: boolean; proxy?: boolean } };
}

const links = (ns: string) => JSON.parse(sh("ip", "-n", ns, "-d", "-j", "link", "show")) as IpLink[];
const link = (ns: string, name: string) => links(ns).find((l) => l.ifname === name);

async function waitFor<T>(what: string, probe: () => T | undefined, deadlineMs = 5000): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function endpoint(id: string, netns: string): DesiredLocalEndpoint {
  return { id, hostIfName: hostIfNameFor(id), netns, ifName: "eth0", mac: "02:42:0a:2a:00:02", ip: "10.42.0.2", prefixLen: 16 };
}

function state(localEndpoints: DesiredLocalEndpoint[]): DesiredState {
  return {
    underlay: { ip: "192.168.60.1", mtu: 1500 },
    overlay: { networks: [{ vni: 301, vtepMac: vtepMacFor("netns-e2e", 301), mtu: 1400, localEndpoints, remoteEndpoints: [] }] },
  };
}

describe("dataplane veths through rtnetlink", () => {
  let byPath: DesiredLocalEndpoint;

  beforeAll(async () => {
    for (const command of ["ip", "sleep"]) requireCommand(command);
    for (const ns of [hostNs, containerNs, crowdedNs]) sh("ip", "netns", "add", ns);
    sh("ip", "-n", crowdedNs, "link", "add", "eth0", "type", "veth", "peer", "name", "other0");
    sleeper = spawn("ip", ["netns", "exec", containerNs, "sleep", "600"], { stdio: "ignore" });
    const pid = sleeper.pid!;
    // ip netns exec execs sleep in the same process once it has entered the namespace.
    await waitFor("sleep inside the container namespace", () => (sh("ip", "netns", "identify", String(pid)).trim() === containerNs ? true : undefined));
    byPath = endpoint("d4d4d4d4d4d4d4d4", `/proc/${pid}/ns/net`);
    worker = new KernelWorkerClient(hostNs);
  });

  afterAll(async () => {
    await worker?.close();
    sleeper?.kill("SIGKILL");
    for (const ns of [hostNs, containerNs, crowdedNs]) spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  });

  it("attaches into a namespace given as /proc/PID/ns/net: address, MAC, MTU, both ends and lo up, host end enslaved", async () => {
    const report = await worker!.reconcile(state([byPath]));
    expect(report.errors).toEqual([]);
    expect(report.linksCreated).toBe(3);

    const inside = JSON.parse(sh("ip", "-n", containerNs, "-j", "addr", "show")) as { ifname: string; flags: string[]; mtu: number; address: string; addr_info: { family: string; local: string; prefixlen: number }[] }[];
    const eth0 = inside.find((l) => l.ifname === "eth0")!;
    expect(eth0).toMatchObject({ mtu: 1400, address: "02:42:0a:2a:00:02" });
    expect(eth0.flags).toContain("UP");
    expect(eth0.addr_info.filter((a) => a.family === "inet")).toEqual([expect.objectContaining({ local: "10.42.0.2", prefixlen: 16 })]);
    expect(inside.find((l) => l.ifname === "lo")!.flags).toContain("UP");

    const host = link(hostNs, byPath.hostIfName)!;
    expect(host).toMatchObject({ mtu: 1400, master: "weft-br301" });
    expect(host.linkinfo?.info_kind).toBe("veth");
    expect(host.flags).toContain("UP");
  });

  it("observes links exactly as iproute2 shows them, so a second reconcile changes nothing", async () => {
    const observed = await worker!.observe();
    const shown = links(hostNs);
    expect(observed.links.map((l) => l.name).sort()).toEqual(shown.map((l) => l.ifname).sort());
    for (const ip of shown) {
      const mine = observed.links.find((l) => l.name === ip.ifname)!;
      expect(mine, ip.ifname).toMatchObject({
        ifindex: ip.ifindex,
        kind: ip.linkinfo?.info_kind ?? "",
        mac: ip.address ?? "",
        mtu: ip.mtu,
        up: ip.flags.includes("UP"),
      });
      expect(mine.master, ip.ifname).toBe(ip.master);
    }
    const vx = observed.links.find((l) => l.name === "weft-vx301")!;
    expect(vx.vxlan).toEqual({ id: 301, local: "192.168.60.1", dstport: 4789, learning: false, proxy: true });

    const again = await worker!.reconcile(state([byPath]));
    expect(again).toMatchObject({ linksCreated: 0, linksDeleted: 0, errors: [] });
  });

  it("refuses an attach into a namespace that already has the interface name with the kernel's words, leaving no veth", async () => {
    const crowded = endpoint("e5e5e5e5e5e5e5e5", crowdedNs);
    const report = await worker!.reconcile(state([byPath, crowded]));
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]).toMatchObject({ endpointId: crowded.id, object: `link ${crowded.hostIfName}` });
    expect(report.errors[0]!.message).toMatch(/File exists/);
    expect(link(hostNs, crowded.hostIfName)).toBeUndefined();
    expect(links(crowdedNs).map((l) => l.ifname).sort()).toEqual(["eth0", "lo", "other0"]);
  });

  it("deletes the veth when the endpoint goes, and a second delete is no error", async () => {
    const report = await worker!.reconcile(state([]));
    expect(report).toMatchObject({ linksDeleted: 1, errors: [] });
    expect(link(hostNs, byPath.hostIfName)).toBeUndefined();
    expect(links(containerNs).map((l) => l.ifname)).toEqual(["lo"]);
  });
});

describe("inNetworkNamespace", () => {
  const ns = `${run}-s`;
  beforeAll(() => void sh("ip", "netns", "add", ns));
  afterAll(() => void spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" }));

  const otherThreads = (): string[] =>
    readdirSync("/proc/self/task")
      .filter((tid) => tid !== String(process.pid))
      .map((tid) => readlinkSync(`/proc/self/task/${tid}/ns/net`));

  function inside<T>(netns: string, work: () => T): T {
    const { fd } = openNetworkNamespace(netns);
    try {
      return inNetworkNamespace(fd, work);
    } finally {
      closeSync(fd);
    }
  }

  it("moves only the calling thread and brings it back", () => {
    const home = currentNetnsId();
    const seen = inside(ns, () => ({ inside: currentNetnsId(), others: otherThreads() }));
    expect(seen.inside).not.toBe(home);
    expect(seen.others.length).toBeGreaterThan(0);
    expect(new Set(seen.others)).toEqual(new Set([home]));
    expect(currentNetnsId()).toBe(home);
  });

  it("comes back when the work throws, and passes the error on", () => {
    const home = currentNetnsId();
    let seen = "";
    expect(() =>
      inside(`/run/netns/${ns}`, () => {
        seen = currentNetnsId();
        throw new Error("boom inside");
      }),
    ).toThrow("boom inside");
    expect(seen).not.toBe(home);
    expect(currentNetnsId()).toBe(home);
  });

  it("refuses async work (whatever follows an await would run elsewhere) and still comes back", () => {
    const home = currentNetnsId();
    expect(() => inside(ns, async () => undefined)).toThrow(/must be synchronous/);
    expect(currentNetnsId()).toBe(home);
  });

  it("names a missing namespace and never leaves home", () => {
    const home = currentNetnsId();
    expect(() => inside(`${run}-missing`, () => "never")).toThrow(`netns: /run/netns/${run}-missing does not exist`);
    expect(currentNetnsId()).toBe(home);
  });
});
