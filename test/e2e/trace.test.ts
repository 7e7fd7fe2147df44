// `weft trace` on a real 3-host lab (its own prefix): each host's part of the path is read by the agent
// on that host (asked over gossip), so every broken case below is named on the host whose kernel has it.
//   healthy    h1-c1 -> h2-c1 with a probe: every hop ok, counters move on both hosts
//   peers      a ping h1-c1 -> h2-c1 moves h1's VXLAN-to-h2 and h2's VXLAN-from-h1 counters
//   fdb        h1's FDB entry for h2-c1 removed by hand: the fdb hop on h1 is named, and the agent repairs it
//   isolation  weft-iso's container on h1 -> h2-c1 (weft-lab): weft's isolation rule on h1 is named
//   service    h3-c1 -> the service web: the backend the Maglev table gives the flow, and the DNAT;
//              the same flow sent for real (curl from that source port) is answered by that backend
//   bad input  unknown endpoint, an IP in no network: a clear error naming the argument
//   dead peer  h2's agent killed: the trace names h2 as not answering (last: it changes the lab)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labAgent, runWeftCli, type LabContainer, type LabHost } from "../../agent/lab/index.js";
import { join } from "node:path";
import { CommandError, runCommand } from "../../agent/lab/command-runner.js";
import { packageRoot } from "../../agent/package-root.js";
import type { TraceReport, TraceRequest } from "../../agent/trace/trace-report.js";
import { peerCounterNames } from "../../dataplane/index.js";
import { inNetns, pollUntil, vxlanFdbMacs, withLab, withLabApi, type TestLab } from "../helpers/lab.js";

let lab: TestLab;

const host = (name: string): LabHost => lab.state.hosts.find((h) => h.name === name)!;
const container = (hostName: string): LabContainer => lab.state.containers.find((c) => c.host === hostName)!;

async function trace(request: TraceRequest, from = "h1"): Promise<TraceReport> {
  return withLabApi(lab, from, async (api) => {
    const res = await api.trace({ from: request.from, to: request.to, port: request.port ?? 0, proto: request.proto ?? "", probe: request.probe === true, sourcePort: request.sourcePort ?? 0 }, { deadlineMs: 30_000 });
    return JSON.parse(res.reportJson) as TraceReport;
  });
}

beforeAll(async () => {
  lab = await withLab({ hosts: 3, containers: 1, web: true });
}, 240_000);

afterAll(async () => {
  await lab?.down();
}, 60_000);

