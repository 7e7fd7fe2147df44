// compose/: docker-compose.yml passes `docker-compose config` (Debian's 1.29), the Vagrantfile
// `vagrant validate --ignore-provider`, the multipass user data
// passes `cloud-init schema`, carries the very files compose/ holds, and the shared provisioning
// script parses as sh and refuses bad arguments (test/e2e/ops-provision.test.ts runs it for real).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { describe, expect, it } from "vitest";

const DIR = join(import.meta.dirname, "../../../compose");

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd: DIR, encoding: "utf8", env });
  expect(result.error, `${command} ${args.join(" ")}`).toBeUndefined();
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("compose/docker-compose.yml", () => {
  it("passes docker-compose config: etcd, three privileged agents on the underlay, Prometheus and Grafana", () => {
    const result = run("docker-compose", ["-f", "docker-compose.yml", "config"]);
    expect(result.status, result.stderr).toBe(0);
    const config = parseYaml(result.stdout) as { services: Record<string, { privileged?: boolean; environment?: Record<string, string>; volumes?: unknown[] }> };
    expect(Object.keys(config.services).sort()).toEqual(["etcd", "grafana", "prometheus", "weft1", "weft2", "weft3"]);
    for (const name of ["weft1", "weft2", "weft3"]) {
      const agent = config.services[name]!;
      expect(agent.privileged).toBe(true);
      expect(agent.environment).toMatchObject({ WEFT_NODE_NAME: name, WEFT_ETCD_ENDPOINTS: "http://etcd:2379", WEFT_UNDERLAY_IFACE: "eth0" });
    }
  });

  it("puts the underlay on 10.60.0.0/24 unless WEFT_COMPOSE_UNDERLAY names another /24", () => {
    type Config = { networks: { underlay: { ipam: { config: { subnet: string }[] } } }; services: Record<string, { networks: { underlay: { ipv4_address: string } } }> };
    const underlay = (env: NodeJS.ProcessEnv) => {
      const result = run("docker-compose", ["-f", "docker-compose.yml", "config"], env);
      expect(result.status, result.stderr).toBe(0);
      const config = parseYaml(result.stdout) as Config;
      return [config.networks.underlay.ipam.config[0]!.subnet, config.services.weft2!.networks.underlay.ipv4_address];
    };
    const { WEFT_COMPOSE_UNDERLAY: _unset, ...plain } = process.env;
    expect(underlay(plain)).toEqual(["10.60.0.0/24", "10.60.0.12"]);
    expect(underlay({ ...plain, WEFT_COMPOSE_UNDERLAY: "10.61.5" })).toEqual(["10.61.5.0/24", "10.61.5.12"]);
  });
});

describe("compose/Vagrantfile", () => {
  it("passes vagrant validate --ignore-provider, with the underlay named as eth1 and etcd on the first VM", () => {
    // Vagrant keeps its machine state in .vagrant/ beside the Vagrantfile: put it in a scratch dir.
    const dotfiles = mkdtempSync(join(tmpdir(), "weft-vagrant-"));
    const result = run("vagrant", ["validate", "--ignore-provider"], { ...process.env, VAGRANT_DOTFILE_PATH: dotfiles });
    rmSync(dotfiles, { recursive: true, force: true });
    expect(result.status, result.stdout + result.stderr).toBe(0);
    const text = readFileSync(join(DIR, "Vagrantfile"), "utf8");
    expect(text).toContain('args: [name, "eth1", "#{SUBNET}.11", i == 1 ? "etcd" : ""]');
  });
});

describe("compose/multipass/cloud-init.yaml", () => {
  it("passes cloud-init schema", () => {
    const result = run("cloud-init", ["schema", "--config-file", "multipass/cloud-init.yaml"]);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain("Valid cloud-config");
  });

  it("carries the same provisioning script and unit files as compose/", () => {
    const userData = parseYaml(readFileSync(join(DIR, "multipass/cloud-init.yaml"), "utf8")) as { write_files: Array<{ path: string; content: string }> };
    const copies = Object.fromEntries(userData.write_files.map((f) => [f.path, f.content]));
    for (const file of ["provision/weft-node.sh", "systemd/weftd.service", "systemd/weftd.yaml", "systemd/weftd.default"]) {
      expect(copies[`/opt/weft-compose/${file}`], `${file}: run compose/multipass/render-cloud-init.sh`).toBe(readFileSync(join(DIR, file), "utf8"));
    }
  });
});

describe("compose/provision/weft-node.sh", () => {
  it("parses as POSIX sh", () => {
    const result = run("sh", ["-n", "provision/weft-node.sh"]);
    expect(result.status, result.stderr).toBe(0);
  });

  it("refuses to run without a node name, underlay interface and etcd address, before touching anything", () => {
    const result = run("sh", ["provision/weft-node.sh", "weft1", "eth1"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("usage: provision/weft-node.sh NODE_NAME UNDERLAY_IFACE ETCD_IP [etcd]");
    expect(result.stdout).toBe("");
  });
});
