// The lab on the real kernel: its building blocks (underlay, etcd, host namespaces), a full
// `lab up` with agents, status, and a `lab down` that leaves nothing behind, even after a crash.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import {
  LabError,
  buildLabUnderlay,
  formatLabTable,
  isLabNetns,
  labDir,
  labDown,
  labStatus,
  labStatusJson,
  labUp,
  listLabNetns,
  pidsWithCommandLine,
} from "../../agent/lab/index.js";
import { firstNetworkPings, uniqueLabPrefix, withLab, type TestLab } from "../helpers/lab.js";

const made: string[] = [];
afterAll(async () => {
  for (const prefix of made) await labDown({ prefix });
});

function prefixForTest(suffix = ""): string {
  const prefix = uniqueLabPrefix() + suffix;
  made.push(prefix);
  return prefix;
}

function inNetns(netns: string, ...command: string[]): string {
  return execFileSync("ip", ["netns", "exec", netns, ...command], { encoding: "utf8", timeout: 10_000 });
}

function inNetnsMaybe(netns: string, ...command: string[]): string {
  try {
    return inNetns(netns, ...command).trim();
  } catch {
    return "";
  }
}

async function pollUntilText(probe: () => string, want: string, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let got = probe();
  while (got !== want && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    got = probe();
  }
  return got;
}

async function expectGone(prefix: string): Promise<void> {
  expect(await listLabNetns(prefix)).toEqual([]);
  expect(await pidsWithCommandLine(`${labDir(prefix)}/`)).toEqual([]);
  expect(existsSync(labDir(prefix))).toBe(false);
  expect(existsSync("/etc/netns") ? readdirSync("/etc/netns").filter((ns) => isLabNetns(prefix, ns)) : []).toEqual([]);
}

describe("lab names", () => {
  it("matches exactly the namespaces of its own prefix", () => {
    for (const ns of ["weft-ul", "weft-world", "weft-h1", "weft-h12", "weft-h3-c2", "weft-h2-i1"]) expect(isLabNetns("weft", ns)).toBe(true);
    for (const ns of ["weftab12-h1", "weftab12-ul", "weftab12-world", "weft-h", "weft-hx", "weft-h1-c", "weft-h1-c1x", "weft-h1-x1", "weft-ulx", "weft-worldx", "weft", "other-h1"]) {
      expect(isLabNetns("weft", ns)).toBe(false);
    }
  });
});

describe("lab building blocks", () => {
  it("rejects bad options before building anything", async () => {
    const prefix = prefixForTest();
    await expect(labUp({ hosts: 0, containers: 1, prefix })).rejects.toThrow(/^hosts: must be an integer/);
    await expect(labUp({ hosts: 2, containers: -1, prefix })).rejects.toThrow(/^containers: /);
    await expect(labUp({ hosts: 2, containers: 1, prefix, network: { name: "n", subnet: "10.40.0.0/33" } })).rejects.toThrow(/^network\.subnet: /);
    await expect(labUp({ hosts: 2, containers: 1, prefix: "Bad-Prefix" })).rejects.toBeInstanceOf(LabError);
    await expect(labUp({ hosts: 2, containers: 1, prefix, underlayMtu: 1000 })).rejects.toThrow(/^underlayMtu: /);
    await expectGone(prefix);
  });

  it("builds an underlay only inside its namespaces, with etcd reachable from every host", async () => {
    const prefix = prefixForTest();
    const state = await buildLabUnderlay({ hosts: 3, containers: 0, prefix });
    expect(state.hosts.map((h) => h.netns)).toEqual([`${prefix}-h1`, `${prefix}-h2`, `${prefix}-h3`]);
    expect((await listLabNetns(prefix)).sort()).toEqual([`${prefix}-h1`, `${prefix}-h2`, `${prefix}-h3`, `${prefix}-ul`, `${prefix}-world`]);
    // The world answers over the underlay: HTTP with the client's address, DNS for example.test.
    expect(await pollUntilText(() => inNetnsMaybe(`${prefix}-h2`, "curl", "-s", "-m", "2", "http://10.251.0.253/"), "10.251.0.2")).toBe("10.251.0.2");
    expect(await pollUntilText(() => inNetnsMaybe(`${prefix}-h1`, "getent", "ahostsv4", "example.test").split(/\s+/)[0] ?? "", "10.251.0.253")).toBe("10.251.0.253");

    inNetns(`${prefix}-h1`, "ping", "-n", "-c", "1", "-W", "2", "10.251.0.3");
    inNetns(`${prefix}-h2`, "etcdctl", `--endpoints=${state.etcd.endpoint}`, "put", "weft-lab-test", "ok");
    expect(inNetns(`${prefix}-h3`, "etcdctl", `--endpoints=${state.etcd.endpoint}`, "get", "--print-value-only", "weft-lab-test").trim()).toBe("ok");

    // Nothing of the underlay exists in the root namespace.
    const rootAddrs = execFileSync("ip", ["-j", "addr", "show"], { encoding: "utf8" });
    expect(rootAddrs).not.toContain("10.251.0.");

    await labDown({ prefix });
    await expectGone(prefix);
  });

  it("down works without state.json and leaves a lab with a longer prefix alone", async () => {
    const prefix = prefixForTest();
    const longer = prefixForTest("ab");
    await buildLabUnderlay({ hosts: 1, containers: 0, prefix });
    await buildLabUnderlay({ hosts: 1, containers: 0, prefix: longer });
    rmSync(`${labDir(prefix)}/state.json`); // as if `lab up` crashed before writing it

    await labDown({ prefix });
    await expectGone(prefix);
    expect((await listLabNetns(longer)).sort()).toEqual([`${longer}-h1`, `${longer}-ul`, `${longer}-world`]);
    expect((await pidsWithCommandLine(`${labDir(longer)}/`)).length).toBe(3); // its etcd, the world's HTTP and DNS servers

    await labDown({ prefix: longer });
    await expectGone(longer);
  });

  it("a step that fails after agents started removes everything built so far and says why", async () => {
    const prefix = prefixForTest();
    // The lab checks only the shape of the subnet; the agent refuses host bits, after the lab is half built.
    await expect(labUp({ hosts: 2, containers: 1, prefix, network: { name: "n", subnet: "10.40.0.1/16" } })).rejects.toThrow(/subnet/);
    await expectGone(prefix);
  }, 120_000);

  it("refuses to build over an existing lab with the same prefix", async () => {
    const prefix = prefixForTest();
    await buildLabUnderlay({ hosts: 1, containers: 0, prefix });
    await expect(buildLabUnderlay({ hosts: 1, containers: 0, prefix })).rejects.toThrow(/^prefix: a lab named .* already exists/);
    expect((await listLabNetns(prefix)).sort()).toEqual([`${prefix}-h1`, `${prefix}-ul`, `${prefix}-world`]);
    await labDown({ prefix });
    await expectGone(prefix);
  });
});

