// Bad service input through the user's own surface (the weft CLI and a real weftd): each request
// fails with a message naming the field, and leaves nothing behind in etcd (no services/, ports/ or
// vips/ key) nor in the kernel (no rule for the port, no VIP on the bridge).
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil, withLab, type TestLab } from "../helpers/lab.js";

const run = promisify(execFile);
const CLI = new URL("../../agent/bin/weft.js", import.meta.url).pathname;
let lab: TestLab;

beforeAll(async () => {
  lab = await withLab({ hosts: 1, containers: 1 });
}, 120_000);

afterAll(async () => {
  await lab?.down();
}, 60_000);

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function weft(...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run("node", [CLI, "--api-socket", lab.state.hosts[0]!.apiSocket, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function etcdKeys(): string[] {
  const out = execFileSync(
    "ip",
    ["netns", "exec", `${lab.prefix}-ul`, "etcdctl", `--endpoints=${lab.state.etcd.endpoint}`, "get", "--prefix", "--keys-only", "/weft/v1/"],
    { env: { ...process.env, ETCDCTL_API: "3" }, encoding: "utf8" },
  );
  return out.split("\n").filter((k) => /^\/weft\/v1\/(services|ports|vips)\//.test(k)).sort();
}

/** Everything the host's kernel holds for services: weft's nft table and the bridge's addresses. */
function kernelState(): string {
  const ns = lab.state.hosts[0]!.netns;
  const table = execFileSync("ip", ["netns", "exec", ns, "nft", "list", "table", "inet", "weft"], { encoding: "utf8" });
  const addrs = execFileSync("ip", ["-n", ns, "-br", "addr", "show", "dev", "weft-br42"], { encoding: "utf8" });
  return table + addrs;
}

/** Refused by the agent (`weft: FIELD: why`) or by the CLI's own parsing (`... argument 'x' is invalid. FIELD: why`). */
function expectRefused(result: CliResult, field: RegExp, reason: RegExp): void {
  expect(result.code, result.stdout).not.toBe(0);
  expect(result.stderr).toMatch(new RegExp(`(^weft: |argument .* is invalid\\. )(${field.source}): `));
  expect(result.stderr).toMatch(reason);
}

/** Waits until the host's bridge carries the VIP of every service (the agent has applied them), then reads the kernel. */
async function settledKernelState(): Promise<string> {
  const ls = JSON.parse((await weft("--json", "service", "ls")).stdout) as { services?: Array<{ vip?: string }> };
  const vips = (ls.services ?? []).map((s) => s.vip).filter((v): v is string => !!v);
  const state = await pollUntil(async () => kernelState(), (k) => vips.every((vip) => k.includes(`${vip}/32`)), 10_000);
  expect(vips.filter((vip) => !state.includes(`${vip}/32`)), "VIPs not on the bridge").toEqual([]);
  return state;
}

async function serviceNames(): Promise<string[]> {
  const ls = await weft("--json", "service", "ls");
  expect(ls.code, ls.stderr).toBe(0);
  return ((JSON.parse(ls.stdout) as { services?: Array<{ name: string }> }).services ?? []).map((s) => s.name).sort();
}

describe("bad service input through the CLI and a real agent", () => {
  it("refuses a published port already taken, and creates nothing for it", async () => {
    const made = await weft("service", "create", "first", "--network", "weft-lab", "--selector", "app=a", "--publish", "9500:80");
    expect(made.code, made.stderr).toBe(0);
    const keys = etcdKeys();
    const kernel = await settledKernelState();
    expectRefused(await weft("service", "create", "second", "--network", "weft-lab", "--selector", "app=b", "--publish", "9500:80"), /ports\[0\]\.published/, /tcp port 9500 is already published by service "first"/);
    // The same number over UDP is another port.
    const udp = await weft("service", "create", "third", "--network", "weft-lab", "--selector", "app=c", "--publish", "9500:80/udp");
    expect(udp.code, udp.stderr).toBe(0);
    expect(await weft("service", "rm", "third")).toMatchObject({ code: 0 });
    expect(await serviceNames()).toEqual(["first"]);
    expect(etcdKeys()).toEqual(keys);
    expect(await pollUntil(async () => kernelState(), (k) => k === kernel, 10_000)).toBe(kernel);
  });

  it("refuses a bad selector, an unknown network, ports out of range and bad names, naming the field", async () => {
    const keys = etcdKeys();
    const kernel = await settledKernelState();
    const base = ["service", "create", "bad", "--network", "weft-lab"];
    expectRefused(await weft(...base, "--selector", "app"), /selector/, /KEY=VALUE/);
    expectRefused(await weft(...base, "--selector", "=web"), /selector/, /KEY=VALUE/);
    expectRefused(await weft("service", "create", "bad", "--network", "nosuch", "--selector", "app=web"), /network/, /"nosuch" does not exist/);
    expectRefused(await weft(...base, "--selector", "app=web", "--publish", "70000:80"), /publish/, /published port 70000 must be from 1 to 65535/);
    expectRefused(await weft(...base, "--selector", "app=web", "--publish", "8080:0"), /publish/, /target port 0 must be from 1 to 65535/);
    expectRefused(await weft(...base, "--selector", "app=web", "--publish", "8080:80/sctp"), /publish/, /tcp or udp/);
    expectRefused(await weft("service", "create", "x".repeat(64), "--network", "weft-lab", "--selector", "app=web"), /name/, /1-63 characters/);
    expect(await serviceNames()).toEqual(["first"]);
    expect(etcdKeys()).toEqual(keys);
    expect(kernelState()).toBe(kernel);
  });

  it("removing a service takes its port, its VIP and its rules with it", async () => {
    const before = etcdKeys();
    expect(before.some((k) => k.includes("/ports/tcp/9500"))).toBe(true);
    expect((await weft("service", "rm", "first")).code).toBe(0);
    expect(etcdKeys()).toEqual([]);
    expect(await serviceNames()).toEqual([]);
    const again = await weft("service", "create", "again", "--network", "weft-lab", "--selector", "app=a", "--publish", "9500:80");
    expect(again.code, again.stderr).toBe(0);
  });
});
