// The dataplane against the real kernel, inside namespaces made for this run only.
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireCommand } from "../../agent/host-dependencies.js";
import {
  KernelWorkerClient,
  inspectUnderlay,
  hostIfNameFor,
  vtepMacFor,
  type DesiredLocalEndpoint,
  type DesiredNetwork,
  type DesiredRemoteEndpoint,
  type DesiredState,
} from "../../dataplane/index.js";

const run = `weft${randomBytes(3).toString("hex")}`;
const hostNs = `${run}-dp`;
const c1 = `${run}-c1`;
const c2 = `${run}-c2`;
const c3 = `${run}-c3`;
const madeNamespaces: string[] = [];
let worker: KernelWorkerClient | undefined;

function sh(program: string, ...args: string[]): string {
  return execFileSync(program, args, { encoding: "utf8" });
}

function json<T>(program: string, ...args: string[]): T {
  const out = sh(program, ...args).trim();
  return (out === "" ? [] : JSON.parse(out)) as T;
}

interface IpLink {
  ifname: string;
  mtu: number;
  address: string;
  master?: string;
  flags: string[];
  linkinfo?: { info_kind: string; info_data?: { id?: number; local?: string; port?: number; learning?: boolean; proxy?: boolean } };
}

const links = (ns: string) => json<IpLink[]>("ip", "-n", ns, "-d", "-j", "link", "show");
const link = (ns: string, name: string) => links(ns).find((l) => l.ifname === name);
const fdbOf = (device: string) =>
  json<{ mac: string; dst?: string; flags?: string[] }[]>("bridge", "-n", hostNs, "-j", "fdb", "show", "dev", device).filter((e) => e.dst !== undefined);
const neighboursOf = (device: string) => json<{ dst: string; lladdr: string; state: string[] }[]>("ip", "-n", hostNs, "-j", "neigh", "show", "dev", device);

function remote(i: number, vtep: string): DesiredRemoteEndpoint {
  return { ip: `10.40.${10 + (i >> 8)}.${i & 255}`, mac: `02:43:00:00:${((i >> 8) & 255).toString(16).padStart(2, "0")}:${(i & 255).toString(16).padStart(2, "0")}`, vtep };
}

function local(id: string, netns: string, ip: string, mac: string): DesiredLocalEndpoint {
  return { id, hostIfName: hostIfNameFor(id), netns, ifName: "eth0", mac, ip, prefixLen: 16 };
}

const ep1 = local("a1a1a1a1a1a1a1a1", c1, "10.40.0.2", "02:42:0a:28:00:02");
const ep2 = local("b2b2b2b2b2b2b2b2", `/run/netns/${c2}`, "10.40.0.3", "02:42:0a:28:00:03"); // by path: the nsenter route
const ep3 = local("c3c3c3c3c3c3c3c3", c3, "10.41.0.2", "02:42:0a:29:00:02");
const vteps = ["192.168.50.2", "192.168.50.3", "192.168.50.4", "192.168.50.5"];
const remotes101 = Array.from({ length: 1000 }, (_, i) => remote(i, vteps[i % vteps.length]!));
const remotes102 = Array.from({ length: 10 }, (_, i) => remote(2000 + i, vteps[0]!));

function state(networks: DesiredNetwork[], underlayIp = "192.168.50.1"): DesiredState {
  return { underlay: { ip: underlayIp, mtu: 1500 }, overlay: { networks } };
}

const net101 = (overrides: Partial<DesiredNetwork> = {}): DesiredNetwork => ({
  vni: 101,
  vtepMac: vtepMacFor("e2e-host", 101),
  mtu: 1450,
  localEndpoints: [ep1, ep2],
  remoteEndpoints: remotes101,
  ...overrides,
});
const net102 = (): DesiredNetwork => ({ vni: 102, vtepMac: vtepMacFor("e2e-host", 102), mtu: 1450, localEndpoints: [ep3], remoteEndpoints: remotes102 });

