// The ingress routing mesh on real agents (a 3-host lab, a client container on each host, the world
// on the underlay as the outside client). Services are made through the weft CLI, backends are
// containers attached with labels, each answering "<its name> <client address it saw>" on TCP and
// UDP port 9000 (test/helpers/mesh.ts). UDP published in ingress mode is always masqueraded (a UDP
// server bound to 0.0.0.0 would answer an outside client from the wrong address); mode=local keeps
// the client's address for both.
//
//   both      app=both    backends b1 (h1), b2 (h2)      9100:9000 tcp+udp   (local and remote)
//   remote    app=remote  backend r (h2)                 9200:9000 tcp+udp   (remote from h1/h3, local on h2)
//   onlylocal app=both                                   9300:9000,mode=local tcp+udp
//   empty     app=none    no backend                     9400:9000 tcp+udp
//   rr        app=both    dnsrr, no published port
//   sticky    app=both    --affinity client-ip         9500:9000 tcp
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attachContainer, labAgent, listLabServices, runWeftCli, type LabContainer, type LabHost, type LabService } from "../../agent/lab/index.js";
import { inNetns, pollUntil, resolveIn, withLab, withLabApi, type TestLab } from "../helpers/lab.js";
import { holdConnection, probeMany, probeOnce, seeAllBackends, startBackend, tally, type Answer } from "../helpers/mesh.js";

const WORLD_IP = "10.251.0.253";
const PORT = 9000;
const PROTOS = ["tcp", "udp"] as const;
let lab: TestLab;
const servers: ChildProcess[] = [];
const backends: Record<string, LabContainer> = {};

function host(name: string): LabHost {
  return lab.state.hosts.find((h) => h.name === name)!;
}

function client(hostName: string): LabContainer {
  return lab.state.containers.find((c) => c.host === hostName)!;
}

const world = (): string => lab.state.world!.netns;

async function addBackend(key: string, hostName: string, app: string): Promise<LabContainer> {
  const index = 10 + Object.keys(backends).length;
  const backend = await attachContainer(host(hostName), `${lab.prefix}-${hostName}-c${index}`, lab.state.network!.name, { app });
  backends[key] = backend;
  servers.push(await startBackend(backend.netns, PORT, backend.name, backend.ip));
  return backend;
}

/** The service's Maglev map as a host's kernel holds it: slot -> backend address (dataplane/mesh: mesh_backends_<service>). */
async function renderedTable(hostName: string, serviceName: string): Promise<Map<number, string>> {
  const run = await inNetns(host(hostName).netns, ["nft", "-j", "list", "map", "inet", "weft", `mesh_backends_${serviceName}`]);
  if (run.code !== 0) return new Map();
  const listed = JSON.parse(run.stdout) as { nftables: Array<{ map?: { elem?: Array<[number, string]> } }> };
  return new Map(listed.nftables.find((o) => o.map)?.map?.elem ?? []);
}

async function weft(...args: string[]): Promise<string> {
  return runWeftCli(host("h1"), args);
}

async function service(name: string): Promise<LabService> {
  const found = (await listLabServices(host("h1"))).find((s) => s.name === name);
  if (!found) throw new Error(`no service ${name}`);
  return found;
}

beforeAll(async () => {
  lab = await withLab({ hosts: 3, containers: 1 });
  await addBackend("b1", "h1", "both");
  await addBackend("b2", "h2", "both");
  await addBackend("r", "h2", "remote");
  const net = lab.state.network!.name;
  await weft("service", "create", "both", "--network", net, "--selector", "app=both", "--publish", "9100:9000", "--publish", "9100:9000/udp");
  await weft("service", "create", "remote", "--network", net, "--selector", "app=remote", "--publish", "9200:9000", "--publish", "9200:9000/udp");
  await weft("service", "create", "onlylocal", "--network", net, "--selector", "app=both", "--publish", "9300:9000,mode=local", "--publish", "9300:9000/udp,mode=local");
  await weft("service", "create", "empty", "--network", net, "--selector", "app=none", "--publish", "9400:9000", "--publish", "9400:9000/udp");
  await weft("service", "create", "rr", "--network", net, "--selector", "app=both", "--mode", "dnsrr");
  await weft("service", "create", "sticky", "--network", net, "--selector", "app=both", "--affinity", "client-ip", "--publish", "9500:9000");
}, 240_000);

afterAll(async () => {
  for (const s of servers) s.kill("SIGKILL");
  await lab?.down();
}, 60_000);

