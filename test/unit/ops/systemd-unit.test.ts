// compose/systemd/weftd.service as systemd itself reads it: `systemd-analyze verify` with no warning
// (it exits 0 on unknown keys and bad values, so stderr is what counts) and `systemd-analyze security
// --offline=yes` rating it OK or better; plus what the unit must say, and the config and environment
// files it names being ones weftd accepts.
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseAgentConfig } from "../../../agent/config.js";

const DIR = join(import.meta.dirname, "../../../compose/systemd");
const UNIT = join(DIR, "weftd.service");
const unitText = readFileSync(UNIT, "utf8");
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** Every `Key=value` of the unit, in order (comments and section headers left out). */
function settings(): Array<[string, string]> {
  return unitText
    .split("\n")
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]);
}
function values(key: string): string[] {
  return settings().filter(([k]) => k === key).map(([, v]) => v);
}

describe("weftd.service", () => {
  it("passes systemd-analyze verify without a single warning", () => {
    // A root holding the system's units (for network-online.target and the like), this unit and an
    // executable /usr/bin/weftd, so verify checks everything, ExecStart's binary included.
    const root = mkdtempSync(join(tmpdir(), "weft-unit-"));
    roots.push(root);
    mkdirSync(join(root, "usr/bin"), { recursive: true });
    mkdirSync(join(root, "usr/lib/systemd"), { recursive: true });
    mkdirSync(join(root, "etc/systemd/system"), { recursive: true });
    cpSync("/usr/lib/systemd/system", join(root, "usr/lib/systemd/system"), { recursive: true });
    writeFileSync(join(root, "usr/bin/weftd"), "#!/bin/sh\n");
    chmodSync(join(root, "usr/bin/weftd"), 0o755);
    cpSync(UNIT, join(root, "etc/systemd/system/weftd.service"));
    const run = spawnSync("systemd-analyze", ["verify", "--man=no", `--root=${root}`, "weftd.service"], { encoding: "utf8" });
    expect(run.error).toBeUndefined();
    expect({ status: run.status, stderr: run.stderr, stdout: run.stdout }).toEqual({ status: 0, stderr: "", stdout: "" });
  });

  it("rates OK or better in systemd-analyze security --offline=yes", () => {
    const run = spawnSync("systemd-analyze", ["security", "--offline=yes", "--no-pager", UNIT], { encoding: "utf8" });
    expect(run.error).toBeUndefined();
    const rating = /Overall exposure level for weftd\.service: ([0-9.]+) (\w+)/.exec(run.stdout);
    expect(rating, run.stdout + run.stderr).not.toBeNull();
    process.stdout.write(`systemd-analyze security: weftd.service exposure ${rating![1]} ${rating![2]}\n`);
    expect(["PERFECT", "SAFE", "OK"]).toContain(rating![2]);
  });

  it("is Type=notify with a watchdog, restarts on failure, waits for the network and reads its config and environment files", () => {
    expect(values("Type")).toEqual(["notify"]);
    expect(values("NotifyAccess")).toEqual(["main"]);
    expect(values("WatchdogSec")).toEqual(["30s"]);
    expect(values("Restart")).toEqual(["on-failure"]);
    expect(values("Wants")).toEqual(["network-online.target"]);
    expect(values("After")[0]).toMatch(/^network-online\.target\b/);
    expect(values("EnvironmentFile")).toEqual(["-/etc/default/weftd"]);
    expect(values("ExecStart")).toEqual(["/usr/bin/weftd --config /etc/weft/weftd.yaml $WEFTD_ARGS"]);
    expect(values("WantedBy")).toEqual(["multi-user.target"]);
  });

  it("keeps only the capabilities a network agent needs, and no MemoryDenyWriteExecute (V8's JIT needs it off)", () => {
    expect(values("CapabilityBoundingSet")).toEqual(["CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE CAP_SYS_ADMIN CAP_SYS_PTRACE"]);
    expect(values("NoNewPrivileges")).toEqual(["yes"]);
    expect(values("MemoryDenyWriteExecute")).toEqual([]);
    expect(values("ProtectKernelTunables")).toEqual([]);
    expect(unitText).toMatch(/LOWERS THE UNDERLAY INTERFACE'S ARP RETRANSMIT TIME/);
  });

  it("names a config file and an environment file weftd accepts as shipped", () => {
    const yaml = readFileSync(join(DIR, "weftd.yaml"), "utf8");
    const env: Record<string, string> = {};
    for (const line of readFileSync(join(DIR, "weftd.default"), "utf8").split("\n")) {
      const m = /^#?(WEFT_[A-Z_]+)=(.*)$/.exec(line);
      if (m) env[m[1]!] = m[2]!;
    }
    expect(Object.keys(env).length).toBeGreaterThan(0);
    const read = (path: string): string => {
      expect(path).toBe("/etc/weft/weftd.yaml");
      return yaml;
    };
    // The yaml holds the cluster's settings; the underlay is per node, so the environment file sets it.
    expect(() => parseAgentConfig(["--config", "/etc/weft/weftd.yaml"], {}, read)).toThrow(/underlay/);
    const shipped = Object.fromEntries(Object.entries(env).filter(([k]) => new RegExp(`^${k}=`, "m").test(readFileSync(join(DIR, "weftd.default"), "utf8"))));
    const parsed = parseAgentConfig(["--config", "/etc/weft/weftd.yaml"], shipped, read);
    expect(parsed.kind).toBe("run");
    if (parsed.kind !== "run") return;
    expect(parsed.config).toMatchObject({ stateDir: "/var/lib/weft", apiSocket: "/run/weft/weft.sock", metricsListen: "127.0.0.1:9464", underlayArpRetransmitMs: 200, underlay: { iface: "eth0" } });
    // Every commented example in the environment file, uncommented, is a setting weftd accepts.
    const withExamples = parseAgentConfig(["--config", "/etc/weft/weftd.yaml"], env, read);
    expect(withExamples.kind).toBe("run");
  });
});
