// The service mesh on the real kernel, at the dataplane level (no agents), in namespaces made for this
// run: a host H with an overlay bridge, its gateway bridge and an "underlay" link to an outside client C;
// backends b1 (local, with its default route on the gateway bridge) and b2 (on the same bridge but
// declared on another host, so the mesh masquerades towards it); a container client cc. Each backend
// answers with its name and the client address it sees.
import { execFileSync, spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireCommand } from "../../agent/host-dependencies.js";
import {
  KernelWorkerClient,
  NftablesFirewall,
  conntrackCommand,
  egressHostIfNameFor,
  firewallTable,
  hostIfNameFor,
  nftCounterReader,
  nftRunner,
  vtepMacFor,
  type DesiredService,
  type DesiredState,
} from "../../dataplane/index.js";

const run = `weft${randomBytes(3).toString("hex")}`;
const H = `${run}-mh`;
const C = `${run}-mc`;
const names = { b1: `${run}-b1`, b2: `${run}-b2`, cc: `${run}-cc` } as const;
const VNI = 420;
const BRIDGE = `weft-br${VNI}`;
const HOST = "192.168.77.1";
const CLIENT = "192.168.77.2";
const GATEWAY = "10.40.0.1";
const B1 = "10.40.0.5";
const B2 = "10.40.0.6";
const VIP = "10.40.255.1";
const EMPTY_VIP = "10.40.255.3";
const made: string[] = [];
const children: ChildProcessWithoutNullStreams[] = [];
let worker: KernelWorkerClient | undefined;

function sh(program: string, ...args: string[]): string {
  return execFileSync(program, args, { encoding: "utf8" });
}
const inNs = (ns: string, ...args: string[]): string => sh("ip", "netns", "exec", ns, ...args);

const SERVER = `
const net = require("net"), dgram = require("dgram");
const [port, name] = process.argv.slice(1);
net.createServer((s) => {
  s.setEncoding("utf8"); let buf = "";
  s.on("data", (d) => { buf += d; let i; while ((i = buf.indexOf("\\n")) >= 0) { const line = buf.slice(0, i); buf = buf.slice(i + 1); s.write(name + " " + s.remoteAddress + " " + line + "\\n"); } });
  s.on("error", () => {});
}).listen(+port, "0.0.0.0");
const u = dgram.createSocket("udp4");
u.on("message", (m, r) => u.send(name + " " + r.address + " " + m + "\\n", r.port, r.address));
u.bind(+port, "0.0.0.0");`;

const BOUND_UDP_SERVER = `
const dgram = require("dgram");
const [port, name, address] = process.argv.slice(1);
const u = dgram.createSocket("udp4");
u.on("message", (m, r) => u.send(name + " " + r.address + " " + m + "\\n", r.port, r.address));
u.bind(+port, address);`;

const CLIENT_ONCE = `
const net = require("net"), dgram = require("dgram");
const [proto, host, port, msg, sport] = process.argv.slice(1);
const done = (t) => { console.log(t); process.exit(0); };
setTimeout(() => done("timeout"), 4000);
if (proto === "tcp") {
  const s = net.connect({ port: +port, host }); s.setEncoding("utf8");
  s.on("connect", () => s.write(msg + "\\n")); s.on("data", (d) => done(d.trim())); s.on("error", (e) => done(e.code));
} else {
  const u = dgram.createSocket("udp4");
  u.bind(sport ? +sport : 0, () => u.connect(+port, host, () => u.send(msg)));
  u.on("message", (m) => done(m.toString().trim())); u.on("error", (e) => done(e.code));
}`;

const CLIENT_KEPT = `
const net = require("net");
const [host, port] = process.argv.slice(1);
const s = net.connect({ port: +port, host }); s.setEncoding("utf8");
s.on("data", (d) => process.stdout.write(d)); s.on("error", (e) => console.log("error " + e.code)); s.on("close", () => console.log("closed"));
process.stdin.setEncoding("utf8"); process.stdin.on("data", (d) => s.write(d));`;

function ask(ns: string, proto: "tcp" | "udp", host: string, port: number, msg = "hi", sport?: number): string {
  return inNs(ns, "node", "-e", CLIENT_ONCE, proto, host, String(port), msg, ...(sport === undefined ? [] : [String(sport)])).trim();
}

