// Isolation by weft's nftables table, with real packets. One host namespace H holds three weft-like
// bridges (networks A and B, and an internal network I), the gwbridge and an underlay veth to a "world"
// namespace W, which also stands for a second host: network A is stretched to it over VXLAN. Containers
// route to other networks through their gateway (the worst case: host routing is the only path between
// networks). Before the table is written every probe below gets through (so each would fail without
// it); afterwards the cross-network ones are dropped (TCP, UDP, ICMP, both directions) and
// same-network traffic, local and over VXLAN, still passes.
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireCommand } from "../../agent/host-dependencies.js";
import { NftablesFirewall, firewallTable, nftRunner, type DesiredFirewall } from "../../dataplane/index.js";

const run = `weft${randomBytes(3).toString("hex")}`;
const H = `${run}-h`;
const W = `${run}-w`;
const ns = (name: string): string => `${run}-${name}`;
const made: string[] = [];
const servers: ChildProcess[] = [];
const PORT = 7070;
const DNS_PORT = 53;

function sh(...args: string[]): string {
  return execFileSync(args[0]!, args.slice(1), { encoding: "utf8" });
}
const ipn = (namespace: string, ...args: string[]): string => sh("ip", "-n", namespace, ...args);

// One server per namespace: TCP and UDP on each port given, answering with the client address it saw.
const SERVER = `
const net = require("node:net"), dgram = require("node:dgram");
const ports = process.argv.slice(1).map(Number);
let ready = 0;
const up = () => { if (++ready === ports.length * 2) console.log("ready"); };
for (const port of ports) {
  net.createServer((s) => s.end(s.remoteAddress)).listen(port, "0.0.0.0", up);
  const u = dgram.createSocket("udp4");
  u.on("message", (m, r) => u.send(r.address, r.port, r.address));
  u.bind(port, "0.0.0.0", up);
}`;

// One probe: prints the address the server saw, or "no answer" after the deadline.
const CLIENT = `
const net = require("node:net"), dgram = require("node:dgram");
const [proto, host, port] = process.argv.slice(1);
const done = (text) => { console.log(text); process.exit(0); };
setTimeout(() => done("no answer"), 3000);
if (proto === "tcp") {
  const s = net.connect(Number(port), host);
  let got = "";
  s.on("data", (d) => (got += d));
  s.on("end", () => done(got));
  s.on("error", (e) => done("error " + e.code));
} else {
  const u = dgram.createSocket("udp4");
  u.on("message", (m) => done(String(m)));
  u.send("hi", Number(port), host);
}`;

type Proto = "tcp" | "udp" | "icmp";

/** What `from` gets back from `to`: the address the server saw, "pong" for ICMP, or "no answer". */
function probe(from: string, proto: Proto, to: string, port = PORT): Promise<string> {
  const args =
    proto === "icmp"
      ? ["netns", "exec", from, "ping", "-c", "1", "-W", "3", "-q", to]
      : ["netns", "exec", from, process.execPath, "-e", CLIENT, proto, to, String(port)];
  return new Promise((resolve) => {
    const child = spawn("ip", args, { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("close", (code) => resolve(proto === "icmp" ? (code === 0 ? "pong" : "no answer") : out.trim()));
  });
}

async function startServer(namespace: string, ports: number[]): Promise<void> {
  const child = spawn("ip", ["netns", "exec", namespace, process.execPath, "-e", SERVER, ...ports.map(String)], { stdio: ["ignore", "pipe", "inherit"] });
  servers.push(child);
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("ready")) resolve();
    });
    child.on("exit", (code) => reject(new Error(`server in ${namespace} exited with ${String(code)}`)));
  });
}

interface Container {
  name: string;
  bridge: string;
  ip: string;
  routes: string[][];
  egressIp?: string;
}

