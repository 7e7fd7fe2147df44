// Two hosts joined by an underlay veth, each running the dataplane in its own namespace: containers
// on different hosts reach each other over VXLAN, with ARP answered locally from the neighbour table.
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireCommand } from "../../agent/host-dependencies.js";
import { KernelWorkerClient, hostIfNameFor, vtepMacFor, type DesiredState } from "../../dataplane/index.js";

const run = `weft${randomBytes(3).toString("hex")}`;
const hosts = [`${run}-h1`, `${run}-h2`] as const;
const containers = [`${run}-c1`, `${run}-c2`] as const;
const underlayIps = ["10.77.0.1", "10.77.0.2"] as const;
const endpoints = [
  { id: "1111aaaa2222bbbb", ip: "10.30.0.2", mac: "02:42:0a:1e:00:02" },
  { id: "3333cccc4444dddd", ip: "10.30.0.3", mac: "02:42:0a:1e:00:03" },
] as const;
const made: string[] = [];
const workers: KernelWorkerClient[] = [];

function sh(...args: string[]): string {
  return execFileSync(args[0]!, args.slice(1), { encoding: "utf8" });
}

function desiredFor(i: 0 | 1): DesiredState {
  const other = i === 0 ? 1 : 0;
  const mine = endpoints[i];
  return {
    underlay: { ip: underlayIps[i], mtu: 1500 },
    overlay: {
      networks: [
        {
          vni: 300,
          vtepMac: vtepMacFor(`h${i + 1}`, 300),
          mtu: 1450,
          localEndpoints: [{ id: mine.id, hostIfName: hostIfNameFor(mine.id), netns: containers[i], ifName: "eth0", mac: mine.mac, ip: mine.ip, prefixLen: 16 }],
          remoteEndpoints: [{ ip: endpoints[other].ip, mac: endpoints[other].mac, vtep: underlayIps[other] }],
        },
      ],
    },
  };
}

describe("overlay between two hosts on the real kernel", () => {
  beforeAll(() => {
    for (const command of ["ip", "bridge", "nsenter", "ping"]) requireCommand(command);
    for (const ns of [...hosts, ...containers]) {
      sh("ip", "netns", "add", ns);
      made.push(ns);
    }
    sh("ip", "-n", hosts[0], "link", "add", "ul0", "type", "veth", "peer", "name", "ul0", "netns", hosts[1]);
    hosts.forEach((host, i) => {
      sh("ip", "-n", host, "addr", "add", `${underlayIps[i]}/24`, "dev", "ul0");
      sh("ip", "-n", host, "link", "set", "ul0", "up");
      sh("ip", "-n", host, "link", "set", "lo", "up");
      workers.push(new KernelWorkerClient(host));
    });
  });

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.close()));
    for (const ns of made) spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  });

  it("connects containers on different hosts", async () => {
    const reports = await Promise.all([workers[0]!.reconcile(desiredFor(0)), workers[1]!.reconcile(desiredFor(1))]);
    for (const report of reports) expect(report).toMatchObject({ linksCreated: 3, fdbAdded: 1, neighboursAdded: 1, errors: [] });

    const ping = spawnSync("ip", ["netns", "exec", containers[0], "ping", "-c", "1", "-w", "10", endpoints[1].ip], { encoding: "utf8" });
    expect(ping.stdout + ping.stderr).toContain("1 received");
    expect(ping.status).toBe(0);
    // The container learned the remote MAC, answered by weft-vx300's proxy from its neighbour table.
    const neighbours = JSON.parse(sh("ip", "-n", containers[0], "-j", "neigh", "show", "dev", "eth0")) as { dst: string; lladdr?: string }[];
    expect(neighbours).toContainEqual(expect.objectContaining({ dst: endpoints[1].ip, lladdr: endpoints[1].mac }));
  });

  it("stops the traffic when the remote endpoint is withdrawn", async () => {
    const withdrawn = desiredFor(0);
    withdrawn.overlay.networks[0]!.remoteEndpoints = [];
    const report = await workers[0]!.reconcile(withdrawn);
    expect(report).toMatchObject({ fdbRemoved: 1, neighboursRemoved: 1, errors: [] });
    spawnSync("ip", ["-n", containers[0], "neigh", "flush", "dev", "eth0"]);
    const ping = spawnSync("ip", ["netns", "exec", containers[0], "ping", "-c", "1", "-w", "2", endpoints[1].ip], { encoding: "utf8" });
    expect(ping.status).not.toBe(0);
  });
});