describe("lab up with agents", () => {
  let lab: TestLab | undefined;
  afterAll(async () => {
    await lab?.down();
  });

  it("builds 3 hosts x 2 containers whose cross-host checks all pass, reports status, and goes away completely", async () => {
    lab = await withLab({ hosts: 3, containers: 2 });
    made.push(lab.prefix);
    const { prefix, state, checks } = lab;

    expect(firstNetworkPings(checks)).toHaveLength(6 * 4);
    // Second network (one container on h1 and h2): 2 pings; egress 8; names 6*5 + 2 + 8 outside; isolation 2*6*2.
    const byKind = (kind: string): number => checks.filter((c) => (c.kind ?? "ping") === kind).length;
    expect([byKind("ping"), byKind("egress"), byKind("name"), byKind("isolation")]).toEqual([26, 8, 40, 24]);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(formatLabTable(state, checks)).toContain(`${prefix}-h2-c1`);

    const status = await labStatus({ prefix });
    expect(status).toBeDefined();
    const json = JSON.parse(JSON.stringify(labStatusJson(status!))) as ReturnType<typeof labStatusJson>;
    expect(json.hosts).toHaveLength(3);
    for (const [i, host] of json.hosts.entries()) {
      expect(host).toMatchObject({ name: `h${i + 1}`, netns: `${prefix}-h${i + 1}`, underlayIp: `10.251.0.${i + 1}` });
      expect(host.agentPid).toBeGreaterThan(0);
      expect(host.apiSocket).toBe(`${labDir(prefix)}/h${i + 1}.sock`);
    }
    expect(json.containers).toHaveLength(6);
    for (const c of json.containers) {
      expect(c.name).toMatch(new RegExp(`^${prefix}-h[1-3]-c[12]$`));
      expect(c.netns).toBe(c.name);
      expect(c.host).toBe(/-(h[1-3])-/.exec(c.name)![1]);
      expect(c.network).toBe("weft-lab");
      expect(c.ip).toMatch(/^10\.40\.\d+\.\d+$/);
      expect(c.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    }
    expect(new Set(json.containers.map((c) => c.ip)).size).toBe(6);

    await lab.down();
    await expectGone(prefix);
    expect(await labStatus({ prefix })).toBeUndefined();
    lab = undefined;
  }, 180_000);

  it("seals gossip with a cluster key and still converges; down after a crash finds agents and containers by name", async () => {
    lab = await withLab({ hosts: 2, containers: 1, clusterKey: true });
    made.push(lab.prefix);
    const { prefix, state, checks } = lab;
    expect(state.clusterKeyFile).toBe(`${labDir(prefix)}/cluster.key`);
    expect(firstNetworkPings(checks)).toHaveLength(2);
    expect(checks.filter((c) => !c.ok)).toEqual([]);

    rmSync(`${labDir(prefix)}/state.json`); // as if the CLI had crashed
    await labDown({ prefix });
    await expectGone(prefix);
    lab = undefined;
  }, 180_000);
});