// A: 10.51/16 on weft-br101 (also on W over VXLAN), B: 10.52/16 on weft-br102, I (internal): 10.53/16.
const containers: Container[] = [
  { name: "a1", bridge: "weft-br101", ip: "10.51.0.2", routes: [["10.52.0.0/16", "via", "10.51.1.1"]], egressIp: "172.18.0.2" },
  { name: "a2", bridge: "weft-br101", ip: "10.51.0.3", routes: [] },
  { name: "b1", bridge: "weft-br102", ip: "10.52.0.2", routes: [["10.51.0.0/16", "via", "10.52.1.1"], ["10.53.0.0/16", "via", "10.52.1.1"]], egressIp: "172.18.0.3" },
  { name: "i1", bridge: "weft-br103", ip: "10.53.0.2", routes: [["default", "via", "10.53.1.1"]] },
];

const firewall: DesiredFirewall = {
  underlayIface: "ul0",
  egress: { bridge: "weft_gwbridge", subnet: "172.18.0.0/16" },
  networks: [
    { name: "a", vni: 101, bridge: "weft-br101", subnet: "10.51.0.0/16", gatewayIp: "10.51.1.1", internal: false },
    { name: "b", vni: 102, bridge: "weft-br102", subnet: "10.52.0.0/16", gatewayIp: "10.52.1.1", internal: false },
    { name: "i", vni: 103, bridge: "weft-br103", subnet: "10.53.0.0/16", gatewayIp: "10.53.1.1", internal: true },
  ],
  dnsPort: DNS_PORT,
};

