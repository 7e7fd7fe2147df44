// weft's nftables table on the real kernel, each check in a fresh network namespace: every golden file
// applies (not just `nft -c`) and lists back; rewriting replaces the table whole; other tables are left
// alone; and a foreign flush (of its own table, or of the whole ruleset) is repaired by the next full
// reconcile, which finds the drift by listing weft's table only.
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireCommand } from "../../agent/host-dependencies.js";
import { FakeKernel } from "../../dataplane/fake-kernel.js";
import { NftablesFirewall, Reconciler, firewallTable, nftRunner, peerCounterNames, type DesiredState, type NftRunner } from "../../dataplane/index.js";
import { GOLDEN_CASES, goldenFile } from "../unit/dataplane/nftables/firewall-fixtures.js";
import { MESH_GOLDEN_CASES } from "../unit/dataplane/nftables/mesh-fixtures.js";

const run = `weft${randomBytes(3).toString("hex")}`;
const made: string[] = [];
let counter = 0;

function sh(...args: string[]): string {
  return execFileSync(args[0]!, args.slice(1), { encoding: "utf8" });
}

function freshNamespace(): string {
  const ns = `${run}-fw${counter++}`;
  sh("ip", "netns", "add", ns);
  made.push(ns);
  return ns;
}

const nft = (ns: string, ...args: string[]): string => sh("ip", "netns", "exec", ns, "nft", ...args);
const tables = (ns: string): string[] => nft(ns, "list", "tables").trim().split("\n").filter((l) => l !== "");
const runnerIn = (ns: string): NftRunner => nftRunner(["ip", "netns", "exec", ns, "nft"]);

const FOREIGN = `table ip foreign {
	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname "docker0" oifname "docker0" counter accept
		ip saddr 172.17.0.0/16 counter drop
	}
}
`;