describe("dataplane on the real kernel", () => {
  beforeAll(() => {
    for (const command of ["ip", "bridge", "nsenter", "ping"]) requireCommand(command);
    for (const ns of [hostNs, c1, c2, c3]) {
      sh("ip", "netns", "add", ns);
      madeNamespaces.push(ns);
    }
    sh("ip", "-n", hostNs, "link", "set", "lo", "up");
    // Someone else's objects, which weft must never touch.
    sh("ip", "-n", hostNs, "link", "add", "foreignvx", "type", "vxlan", "id", "999", "local", "192.168.50.1", "dstport", "4790", "nolearning");
    sh("ip", "-n", hostNs, "link", "add", "foreignbr", "type", "bridge");
    sh("bridge", "-n", hostNs, "fdb", "append", "02:99:00:00:00:01", "dev", "foreignvx", "dst", "192.168.50.99", "self", "permanent");
    worker = new KernelWorkerClient(hostNs);
  });

  afterAll(async () => {
    await worker?.close();
    for (const ns of madeNamespaces) spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  });

  it("builds two networks with local endpoints and 1,000 remote endpoints", async () => {
    const report = await worker!.reconcile(state([net101(), net102()]));
    expect(report.errors).toEqual([]);
    expect(report).toMatchObject({ linksCreated: 7, linksDeleted: 0, fdbAdded: 1010, neighboursAdded: 1010, fdbRemoved: 0, neighboursRemoved: 0 });

    for (const vni of [101, 102]) {
      const br = link(hostNs, `weft-br${vni}`)!;
      expect(br.linkinfo?.info_kind).toBe("bridge");
      expect(br.flags).toContain("UP");
      expect(br.mtu).toBe(1450);
      const vx = link(hostNs, `weft-vx${vni}`)!;
      expect(vx.linkinfo?.info_data).toMatchObject({ id: vni, local: "192.168.50.1", port: 4789, learning: false, proxy: true });
      expect(vx).toMatchObject({ address: vtepMacFor("e2e-host", vni), mtu: 1450, master: `weft-br${vni}` });
      expect(vx.flags).toContain("UP");
    }
    for (const [endpoint, ns, vni] of [[ep1, c1, 101], [ep2, c2, 101], [ep3, c3, 102]] as const) {
      expect(link(hostNs, endpoint.hostIfName)).toMatchObject({ master: `weft-br${vni}`, mtu: 1450 });
      const eth0 = link(ns, "eth0")!;
      expect(eth0).toMatchObject({ address: endpoint.mac, mtu: 1450 });
      expect(eth0.flags).toContain("UP");
      expect(link(ns, "lo")!.flags).toContain("UP");
      const addresses = json<{ addr_info: { family: string; local: string; prefixlen: number }[] }[]>("ip", "-n", ns, "-j", "addr", "show", "dev", "eth0");
      expect(addresses[0]!.addr_info.filter((a) => a.family === "inet")).toEqual([expect.objectContaining({ local: endpoint.ip, prefixlen: 16 })]);
    }

    const fdb = fdbOf("weft-vx101");
    expect(fdb).toHaveLength(1000);
    const expectedFdb = new Map(remotes101.map((r) => [r.mac, r.vtep]));
    for (const entry of fdb) {
      expect(entry.dst).toBe(expectedFdb.get(entry.mac));
      expect(entry.flags ?? []).toContain("self");
    }
    const neighbours = neighboursOf("weft-vx101");
    expect(neighbours).toHaveLength(1000);
    const expectedNeigh = new Map(remotes101.map((r) => [r.ip, r.mac]));
    for (const entry of neighbours) {
      expect(entry.lladdr).toBe(expectedNeigh.get(entry.dst));
      expect(entry.state).toContain("PERMANENT");
    }
    expect(fdbOf("weft-vx102")).toHaveLength(10);
  });

  it("does nothing on a second run with the same state", async () => {
    const report = await worker!.reconcile(state([net101(), net102()]));
    expect(report).toMatchObject({ linksCreated: 0, linksDeleted: 0, fdbAdded: 0, fdbRemoved: 0, neighboursAdded: 0, neighboursRemoved: 0, errors: [] });
  });

  it("lets two containers on the same bridge ping each other", () => {
    const result = spawnSync("ip", ["netns", "exec", c1, "ping", "-c", "1", "-w", "10", ep2.ip], { encoding: "utf8" });
    expect(result.stdout + result.stderr).toContain("1 received");
    expect(result.status).toBe(0);
  });

  it("moves endpoints to a new VTEP leaving exactly one dst per MAC", async () => {
    const moved = remotes101.map((r, i) => (i < 100 ? { ...r, vtep: "192.168.50.77" } : r));
    const report = await worker!.reconcile(state([net101({ remoteEndpoints: moved }), net102()]));
    expect(report).toMatchObject({ fdbAdded: 100, fdbRemoved: 100, neighboursAdded: 0, neighboursRemoved: 0, errors: [] });
    const fdb = fdbOf("weft-vx101");
    expect(fdb).toHaveLength(1000);
    const byMac = new Map<string, string[]>();
    for (const entry of fdb) byMac.set(entry.mac, [...(byMac.get(entry.mac) ?? []), entry.dst!]);
    for (const [i, r] of moved.entries()) expect(byMac.get(r.mac), `endpoint ${i}`).toEqual([r.vtep]);
  });

  it("with prune=false (a restart before gossip synced) removes nothing the state does not name", async () => {
    const report = await worker!.reconcile(state([net101({ localEndpoints: [ep1], remoteEndpoints: [] })]), { prune: false });
    expect(report).toMatchObject({ linksDeleted: 0, fdbRemoved: 0, neighboursRemoved: 0, errors: [] });
    expect(report.orphanVeths.sort()).toEqual([ep2.hostIfName, ep3.hostIfName].sort());
    expect(fdbOf("weft-vx101")).toHaveLength(1000);
    expect(neighboursOf("weft-vx101")).toHaveLength(1000);
    expect(fdbOf("weft-vx102")).toHaveLength(10);
    expect(link(c2, "eth0")).toBeDefined();
  });

  it("reports a veth into a missing namespace and leaves no half-made veth", async () => {
    const ghost = local("deadbeef00000000", `${run}-missing`, "10.40.0.9", "02:42:0a:28:00:09");
    const report = await worker!.reconcile(state([net101({ localEndpoints: [ep1, ep2, ghost], remoteEndpoints: remotes101.map((r, i) => (i < 100 ? { ...r, vtep: "192.168.50.77" } : r)) }), net102()]));
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]).toMatchObject({ endpointId: ghost.id, object: `link ${ghost.hostIfName}` });
    expect(report.errors[0]!.message).toMatch(/missing/);
    expect(link(hostNs, ghost.hostIfName)).toBeUndefined();
    expect(links(hostNs).filter((l) => l.linkinfo?.info_kind === "veth")).toHaveLength(3);
  });

  it("removes a network, an endpoint and remote endpoints, and leaves foreign objects alone", async () => {
    const report = await worker!.reconcile(state([net101({ localEndpoints: [ep1], remoteEndpoints: remotes101.slice(500) })]));
    expect(report.errors).toEqual([]);
    expect(report).toMatchObject({ linksDeleted: 4, fdbRemoved: 500, neighboursRemoved: 500 });
    const names = links(hostNs).map((l) => l.ifname);
    expect(names).not.toContain("weft-br102");
    expect(names).not.toContain("weft-vx102");
    expect(names).not.toContain(ep2.hostIfName);
    expect(names).not.toContain(ep3.hostIfName);
    expect(link(c2, "eth0")).toBeUndefined();
    expect(fdbOf("weft-vx101")).toHaveLength(500);
    expect(neighboursOf("weft-vx101")).toHaveLength(500);
    expect(names).toEqual(expect.arrayContaining(["foreignvx", "foreignbr"]));
    expect(fdbOf("foreignvx")).toEqual([expect.objectContaining({ mac: "02:99:00:00:00:01", dst: "192.168.50.99" })]);
  });

  it("recreates the vxlan device when the underlay address changes, and restores its entries", async () => {
    const report = await worker!.reconcile(state([net101({ localEndpoints: [ep1], remoteEndpoints: remotes101.slice(500) })], "192.168.50.10"));
    expect(report).toMatchObject({ linksDeleted: 1, linksCreated: 1, fdbAdded: 500, neighboursAdded: 500, errors: [] });
    expect(link(hostNs, "weft-vx101")!.linkinfo?.info_data).toMatchObject({ id: 101, local: "192.168.50.10" });
    expect(link(hostNs, "weft-vx101")!.master).toBe("weft-br101");
    expect(fdbOf("weft-vx101")).toHaveLength(500);
  });

  it("removes everything weft made when nothing is desired", async () => {
    const report = await worker!.reconcile(state([]));
    expect(report.errors).toEqual([]);
    expect(links(hostNs).map((l) => l.ifname).filter((n) => n.startsWith("weft"))).toEqual([]);
    expect(links(hostNs).map((l) => l.ifname)).toEqual(expect.arrayContaining(["foreignvx", "foreignbr"]));
  });

  it("inspects the underlay of this host by interface and by address, naming the flag on errors", async () => {
    await expect(inspectUnderlay({ iface: "lo" })).resolves.toEqual({ iface: "lo", ip: "127.0.0.1", mtu: 65536 });
    await expect(inspectUnderlay({ ip: "127.0.0.1" })).resolves.toEqual({ iface: "lo", ip: "127.0.0.1", mtu: 65536 });
    await expect(inspectUnderlay({ iface: `${run}-none` })).rejects.toThrow(`--underlay-iface: no interface named ${run}-none`);
    await expect(inspectUnderlay({ ip: "198.51.100.254" })).rejects.toThrow("--underlay-ip: 198.51.100.254 is not assigned to any interface");
  });
});