function buildTopology(): void {
  for (const namespace of [H, W, ...containers.map((c) => ns(c.name))]) {
    sh("ip", "netns", "add", namespace);
    made.push(namespace);
    ipn(namespace, "link", "set", "lo", "up");
    // Some probes answer by another way than they came (B's replies to the world leave by its egress
    // leg): no reverse-path filter, whatever the host's own setting is.
    sh("ip", "netns", "exec", namespace, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0");
  }
  sh("ip", "netns", "exec", H, "sysctl", "-qw", "net.ipv4.ip_forward=1");
  // With br_netfilter, bridged IPv4 goes through the inet forward hook (iif = oif = the bridge): the
  // table must let it through on an overlay bridge and drop it on the gwbridge.
  if (!existsSync("/proc/sys/net/bridge")) spawnSync("modprobe", ["br_netfilter"], { stdio: "ignore" });
  const brNetfilter = spawnSync("ip", ["netns", "exec", H, "sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1"]).status === 0;
  expect(brNetfilter, "br_netfilter is needed: modprobe br_netfilter").toBe(true);

  for (const n of firewall.networks) {
    ipn(H, "link", "add", n.bridge, "type", "bridge");
    ipn(H, "addr", "add", `${n.gatewayIp}/16`, "dev", n.bridge);
    ipn(H, "link", "set", n.bridge, "up");
  }
  ipn(H, "link", "add", "weft_gwbridge", "type", "bridge");
  ipn(H, "addr", "add", "172.18.0.1/16", "dev", "weft_gwbridge");
  ipn(H, "link", "set", "weft_gwbridge", "up");

  ipn(H, "link", "add", "ul0", "type", "veth", "peer", "name", "ul0", "netns", W);
  ipn(H, "addr", "add", "192.168.71.1/24", "dev", "ul0");
  ipn(W, "addr", "add", "192.168.71.2/24", "dev", "ul0");
  ipn(H, "link", "set", "ul0", "up");
  ipn(W, "link", "set", "ul0", "up");
  // The world knows the way to the overlays through H, as a careless router might.
  ipn(W, "route", "add", "10.0.0.0/8", "via", "192.168.71.1");

  // Network A stretched to W over VXLAN: W holds A's address 10.51.0.9 on its own bridge.
  for (const [namespace, local, remote] of [[H, "192.168.71.1", "192.168.71.2"], [W, "192.168.71.2", "192.168.71.1"]] as const) {
    ipn(namespace, "link", "add", "weft-vx101", "type", "vxlan", "id", "101", "local", local, "dstport", "4789");
    sh("bridge", "-n", namespace, "fdb", "append", "00:00:00:00:00:00", "dev", "weft-vx101", "dst", remote);
  }
  ipn(W, "link", "add", "weft-br101", "type", "bridge");
  ipn(W, "addr", "add", "10.51.0.9/16", "dev", "weft-br101");
  for (const namespace of [H, W]) {
    ipn(namespace, "link", "set", "weft-vx101", "master", "weft-br101");
    ipn(namespace, "link", "set", "weft-vx101", "up");
  }
  ipn(W, "link", "set", "weft-br101", "up");

  containers.forEach((c, i) => {
    const cns = ns(c.name);
    ipn(H, "link", "add", `v${i}o`, "type", "veth", "peer", "name", "eth0", "netns", cns);
    ipn(H, "link", "set", `v${i}o`, "master", c.bridge, "up");
    ipn(cns, "addr", "add", `${c.ip}/16`, "dev", "eth0");
    ipn(cns, "link", "set", "eth0", "up");
    if (c.egressIp) {
      ipn(H, "link", "add", `v${i}e`, "type", "veth", "peer", "name", "eth1", "netns", cns);
      ipn(H, "link", "set", `v${i}e`, "master", "weft_gwbridge", "up");
      ipn(cns, "addr", "add", `${c.egressIp}/16`, "dev", "eth1");
      ipn(cns, "link", "set", "eth1", "up");
      ipn(cns, "route", "add", "default", "via", "172.18.0.1");
    }
    for (const route of c.routes) ipn(cns, "route", "add", ...route);
  });
}

/** Every probe whose answer the table changes, with its answer before and after the table is written. */
interface Expectation {
  what: string;
  from: string;
  proto: Proto;
  to: string;
  port?: number;
  before: string;
  after: string;
}

const NONE = "no answer";
const crossNetwork = (what: string, from: string, to: string, seen: string): Expectation[] =>
  (["tcp", "udp", "icmp"] as const).map((proto) => ({ what: `${what} (${proto})`, from, proto, to, before: proto === "icmp" ? "pong" : seen, after: NONE }));

const expectations: Expectation[] = [
  ...crossNetwork("A -> B through the gateway of A", "a1", "10.52.0.2", "10.51.0.2"),
  ...crossNetwork("B -> A through the gateway of B", "b1", "10.51.0.2", "10.52.0.2"),
  ...crossNetwork("I -> B: an internal network reaches no other", "i1", "10.52.0.2", "10.53.0.2"),
  ...crossNetwork("B -> I", "b1", "10.53.0.2", "10.52.0.2"),
  ...crossNetwork("I -> the world: an internal network has no way out", "i1", "192.168.71.2", "10.53.0.2"),
  ...crossNetwork("world -> B straight through H's routing", "w", "10.52.0.2", "192.168.71.2"),
  // Bridged, not routed: with br_netfilter the forward hook sees iif = oif = the gwbridge (ICC off).
  ...crossNetwork("A -> B's egress address, across the gwbridge", "a1", "172.18.0.3", "172.18.0.2"),
  { what: "A -> its gateway, a port weft does not serve", from: "a1", proto: "tcp", to: "10.51.1.1", before: "10.51.0.2", after: NONE },
  { what: "A -> its gateway, ICMP", from: "a1", proto: "icmp", to: "10.51.1.1", before: "pong", after: NONE },
  { what: "A -> B's gateway on the DNS port (B's names)", from: "a1", proto: "udp", to: "10.52.1.1", port: DNS_PORT, before: "10.51.0.2", after: NONE },
  { what: "A -> the host's underlay address", from: "a1", proto: "tcp", to: "192.168.71.1", before: "172.18.0.2", after: NONE },
];

const passing: Array<Omit<Expectation, "before" | "after"> & { seen: string }> = [
  ...(["tcp", "udp", "icmp"] as const).map((proto) => ({ what: `A -> A on this host (${proto})`, from: "a1", proto, to: "10.51.0.3", seen: proto === "icmp" ? "pong" : "10.51.0.2" })),
  ...(["tcp", "udp", "icmp"] as const).map((proto) => ({ what: `A -> A on the other host over VXLAN (${proto})`, from: "a1", proto, to: "10.51.0.9", seen: proto === "icmp" ? "pong" : "10.51.0.2" })),
  { what: "A -> its gateway, DNS over UDP", from: "a1", proto: "udp", to: "10.51.1.1", port: DNS_PORT, seen: "10.51.0.2" },
  { what: "A -> its gateway, DNS over TCP", from: "a1", proto: "tcp", to: "10.51.1.1", port: DNS_PORT, seen: "10.51.0.2" },
  { what: "I -> its gateway, DNS", from: "i1", proto: "udp", to: "10.53.1.1", port: DNS_PORT, seen: "10.53.0.2" },
  // Egress leaves masqueraded to the host's underlay address.
  { what: "A -> the world over the gwbridge (TCP), masqueraded", from: "a1", proto: "tcp", to: "192.168.71.2", seen: "192.168.71.1" },
  { what: "B -> the world over the gwbridge (UDP), masqueraded", from: "b1", proto: "udp", to: "192.168.71.2", seen: "192.168.71.1" },
];

const nsOf = (name: string): string => (name === "w" ? W : ns(name));

async function answers(list: ReadonlyArray<{ from: string; proto: Proto; to: string; port?: number }>): Promise<string[]> {
  return Promise.all(list.map((p) => probe(nsOf(p.from), p.proto, p.to, p.port)));
}

describe("isolation between networks by weft's nftables table, with real packets", () => {
  const fw = new NftablesFirewall({ run: nftRunner(["ip", "netns", "exec", H, "nft"]) });

  beforeAll(async () => {
    for (const command of ["ip", "bridge", "nft", "ping", "sysctl"]) requireCommand(command);
    buildTopology();
    await startServer(H, [PORT, DNS_PORT]);
    await startServer(W, [PORT]);
    for (const c of containers) await startServer(ns(c.name), [PORT]);
  });

  afterAll(() => {
    for (const server of servers) server.kill("SIGKILL");
    for (const namespace of made) spawnSync("ip", ["netns", "del", namespace], { stdio: "ignore" });
  });

  it("without weft's table, every cross-network path is open (what the table must close)", async () => {
    const got = await answers(expectations);
    expect(expectations.map((e, i) => `${e.what}: ${got[i]}`)).toEqual(expectations.map((e) => `${e.what}: ${e.before}`));
  });

  it("with it, cross-network traffic is dropped both ways and same-network traffic and DNS pass", async () => {
    expect(await fw.apply(firewallTable(firewall))).toBe(true);
    const got = await answers([...expectations, ...passing]);
    const want = [...expectations.map((e) => `${e.what}: ${e.after}`), ...passing.map((p) => `${p.what}: ${p.seen}`)];
    expect([...expectations, ...passing].map((e, i) => `${e.what}: ${got[i]}`)).toEqual(want);
  });

  it("closes the paths again after a foreign 'nft flush ruleset', once observed and re-applied", async () => {
    sh("ip", "netns", "exec", H, "nft", "flush", "ruleset");
    expect(await probe(ns("a1"), "icmp", "10.52.0.2")).toBe("pong");
    expect(await fw.observeTable()).toBe(false);
    expect(await fw.apply(firewallTable(firewall))).toBe(true);
    const got = await answers(crossNetwork("A -> B", "a1", "10.52.0.2", ""));
    expect(got).toEqual([NONE, NONE, NONE]);
    expect(await probe(ns("a1"), "icmp", "10.51.0.3")).toBe("pong");
  });
});