async function until<T>(what: string, probe: () => T | undefined, deadlineMs = 10_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const endpoint = (key: keyof typeof names, ip: string, id: string) => ({
  id,
  hostIfName: hostIfNameFor(id),
  netns: names[key],
  ifName: "eth0",
  mac: `02:42:0a:28:00:${ip.split(".")[3]!.padStart(2, "0")}`,
  ip,
  prefixLen: 16,
});
const IDS = { b1: "a1a1a1a1a1a1a1a1", b2: "a2a2a2a2a2a2a2a2", cc: "a9a9a9a9a9a9a9a9" };

function svc(name: string, backends: DesiredService["backends"], extra: Partial<DesiredService>): DesiredService {
  const table = backends.length === 0 ? [] : Array.from({ length: 31 }, (_, slot) => slot % backends.length);
  const locals = backends.flatMap((b, i) => (b.local ? [i] : []));
  const localTable = locals.length === 0 ? [] : Array.from({ length: 31 }, (_, slot) => locals[slot % locals.length]!);
  return { name, bridge: BRIDGE, affinity: "none", hashSeed: 42, backends, table, localTable, ports: [], ...extra };
}

const tcp = (published: number, target = 80) => ({ protocol: "tcp" as const, published, target, publishMode: "ingress" as const });
const udp = (published: number, target = 80) => ({ protocol: "udp" as const, published, target, publishMode: "ingress" as const });
const b1 = { ip: B1, local: true };
const b2 = { ip: B2, local: false };

function state(services: DesiredService[]): DesiredState {
  return {
    underlay: { ip: HOST, mtu: 1500, iface: "ul0" },
    overlay: {
      networks: [
        {
          vni: VNI,
          vtepMac: vtepMacFor("mesh-e2e", VNI),
          mtu: 1450,
          gateway: `${GATEWAY}/16`,
          serviceIps: services.flatMap((s) => (s.vip === undefined ? [] : [s.vip])),
          localEndpoints: [endpoint("b1", B1, IDS.b1), endpoint("b2", B2, IDS.b2), endpoint("cc", "10.40.0.9", IDS.cc)],
          remoteEndpoints: [],
        },
      ],
    },
    egress: {
      bridge: { name: "weft_gwbridge", address: "172.18.0.1/16", mtu: 1450 },
      legs: [{ endpointId: IDS.b1, hostIfName: egressHostIfNameFor(IDS.b1), netns: names.b1, ifName: "eth1", ip: "172.18.0.5/16", mac: "02:42:ac:12:00:05", gateway: "172.18.0.1" }],
    },
    firewall: {
      underlayIface: "ul0",
      egress: { bridge: "weft_gwbridge", subnet: "172.18.0.0/16" },
      networks: [{ name: "n", vni: VNI, bridge: BRIDGE, subnet: "10.40.0.0/16", gatewayIp: GATEWAY, internal: false }],
      dnsPort: 53,
    },
    mesh: { services },
  };
}

const base = (): DesiredService[] => [
  svc("web", [b1], { vip: VIP, ports: [tcp(8080)] }),
  svc("rem", [b2], { ports: [tcp(8082), udp(8082)] }),
  svc("none", [], { vip: EMPTY_VIP, ports: [tcp(8083), udp(8083)] }),
  svc("keep", [b1], { ports: [udp(8084), { ...udp(8085, 81), publishMode: "local" }] }),
];

const writes: string[] = [];
const firewall = new NftablesFirewall({
  run: nftRunner(["ip", "netns", "exec", H, "nft"]),
  conntrack: conntrackCommand(["ip", "netns", "exec", H, "conntrack"]),
  readCounter: nftCounterReader(nftRunner(["ip", "netns", "exec", H, "nft"])),
  onWrite: (_ms, kind) => writes.push(kind),
});

async function apply(services: DesiredService[]): Promise<void> {
  const desired = state(services);
  const report = await worker!.reconcile(desired);
  expect(report.errors).toEqual([]);
  expect(report.skipped).toEqual([]);
  await firewall.apply(firewallTable(desired.firewall!, desired.mesh));
}

const udpEntries = (replySrc: string): string =>
  spawnSync("ip", ["netns", "exec", H, "conntrack", "-L", "-p", "udp", "--reply-src", replySrc], { encoding: "utf8" }).stdout;

describe("the service mesh on the real kernel", () => {
  beforeAll(async () => {
    for (const command of ["ip", "nft", "conntrack", "node"]) requireCommand(command);
    for (const ns of [H, C, ...Object.values(names)]) {
      sh("ip", "netns", "add", ns);
      made.push(ns);
      sh("ip", "-n", ns, "link", "set", "lo", "up");
    }
    sh("ip", "-n", H, "link", "add", "ul0", "type", "veth", "peer", "name", "ul1", "netns", C);
    sh("ip", "-n", H, "addr", "add", `${HOST}/24`, "dev", "ul0");
    sh("ip", "-n", H, "link", "set", "ul0", "up");
    sh("ip", "-n", C, "addr", "add", `${CLIENT}/24`, "dev", "ul1");
    sh("ip", "-n", C, "link", "set", "ul1", "up");
    // Strict reverse-path filtering on the host: the local backend's replies must pass anyway.
    inNs(H, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/conf/all/rp_filter");
    worker = new KernelWorkerClient(H);
    await apply(base());
    for (const [key, ns] of [["b1", names.b1], ["b2", names.b2]] as const) {
      const child = spawn("ip", ["netns", "exec", ns, "node", "-e", SERVER, "80", key]);
      children.push(child);
    }
    children.push(spawn("ip", ["netns", "exec", names.b1, "node", "-e", BOUND_UDP_SERVER, "81", "b1u", B1]));
    await until("the backends to listen", () => (ask(H, "tcp", B1, 80).startsWith("b1") && ask(H, "tcp", B2, 80).startsWith("b2") ? true : undefined));
  }, 60_000);

  afterAll(async () => {
    for (const child of children) child.kill();
    await worker?.close();
    for (const ns of made) spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  });

  it("puts the VIPs on the bridge and makes the gateway bridge's rp_filter loose", () => {
    const addresses = sh("ip", "-n", H, "-br", "addr", "show", "dev", BRIDGE);
    expect(addresses).toContain(`${VIP}/32`);
    expect(addresses).toContain(`${EMPTY_VIP}/32`);
    expect(inNs(H, "cat", "/proc/sys/net/ipv4/conf/weft_gwbridge/rp_filter").trim()).toBe("2");
  });

  it("DNATs a published port to a local backend, preserving the outside client's address (reply by the gateway bridge, strict rp_filter on)", () => {
    expect(ask(C, "tcp", HOST, 8080)).toBe(`b1 ${CLIENT} hi`);
  });

  it("needs the loose rp_filter: with the gateway bridge strict too, the local backend's reply is dropped", () => {
    const rpFilter = "/proc/sys/net/ipv4/conf/weft_gwbridge/rp_filter";
    inNs(H, "sh", "-c", `echo 1 > ${rpFilter}`);
    try {
      expect(ask(C, "tcp", HOST, 8080)).toBe("timeout");
    } finally {
      inNs(H, "sh", "-c", `echo 2 > ${rpFilter}`);
    }
    expect(ask(C, "tcp", HOST, 8080)).toBe(`b1 ${CLIENT} hi`);
  });

  it("keeps the outside client's address for UDP published with mode local, for a backend answering from the address it was reached at", () => {
    expect(ask(C, "udp", HOST, 8085)).toBe(`b1u ${CLIENT} hi`);
  });

  it("serves the host's own processes on a published port, masqueraded to its gateway address", () => {
    expect(ask(H, "tcp", HOST, 8080)).toBe(`b1 ${GATEWAY} hi`);
    expect(ask(H, "tcp", HOST, 8082)).toBe(`b2 ${GATEWAY} hi`);
  });

  it("masquerades towards a backend on another host, TCP and UDP", () => {
    expect(ask(C, "tcp", HOST, 8082)).toBe(`b2 ${GATEWAY} hi`);
    expect(ask(C, "udp", HOST, 8082)).toBe(`b2 ${GATEWAY} hi`);
  });

  it("sends a container's connection to the VIP to a backend, masqueraded so the reply comes back through the host", () => {
    expect(ask(names.cc, "tcp", VIP, 80)).toBe(`b1 ${GATEWAY} hi`);
    expect(ask(names.cc, "udp", VIP, 80)).toBe(`b1 ${GATEWAY} hi`);
  });

  it("rejects at once when a service has no backend (TCP reset, ICMP for UDP), and counts it", async () => {
    const before = await firewall.rejectedConnections();
    expect(ask(C, "tcp", HOST, 8083)).toBe("ECONNREFUSED");
    expect(ask(names.cc, "tcp", EMPTY_VIP, 80)).toBe("ECONNREFUSED");
    expect(ask(C, "udp", HOST, 8083)).toBe("ECONNREFUSED");
    expect(await firewall.rejectedConnections()).toBe(before + 3);
    // The agent's reader (netlink, without nft's fetch of every map element) sees the same count.
    const module = new URL("../../dataplane/nftables/nft-counter.ts", import.meta.url).pathname;
    const script = `import { readInetCounterPackets } from ${JSON.stringify(module)}; console.log(readInetCounterPackets("weft", "mesh_no_backend"));`;
    expect(inNs(H, "npx", "tsx", "-e", script).trim()).toBe(String(before + 3));
  });

  it("keeps an established TCP connection through an incremental change of its service", async () => {
    const kept = spawn("ip", ["netns", "exec", C, "node", "-e", CLIENT_KEPT, HOST, "8080"]);
    children.push(kept);
    let out = "";
    kept.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    kept.stdin.write("one\n");
    await until("the first answer", () => (out.includes("one") ? true : undefined));
    writes.length = 0;
    const changed = base();
    changed[0] = svc("web", [b1, b2], { vip: VIP, ports: [tcp(8080)] });
    await apply(changed);
    expect(writes).toEqual(["incremental"]);
    kept.stdin.write("two\n");
    await until("the second answer on the same connection", () => (out.includes("two") ? true : undefined));
    expect(out).toBe(`b1 ${CLIENT} one\nb1 ${CLIENT} two\n`);
    kept.kill();
    await apply(base());
  });

  it("deletes the UDP conntrack entry of a removed backend at once, and leaves the others' alone", async () => {
    expect(ask(C, "udp", HOST, 8082, "x", 40001)).toBe(`b2 ${GATEWAY} x`);
    expect(ask(C, "udp", HOST, 8084, "y", 40002)).toBe(`b1 ${GATEWAY} y`);
    expect(udpEntries(B2)).toContain("sport=40001");
    expect(udpEntries(B1)).toContain("sport=40002");
    writes.length = 0;
    const changed = base();
    changed[1] = svc("rem", [], { ports: [tcp(8082), udp(8082)] });
    await apply(changed);
    expect(writes).toEqual(["incremental"]);
    expect(udpEntries(B2)).not.toContain("sport=40001");
    expect(udpEntries(B1)).toContain("sport=40002");
    // The same flow is now refused at once instead of going on to the removed backend.
    expect(ask(C, "udp", HOST, 8082, "x", 40001)).toBe("ECONNREFUSED");
    await apply(base());
  });

  it("writes a backend change as slot elements over netlink in the agent's namespace, and new connections follow it", async () => {
    // The agent's NftablesFirewall (no runner) writes slot-only changes over netlink in its own
    // namespace: run it inside H, from the table this test's firewall wrote.
    const dataplane = new URL("../../dataplane/index.ts", import.meta.url).pathname;
    const desired = state(base());
    const grown = base();
    grown[0] = svc("web", [b1, { ip: "10.40.0.7", local: true }], { vip: VIP, ports: [tcp(8080)] });
    const moved = base();
    moved[0] = svc("web", [b2], { vip: VIP, ports: [tcp(8080)] });
    const script = `
      import { NftablesFirewall, firewallTable } from ${JSON.stringify(dataplane)};
      const states = JSON.parse(process.argv[2]);
      const kinds = [];
      const firewall = new NftablesFirewall({ onWrite: (_ms, kind) => kinds.push(kind), conntrack: { deleteMeshEntries: async () => 0 } });
      for (const s of states) await firewall.apply(firewallTable(s.firewall, s.mesh));
      console.log(kinds.join(","));`;
    const file = `/tmp/${run}-slots.mts`;
    writeFileSync(file, script);
    try {
      expect(inNs(H, "npx", "tsx", file, JSON.stringify([desired, state(grown)])).trim()).toBe("full,incremental");
      expect(inNs(H, "nft", "list", "set", "inet", "weft", "mesh_local_backends")).toMatch(/elements = \{ 10\.40\.0\.5, 10\.40\.0\.7 \}/);
      expect(inNs(H, "npx", "tsx", file, JSON.stringify([grown, moved].map(state))).trim()).toBe("full,incremental");
      expect(inNs(H, "nft", "list", "set", "inet", "weft", "mesh_local_backends")).toMatch(/elements = \{ 10\.40\.0\.5 \}/);
    } finally {
      rmSync(file, { force: true });
    }
    expect(ask(C, "tcp", HOST, 8080)).toBe(`b2 ${GATEWAY} hi`);
    await firewall.apply(firewallTable(desired.firewall!, desired.mesh));
  });
});
