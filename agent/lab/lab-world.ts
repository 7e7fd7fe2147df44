// The lab's outside world: namespace `<prefix>-world` on the underlay bridge (10.251.0.253) with an
// HTTP server that answers with the client address it saw (egress checks: the world must see the
// host's underlay address, not the container's) and a DNS server for `example.test` (dnsmasq from
// Debian's dnsmasq-base; the lab installs it). Hosts' resolv.conf names it; containers' names their
// gateway, where weft's DNS forwards other names to the host's resolvers, i.e. here.
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { runCommand } from "./command-runner.js";
import { spawnDetached } from "./detached-process.js";
import { startHttpServer } from "./lab-http-server.js";
import { addNetns } from "./lab-namespaces.js";
import { HOST_UNDERLAY_IF, UNDERLAY_BRIDGE, WORLD_IP, WORLD_PORT_NAME, WORLD_ZONE, isLabNetns, labDir, underlayNetns, worldNetns } from "./lab-names.js";

export const WORLD_HTTP_PORT = 80;
/** What example.test resolves to (the world itself). */
export const WORLD_ZONE_ADDRESS = WORLD_IP;

export interface LabWorld {
  netns: string;
  ip: string;
  httpPid: number;
  dnsPid: number;
}

/** Creates the world namespace, wires it to the underlay, starts its servers. */
export async function createWorld(prefix: string, mtu: number): Promise<LabWorld> {
  const ns = worldNetns(prefix);
  const ul = underlayNetns(prefix);
  const dir = labDir(prefix);
  await addNetns(ns);
  await runCommand("ip", ["-n", ul, "link", "add", WORLD_PORT_NAME, "mtu", String(mtu), "type", "veth", "peer", "name", HOST_UNDERLAY_IF, "mtu", String(mtu), "netns", ns]);
  await runCommand("ip", ["-n", ul, "link", "set", WORLD_PORT_NAME, "master", UNDERLAY_BRIDGE, "up"]);
  await runCommand("ip", ["-n", ns, "addr", "add", `${WORLD_IP}/24`, "dev", HOST_UNDERLAY_IF]);
  await runCommand("ip", ["-n", ns, "link", "set", HOST_UNDERLAY_IF, "up"]);
  const httpPid = await startHttpServer({ prefix, netns: ns, port: WORLD_HTTP_PORT, host: WORLD_IP, logName: "world-http.log" });
  const dnsPid = spawnDetached({
    netns: ns,
    command: "dnsmasq",
    args: [
      "--keep-in-foreground",
      "--conf-file=/dev/null",
      "--no-resolv",
      "--no-hosts",
      "--bind-interfaces",
      `--listen-address=${WORLD_IP}`,
      `--address=/${WORLD_ZONE}/${WORLD_ZONE_ADDRESS}`,
      `--pid-file=${dir}/world-dns.pid`,
      "--user=root",
      "--log-facility=-",
    ],
    logFile: `${dir}/world-dns.log`,
  });
  return { netns: ns, ip: WORLD_IP, httpPid, dnsPid };
}

/** /etc/netns/<netns>/resolv.conf, which `ip netns exec` mounts over /etc/resolv.conf. */
export async function writeNetnsResolvConf(netns: string, nameserver: string, search: readonly string[] = []): Promise<string> {
  const dir = `/etc/netns/${netns}`;
  await mkdir(dir, { recursive: true });
  const path = `${dir}/resolv.conf`;
  const lines = [`nameserver ${nameserver}`, ...(search.length > 0 ? [`search ${search.join(" ")}`] : []), "options timeout:1 attempts:3", ""];
  await writeFile(path, lines.join("\n"));
  return path;
}

/** Removes /etc/netns/<name> of every lab namespace with this prefix (their namespaces may be gone already). */
export async function removeNetnsConfigs(prefix: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir("/etc/netns");
  } catch {
    return;
  }
  await Promise.all(names.filter((name) => isLabNetns(prefix, name)).map((name) => rm(`/etc/netns/${name}`, { recursive: true, force: true })));
}