describe("weft trace", () => {
  it("walks a healthy cross-host path, every hop ok, and a probe moves the counters on both hosts", async () => {
    const a = container("h1");
    const b = container("h2");
    const out = await runWeftCli(host("h1"), ["trace", a.name, b.name, "--probe"]);
    expect(out).toContain(`OK: ${a.name}`);
    expect(out).toMatch(/probe: answered/);
    const report = await trace({ from: a.name, to: b.ip, probe: true });
    expect(report.ok).toBe(true);
    expect(report.from).toMatchObject({ kind: "endpoint", host: "h1", ip: a.ip });
    expect(report.to).toMatchObject({ kind: "endpoint", host: "h2", ip: b.ip });
    const layers = report.hops.map((h) => `${h.host}:${h.layer}`);
    expect(layers).toEqual(expect.arrayContaining(["h1:container", "h1:veth", "h1:bridge", "h1:fdb", "h1:neighbour", "h1:vxlan", "h1:underlay", "h1:peer", "h2:vxlan", "h2:veth", "h2:container"]));
    expect(report.hops.find((h) => h.layer === "fdb")!.object).toBe(`fdb ${b.mac} dev weft-vx42`);
    expect(report.probe).toMatchObject({ sent: true, answered: true });
    // The echo left h1's VXLAN device and arrived in b: at least one packet each while the probe ran.
    expect(report.hops.find((h) => h.host === "h1" && h.layer === "vxlan")!.counters!.packetsDelta).toBeGreaterThanOrEqual(1);
    expect(report.hops.find((h) => h.host === "h2" && h.layer === "container")!.counters!.packetsDelta).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it("counts a ping across hosts in weft's per-peer VXLAN counters: sent on h1 toward h2, received on h2 from h1", async () => {
    const a = container("h1");
    const b = container("h2");
    const packets = async (on: string, counter: string): Promise<number> => {
      const listed = await inNetns(host(on).netns, ["nft", "list", "counter", "inet", "weft", counter]);
      return listed.code === 0 ? Number(/packets (\d+)/.exec(listed.stdout)?.[1] ?? NaN) : NaN;
    };
    const txOnH1 = peerCounterNames("h2").tx;
    const rxOnH2 = peerCounterNames("h1").rx;
    // The agents add a peer's counters once they know its node record.
    const before = await pollUntil(async () => [await packets("h1", txOnH1), await packets("h2", rxOnH2)], (v) => v.every(Number.isFinite), 30_000);
    expect(before.every(Number.isFinite), `${txOnH1} on h1, ${rxOnH2} on h2`).toBe(true);
    const ping = await inNetns(a.netns, ["ping", "-c", "3", "-W", "2", b.ip]);
    expect(ping.code, ping.stderr).toBe(0);
    const after = [await packets("h1", txOnH1), await packets("h2", rxOnH2)];
    expect(after[0]! - before[0]!).toBeGreaterThanOrEqual(3);
    expect(after[1]! - before[1]!).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it("names an FDB entry removed by hand on the host that lacks it, before the agent repairs it", async () => {
    const a = container("h1");
    const b = container("h2");
    // The race with the agent's repair: h1's agent re-adds the entry at its next full reconcile (every
    // 30 s, or sooner on an event). The trace reads h1's kernel a few milliseconds after the removal, so
    // it nearly always sees the entry missing; if a reconcile slipped in between, the trace itself saw
    // the entry back (fdb hop ok), and only then is the removal repeated. No report is ever accepted
    // that does not name the missing entry, and the agent is left running (a stopped agent could not answer).
    let report: TraceReport | undefined;
    for (let attempt = 0; attempt < 5; attempt++) {
      const removed = await inNetns(host("h1").netns, ["bridge", "fdb", "del", b.mac, "dev", "weft-vx42", "dst", host("h2").underlayIp, "self"]);
      expect(removed.code, removed.stderr).toBe(0);
      report = await trace({ from: a.name, to: b.name });
      if (!report.hops.some((h) => h.layer === "fdb" && h.ok)) break;
    }
    const broken = report!.hops[report!.brokenAt!]!;
    expect(report!.ok).toBe(false);
    expect(broken).toMatchObject({ host: "h1", layer: "fdb", actual: "missing", object: `fdb ${b.mac} dev weft-vx42` });
    expect(broken.problem).toContain("no FDB entry");
    expect(report!.summary).toContain("fdb on h1");
    // The cause the trace gives comes true: the agent puts the entry back.
    const repaired = await pollUntil(async () => vxlanFdbMacs(host("h1").netns).has(b.mac.toLowerCase()), (v) => v, 45_000, 500);
    expect(repaired).toBe(true);
  }, 120_000);

  it("names weft's isolation rule between two networks", async () => {
    const iso = lab.state.isolated!.find((c) => c.host === "h1")!;
    const b = container("h2");
    const report = await trace({ from: iso.name, to: b.name });
    expect(report.ok).toBe(false);
    const broken = report.hops[report.brokenAt!]!;
    expect(broken).toMatchObject({ host: "h1", layer: "nftables" });
    expect(broken.problem).toContain("dropped by weft's isolation rule");
    expect(broken.actual).toBe("drop: oifname @overlay_bridges iifname . oifname != @same_bridge drop");
  }, 60_000);

  it("names the backend the Maglev table gives a service flow and the DNAT, and that backend answers the same flow", async () => {
    const client = container("h3");
    const web = lab.state.web!;
    const sourcePort = 41234;
    const report = await trace({ from: client.name, to: "web", port: 80, sourcePort, probe: true }, "h3");
    // The probe is a real TCP SYN from that source port, answered by the backend (the connection is reset at once).
    expect(report.probe).toMatchObject({ sent: true, answered: true });
    expect(report.probe!.detail).toContain(`from port ${sourcePort}: answered: connected`);
    expect(report.to).toMatchObject({ kind: "service", name: "web", ip: web.vip });
    const nat = report.hops.find((h) => h.layer === "nat")!;
    expect(nat.ok).toBe(true);
    const backend = web.backends.find((b) => nat.expected.includes(`-> ${b.ip} (`))!;
    expect(backend).toBeDefined();
    expect(nat.actual).toContain(`-> ${backend.ip}`);
    expect(report.hops.find((h) => h.layer === "nftables")!.ok).toBe(true);
    expect(report.ok).toBe(true);
    expect(report.to.host).toBe(backend.host);
    // The same flow for real: the kernel's jhash on (client IP, source port) picks the backend the trace named.
    const answer = await pollUntil(
      () => inNetns(client.netns, ["curl", "-s", "--max-time", "3", "--local-port", String(sourcePort), `http://${web.vip}/`]),
      (run) => run.code === 0,
      15_000,
      500,
    );
    expect(answer.stdout.trim()).toBe(backend.name);
  }, 60_000);

  it("follows a published HOST:PORT from another host: egress masquerade, underlay, that host's DNAT, and the backend answering the same flow", async () => {
    const client = container("h3");
    const web = lab.state.web!;
    const sourcePort = 41235;
    const target = `h1:${web.published}`;
    const report = await trace({ from: client.name, to: target, sourcePort }, "h3");
    expect(report.to).toMatchObject({ kind: "published", name: target, host: "h1", ip: host("h1").underlayIp });
    expect(report.hops.map((h) => `${h.host}:${h.layer}`).slice(0, 8)).toEqual(["h3:container", "h3:route", "h3:gwbridge", "h3:nat", "h3:underlay", "h3:peer", "h1:nftables", "h1:nat"]);
    const nat = report.hops.find((h) => h.host === "h1" && h.layer === "nat")!;
    // h1 sees h3's underlay address (the egress masquerade keeps the source port when it is free).
    expect(nat.object).toContain(`client ${host("h3").underlayIp} port ${sourcePort}`);
    const backend = web.backends.find((b) => nat.expected.includes(`-> ${b.ip}:${web.target} (`))!;
    expect(backend).toBeDefined();
    expect(report.ok).toBe(true);
    const answer = await pollUntil(
      () => inNetns(client.netns, ["curl", "-s", "--max-time", "3", "--local-port", String(sourcePort), `http://${host("h1").underlayIp}:${web.published}/`]),
      (run) => run.code === 0,
      15_000,
      500,
    );
    expect(answer.stdout.trim()).toBe(backend.name);
  }, 60_000);

  it("refuses bad input with a clear error naming the argument", async () => {
    const a = container("h1");
    const fail = async (args: string[]): Promise<string> => {
      try {
        await runWeftCli(host("h1"), ["trace", ...args]);
      } catch (err) {
        if (err instanceof CommandError) return err.stderr;
        throw err;
      }
      throw new Error(`weft trace ${args.join(" ")} succeeded`);
    };
    expect(await fail(["no-such-container", a.name])).toMatch(/from: no endpoint is named no-such-container/);
    expect(await fail([a.name, "192.0.2.77"])).toMatch(/to: 192.0.2.77 is in no network/);
    expect(await fail([a.name, "10.40.250.250"])).toMatch(/to: no endpoint has the address 10.40.250.250 in network/);
    expect(await fail([a.name, "web", "--proto", "sctp"])).toMatch(/sctp/);
  }, 60_000);

  it("weft lab trace runs the default trace (h1's first container to h2's) and lab explain names this lab's objects", async () => {
    const cli = join(packageRoot(), "agent", "bin", "weft.js");
    const { stdout } = await runCommand(process.execPath, [cli, "lab", "trace", "--prefix", lab.prefix, "--probe"], { timeoutMs: 60_000 });
    expect(stdout).toContain(`trace icmp: endpoint ${container("h1").name}`);
    expect(stdout).toContain(`-> endpoint ${container("h2").name}`);
    expect(stdout).toMatch(/see: +bridge fdb show dev weft-vx42/);
    expect(stdout).toMatch(/^OK: /m);
    const explained = await runCommand(process.execPath, [cli, "lab", "explain", "--prefix", lab.prefix], { timeoutMs: 60_000 });
    expect(explained.stdout).toContain(`ip netns exec ${host("h1").netns} bridge fdb show dev weft-vx42`);
  }, 120_000);

  it("names a dead peer: h2's agent killed, the trace says h2 did not answer", async () => {
    const a = container("h1");
    const b = container("h2");
    await labAgent("kill", "h2", { prefix: lab.prefix });
    const report = await trace({ from: a.name, to: b.name });
    expect(report.ok).toBe(false);
    const broken = report.hops[report.brokenAt!]!;
    expect(broken).toMatchObject({ host: "h1", layer: "peer" });
    expect(broken.problem).toContain("h2's agent did not answer");
    // h1's own part is still read and ok up to the tunnel.
    expect(report.hops.filter((h) => h.host === "h1" && h.layer !== "peer").every((h) => h.ok)).toBe(true);
  }, 60_000);
});