const names = (...keys: string[]): string[] => keys.map((k) => backends[k]!.name).sort();
const sorted = (s: Set<string>): string[] => [...s].sort();

describe("published ports", () => {
  it("answer TCP and UDP on every node, with backends on other nodes only, on the same node only, and both", async () => {
    for (const h of lab.state.hosts) {
      for (const proto of PROTOS) {
        expect(sorted(await seeAllBackends(world(), proto, h.underlayIp, 9200, names("r"))), `${proto} ${h.name}:9200`).toEqual(names("r"));
        expect(sorted(await seeAllBackends(world(), proto, h.underlayIp, 9100, names("b1", "b2"))), `${proto} ${h.name}:9100`).toEqual(names("b1", "b2"));
      }
    }
  });

  it("preserve the client's TCP address when the chosen backend is local (UDP in ingress mode is always masqueraded)", async () => {
    const proto = "tcp";
    // h2 holds remote's only backend: every answer is local.
    const local = await probeMany(world(), proto, host("h2").underlayIp, 9200, 8);
    expect(local.map((a) => `${a.backend} ${a.client}`)).toEqual(Array(8).fill(`${backends["r"]!.name} ${WORLD_IP}`));
    // h1 chooses between its own b1 and h2's b2: b1 sees the world.
    const mixed = await probeMany(world(), proto, host("h1").underlayIp, 9100, 24);
    const fromB1 = mixed.filter((a) => a.backend === backends["b1"]!.name);
    expect(fromB1.length, "b1 never chosen in 24 flows").toBeGreaterThan(0);
    expect(new Set(fromB1.map((a) => a.client))).toEqual(new Set([WORLD_IP]));
    expect(mixed.every((a) => a.backend !== undefined), JSON.stringify([...tally(mixed)])).toBe(true);
  });

  it("with mode=local send only to the node's own backends, always preserving the client's address, and reject on a node with none", async () => {
    for (const proto of PROTOS) {
      for (const [hostName, key] of [["h1", "b1"], ["h2", "b2"]] as const) {
        const answers = await pollUntil(
          () => probeMany(world(), proto, host(hostName).underlayIp, 9300, 8),
          (as) => as.every((a) => a.backend !== undefined),
          10_000,
        );
        expect(new Set(answers.map((a) => `${a.backend} ${a.client}`)), `${proto} ${hostName}:9300`).toEqual(new Set([`${backends[key]!.name} ${WORLD_IP}`]));
      }
      const none = await probeOnce(world(), proto, host("h3").underlayIp, 9300);
      expect(none, `${proto} h3:9300, no local backend`).toEqual({ error: "ECONNREFUSED" });
    }
  });

  it("reject at once when the service has no backend (TCP reset, ICMP port unreachable), also on its VIP", async () => {
    for (const proto of PROTOS) {
      for (const h of lab.state.hosts) expect(await probeOnce(world(), proto, h.underlayIp, 9400), `${proto} ${h.name}:9400`).toEqual({ error: "ECONNREFUSED" });
      const vip = (await service("empty")).vip!;
      expect(await probeOnce(client("h3").netns, proto, vip, PORT), `${proto} VIP ${vip}`).toEqual({ error: "ECONNREFUSED" });
    }
  });
});

describe("VIPs and names", () => {
  it("a container reaches every backend through the VIP, which NAME and NAME.NETWORK resolve to; tasks.NAME resolves to the backends", async () => {
    const both = await service("both");
    expect(both.vip).toMatch(/^10\.40\.255\.\d+$/);
    expect(both.backends.map((b) => b.name).sort()).toEqual(names("b1", "b2"));
    const from = client("h3");
    expect(await pollUntil(() => resolveIn(from.netns, "both"), (a) => a.length > 0, 10_000)).toEqual([both.vip]);
    expect(await resolveIn(from.netns, `both.${lab.state.network!.name}`)).toEqual([both.vip]);
    expect(await resolveIn(from.netns, "tasks.both")).toEqual([backends["b1"]!.ip, backends["b2"]!.ip].sort());
    for (const proto of PROTOS) expect(sorted(await seeAllBackends(from.netns, proto, both.vip!, PORT, names("b1", "b2"))), proto).toEqual(names("b1", "b2"));
  });

  it("a dnsrr service has no VIP and its name resolves to the backends", async () => {
    const rr = await service("rr");
    expect(rr.mode).toBe("dnsrr");
    expect(rr.vip).toBeUndefined();
    expect(await pollUntil(() => resolveIn(client("h1").netns, "rr"), (a) => a.length === 2, 10_000)).toEqual([backends["b1"]!.ip, backends["b2"]!.ip].sort());
  });

  it("with --affinity client-ip keeps a client on one backend, the same through every node", async () => {
    const chosen = new Set<string | undefined>();
    for (const h of lab.state.hosts) {
      const answers = await pollUntil(() => probeMany(world(), "tcp", h.underlayIp, 9500, 16), (as) => as.every((a) => a.backend !== undefined), 10_000);
      for (const a of answers) chosen.add(a.backend);
    }
    expect(chosen.size, [...chosen].join(", ")).toBe(1);
    expect(names("b1", "b2")).toContain([...chosen][0]);
  });

  it("spreads new connections evenly over the backends", async () => {
    const answers = await probeMany(world(), "tcp", host("h3").underlayIp, 9100, 2000);
    const counts = tally(answers);
    expect([...counts.keys()].sort()).toEqual(names("b1", "b2"));
    // Binomial noise over 2,000 flows is about 2%; each backend holds half of the Maglev table.
    for (const n of counts.values()) expect(Math.abs(n - 1000) / 1000).toBeLessThan(0.1);
  });
});

