// The lab's network namespaces and the underlay that joins them: `<prefix>-ul` holds bridge br0
// (10.251.0.254/24); each host namespace `<prefix>-h<i>` has veth ul0 (10.251.0.<i>/24) whose peer
// `h<i>` sits on br0. Links are created inside the namespaces directly, so nothing ever appears in
// the root namespace and nothing routes from it to the underlay.
import { readdir } from "node:fs/promises";
import { runCommand } from "./command-runner.js";
import {
  DEFAULT_UNDERLAY_MTU,
  HOST_UNDERLAY_IF,
  UNDERLAY_BRIDGE,
  UNDERLAY_GATEWAY_IP,
  hostName,
  hostNetns,
  hostUnderlayIp,
  isLabNetns,
  underlayNetns,
} from "./lab-names.js";

/** The named namespaces: what `ip netns list` shows, read from /run/netns without a process per call. */
export async function listNetns(): Promise<string[]> {
  try {
    return (await readdir("/run/netns")).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

export async function listLabNetns(prefix: string): Promise<string[]> {
  return (await listNetns()).filter((name) => isLabNetns(prefix, name));
}

/** Creates a namespace with its loopback up; removes it again if bringing lo up fails. */
export async function addNetns(name: string): Promise<void> {
  await runCommand("ip", ["netns", "add", name]);
  try {
    await runCommand("ip", ["-n", name, "link", "set", "lo", "up"]);
  } catch (err) {
    await deleteNetns(name);
    throw err;
  }
}

export async function deleteNetns(name: string): Promise<void> {
  await runCommand("ip", ["netns", "del", name]).catch(() => undefined);
}

/** PIDs of the processes whose network namespace is `name`. */
export async function netnsPids(name: string): Promise<number[]> {
  try {
    const { stdout } = await runCommand("ip", ["netns", "pids", name]);
    return stdout.split(/\s+/).filter(Boolean).map(Number).filter(Number.isInteger);
  } catch {
    return [];
  }
}

export async function createUnderlay(prefix: string, mtu = DEFAULT_UNDERLAY_MTU): Promise<void> {
  const ns = underlayNetns(prefix);
  await addNetns(ns);
  await runCommand("ip", ["-n", ns, "link", "add", UNDERLAY_BRIDGE, "mtu", String(mtu), "type", "bridge"]);
  await runCommand("ip", ["-n", ns, "addr", "add", `${UNDERLAY_GATEWAY_IP}/24`, "dev", UNDERLAY_BRIDGE]);
  await runCommand("ip", ["-n", ns, "link", "set", UNDERLAY_BRIDGE, "up"]);
}

/** Creates `<prefix>-h<index>` and wires its ul0 to the underlay bridge. */
export async function createHostNamespace(prefix: string, index: number, mtu = DEFAULT_UNDERLAY_MTU): Promise<void> {
  const ul = underlayNetns(prefix);
  const ns = hostNetns(prefix, index);
  const port = hostName(index);
  await addNetns(ns);
  await runCommand("ip", ["-n", ul, "link", "add", port, "mtu", String(mtu), "type", "veth", "peer", "name", HOST_UNDERLAY_IF, "mtu", String(mtu), "netns", ns]);
  await runCommand("ip", ["-n", ul, "link", "set", port, "master", UNDERLAY_BRIDGE, "up"]);
  await runCommand("ip", ["-n", ns, "addr", "add", `${hostUnderlayIp(index)}/24`, "dev", HOST_UNDERLAY_IF]);
  await runCommand("ip", ["-n", ns, "link", "set", HOST_UNDERLAY_IF, "up"]);
  // A host forwards its containers' egress (a real host running weft does too).
  await runCommand("ip", ["netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
}

/** One ping from inside `netns`; resolves to undefined on a reply, else to ping's complaint. */
export async function pingOnce(netns: string, ip: string): Promise<string | undefined> {
  try {
    await runCommand("ip", ["netns", "exec", netns, "ping", "-n", "-c", "1", "-W", "1", ip], { timeoutMs: 5000 });
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