describe("weft's nftables table on the real kernel", () => {
  beforeAll(() => {
    for (const command of ["ip", "nft"]) requireCommand(command);
  });

  afterAll(() => {
    for (const ns of made) spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  });

  for (const name of [...Object.keys(GOLDEN_CASES), ...Object.keys(MESH_GOLDEN_CASES)]) {
    it(`applies the golden file ${name}.nft in a fresh namespace and lists it back`, () => {
      const ns = freshNamespace();
      const file = goldenFile(name);
      sh("ip", "netns", "exec", ns, "nft", "-f", file);
      const listed = nft(ns, "list", "table", "inet", "weft");
      const golden = readFileSync(file, "utf8");
      // Every chain, set, map and counter of the golden file is in the kernel, with its rules.
      for (const match of golden.matchAll(/^\t(chain|set|map|counter) (\S+) \{/gm)) expect(listed).toContain(`${match[1]} ${match[2]} {`);
      for (const rule of golden.split("\n").filter((l) => /^\t\t(iifname|oifname|ip |ct |meta |drop|jump|counter|reject|masquerade|dnat|fib|udp )/.test(l))) expect(listed).toContain(rule);
      expect(tables(ns)).toEqual(["table inet weft"]);
      // Applying it again replaces the table instead of adding to it.
      sh("ip", "netns", "exec", ns, "nft", "-f", file);
      expect(nft(ns, "list", "table", "inet", "weft")).toBe(listed);
    });
  }

  it("replaces the table whole: a rule of the old rendering does not survive the new one", async () => {
    const ns = freshNamespace();
    const firewall = new NftablesFirewall({ run: runnerIn(ns) });
    await firewall.apply(firewallTable(GOLDEN_CASES["two-networks"]!));
    expect(nft(ns, "list", "table", "inet", "weft")).toContain('"weft-br43"');
    await firewall.apply(firewallTable(GOLDEN_CASES.egress!));
    expect(nft(ns, "list", "table", "inet", "weft")).not.toContain('"weft-br43"');
  });

  it("leaves another tool's table and rules alone, and survives that tool flushing its own table", async () => {
    const ns = freshNamespace();
    spawnSync("ip", ["netns", "exec", ns, "nft", "-f", "-"], { input: FOREIGN });
    const foreignBefore = nft(ns, "list", "table", "ip", "foreign");
    const firewall = new NftablesFirewall({ run: runnerIn(ns) });
    await firewall.apply(firewallTable(GOLDEN_CASES["two-networks"]!));
    expect(nft(ns, "list", "table", "ip", "foreign")).toBe(foreignBefore);
    const weftBefore = nft(ns, "list", "table", "inet", "weft");
    nft(ns, "flush", "table", "ip", "foreign");
    expect(nft(ns, "list", "table", "inet", "weft")).toBe(weftBefore);
    expect(await firewall.observeTable()).toBe(true);
    // The foreign table's reload (delete and re-add) does not touch weft's either.
    nft(ns, "delete", "table", "ip", "foreign");
    spawnSync("ip", ["netns", "exec", ns, "nft", "-f", "-"], { input: FOREIGN });
    expect(await firewall.observeTable()).toBe(true);
    expect(tables(ns).sort()).toEqual(["table inet weft", "table ip foreign"]);
  });

  it("is restored by the next full reconcile after a foreign 'nft flush ruleset', a table delete or a flush of its table", async () => {
    const ns = freshNamespace();
    const reconciler = new Reconciler(new FakeKernel(), { firewall: new NftablesFirewall({ run: runnerIn(ns) }), firewallCheckIntervalMs: 0 });
    const desired: DesiredState = { underlay: { ip: "192.168.0.1", mtu: 1500 }, overlay: { networks: [] }, firewall: GOLDEN_CASES["two-networks"]! };
    expect((await reconciler.reconcile(desired)).firewallApplied).toBe(true);
    const written = nft(ns, "list", "table", "inet", "weft");
    expect((await reconciler.reconcile(desired)).firewallApplied).toBe(false);

    const drifts: Array<[string, () => void]> = [
      ["nft flush ruleset", () => nft(ns, "flush", "ruleset")],
      ["nft delete table inet weft", () => nft(ns, "delete", "table", "inet", "weft")],
      ["nft flush table inet weft", () => nft(ns, "flush", "table", "inet", "weft")],
      ["nft flush chain inet weft forward", () => nft(ns, "flush", "chain", "inet", "weft", "forward")],
    ];
    for (const [what, drift] of drifts) {
      drift();
      expect(spawnSync("ip", ["netns", "exec", ns, "nft", "list", "table", "inet", "weft"], { encoding: "utf8" }).stdout, what).not.toBe(written);
      const report = await reconciler.reconcile(desired);
      expect(report.errors, what).toEqual([]);
      expect(report.firewallApplied, what).toBe(true);
      expect(nft(ns, "list", "table", "inet", "weft"), what).toBe(written);
    }
  });

  it("counts VXLAN per peer, and writes a peer joining or leaving without rewriting the table", async () => {
    const ns = freshNamespace();
    sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
    sh("ip", "netns", "exec", ns, "ip", "addr", "add", "10.99.0.1/32", "dev", "lo");
    sh("ip", "netns", "exec", ns, "ip", "addr", "add", "10.99.0.2/32", "dev", "lo");
    const kinds: string[] = [];
    const firewall = new NftablesFirewall({ run: runnerIn(ns), onWrite: (_ms, kind) => kinds.push(kind) });
    const withPeers = (peers: Array<{ node: string; underlayIp: string }>) => firewallTable({ ...GOLDEN_CASES.egress!, peers });
    const h2 = { node: "h2", underlayIp: "10.99.0.2" };
    await firewall.apply(withPeers([{ node: "h3", underlayIp: "10.99.0.3" }]));
    await firewall.apply(withPeers([{ node: "h3", underlayIp: "10.99.0.3" }, h2]));
    await firewall.apply(withPeers([h2]));
    expect(kinds).toEqual(["full", "incremental", "incremental"]);
    expect(nft(ns, "list", "table", "inet", "weft")).not.toContain("10.99.0.3");
    // A VXLAN datagram from 10.99.0.1 to h2 and one from h2 back (both over lo: output then input).
    const send = (from: string, to: string) =>
      sh("ip", "netns", "exec", ns, process.execPath, "-e", `const s=require("dgram").createSocket("udp4");s.bind(0,"${from}",()=>s.send("x",4789,"${to}",()=>s.close()))`);
    send("10.99.0.1", "10.99.0.2");
    const { tx, rx } = peerCounterNames("h2");
    const packets = (name: string) => Number(/packets (\d+)/.exec(nft(ns, "list", "counter", "inet", "weft", name))?.[1]);
    // Over lo the datagram to h2 leaves (tx) and arrives from 10.99.0.1 (not a peer): rx stays 0.
    expect([packets(tx), packets(rx)]).toEqual([1, 0]);
    send("10.99.0.2", "10.99.0.1");
    expect([packets(tx), packets(rx)]).toEqual([1, 1]);
  });

  it("reports nft's own message when the kernel refuses the script", async () => {
    const ns = freshNamespace();
    const firewall = new NftablesFirewall({ run: runnerIn(ns) });
    const broken = { objects: new Map([["c", { kind: "chain" as const, name: "c", rules: ["this is not nft"], incremental: false }]]), meshBackends: new Set<string>() };
    const error = await firewall.apply(broken).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "KernelError", message: expect.stringMatching(/^nft -f -: .*syntax error/) });
    expect(tables(ns)).toEqual([]);
  });
});