describe("changes", () => {
  it("a backend added takes about 1/N of the table and new flows while an established connection keeps its backend; detached, it gets none", async () => {
    const held = await holdConnection(world(), host("h1").underlayIp, 9100);
    try {
      const [firstBackend] = held.greeting.split(" ");
      expect(names("b1", "b2")).toContain(firstBackend);
      expect(await held.echo("before")).toBe("before");

      const tableBefore = await renderedTable("h1", "both");
      expect(new Set(tableBefore.values())).toEqual(new Set([backends["b1"]!.ip, backends["b2"]!.ip]));
      const b3 = await addBackend("b3", "h3", "both");
      expect(sorted(await seeAllBackends(world(), "tcp", host("h1").underlayIp, 9100, names("b1", "b2", "b3")))).toEqual(names("b1", "b2", "b3"));
      expect(await held.echo("after add")).toBe("after add");

      // Only about a third of the slots (1/N, N = 3) changed hands, nearly all of them to the newcomer;
      // every node holds the same table.
      const tableAfter = await renderedTable("h1", "both");
      expect(tableAfter.size).toBe(tableBefore.size);
      const moved = [...tableBefore].filter(([slot, ip]) => tableAfter.get(slot) !== ip);
      const share = moved.length / tableBefore.size;
      expect(share).toBeGreaterThan(1 / 3 - 0.05);
      expect(share).toBeLessThan(1 / 3 + 0.05);
      expect(moved.filter(([slot]) => tableAfter.get(slot) !== b3.ip).length / tableBefore.size).toBeLessThan(0.02);
      const same = (t: Map<number, string>): boolean => JSON.stringify([...t]) === JSON.stringify([...tableAfter]);
      for (const other of ["h2", "h3"]) expect(await pollUntil(() => renderedTable(other, "both"), same, 10_000), other).toEqual(tableAfter);

      await withLabApi(lab, "h3", (api) => api.detachEndpoint({ endpoint: b3.endpointId }));
      const lastRound = await pollUntil(
        () => probeMany(world(), "tcp", host("h1").underlayIp, 9100, 24),
        (as) => as.every((a) => a.backend !== undefined && a.backend !== b3.name),
        10_000,
      );
      expect(tally(lastRound).has(b3.name)).toBe(false);
      expect(await held.echo("after detach")).toBe("after detach");
    } finally {
      held.close();
    }
  });

  it("a backend's agent killed: its backends leave every node's tables within 15 s while requests keep succeeding", async () => {
    const b2 = backends["b2"]!.name;
    await labAgent("kill", "h2", { prefix: lab.prefix });
    const rounds: Answer[][] = [];
    const last = await pollUntil(
      async () => {
        const round = [...(await probeMany(world(), "tcp", host("h1").underlayIp, 9100, 8)), ...(await probeMany(world(), "tcp", host("h3").underlayIp, 9100, 8))];
        rounds.push(round);
        return round;
      },
      (round) => round.every((a) => a.backend !== undefined && a.backend !== b2),
      15_000,
      200,
    );
    expect(tally(last).has(b2), "h2's backend still chosen 15 s after its agent was killed").toBe(false);
    const failed = rounds.flat().filter((a) => a.backend === undefined);
    expect(failed, "requests failed while h2's backends left").toEqual([]);
  });
});
