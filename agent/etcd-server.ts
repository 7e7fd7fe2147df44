// Starts a private etcd (Debian's etcd-server) for the lab and the tests: its own data dir,
// client and peer URLs on the given host (loopback by default) and free ports, optionally inside a
// network namespace. Stopped by PID; the data dir is removed on stop.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireCommand } from "./host-dependencies.js";

export interface EtcdServerOptions {
  /** Run etcd inside this named network namespace (`ip netns exec`). */
  netns?: string;
  /** Address to listen on for clients and peers; default 127.0.0.1. */
  host?: string;
  /** Fixed ports; default: free ports picked on loopback (only valid when netns is unset). */
  clientPort?: number;
  peerPort?: number;
  /** Where data lives; default a new temporary directory, removed on stop. */
  dataDir?: string;
  /** Milliseconds to wait for /health; default 15000. */
  startTimeoutMs?: number;
  name?: string;
}

export interface EtcdServer {
  /** Client URL, e.g. http://127.0.0.1:23791 */
  readonly endpoint: string;
  readonly pid: number;
  readonly dataDir: string;
  stop(): Promise<void>;
}

export async function startEtcdServer(options: EtcdServerOptions = {}): Promise<EtcdServer> {
  requireCommand("etcd", "etcd-server");
  const host = options.host ?? "127.0.0.1";
  const clientPort = options.clientPort ?? (await freePort());
  const peerPort = options.peerPort ?? (await freePort());
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "weft-etcd-")));
  const name = options.name ?? "weft-etcd";
  const clientUrl = `http://${host}:${clientPort}`;
  const peerUrl = `http://${host}:${peerPort}`;
  const args = [
    `--name=${name}`,
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=${name}=${peerUrl}`,
    "--initial-cluster-state=new",
    "--log-level=error",
    "--logger=zap",
  ];
  const [cmd, cmdArgs] = options.netns
    ? ["ip", ["netns", "exec", options.netns, "etcd", ...args]]
    : ["etcd", args];
  const child = spawn(cmd, cmdArgs as string[], { stdio: ["ignore", "ignore", "pipe"], detached: false });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    }
    if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await waitHealthy(child, clientUrl, options, exited, () => stderr);
  } catch (err) {
    await stop();
    throw err;
  }
  return { endpoint: clientUrl, pid: child.pid!, dataDir, stop };
}

async function waitHealthy(
  child: ChildProcess,
  clientUrl: string,
  options: EtcdServerOptions,
  exited: Promise<number | null>,
  stderr: () => string,
): Promise<void> {
  const deadline = Date.now() + (options.startTimeoutMs ?? 15000);
  let done = false;
  void exited.then(() => (done = true));
  while (Date.now() < deadline) {
    if (done) throw new Error(`etcd exited with code ${child.exitCode} before becoming healthy: ${stderr().trim()}`);
    if (await healthy(clientUrl, options.netns)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`etcd at ${clientUrl} was not healthy within ${options.startTimeoutMs ?? 15000} ms: ${stderr().trim()}`);
}

async function healthy(clientUrl: string, netns: string | undefined): Promise<boolean> {
  if (netns) {
    // The URL is only reachable inside the namespace: ask from there.
    const { execFile } = await import("node:child_process");
    return new Promise((resolve) => {
      execFile(
        "ip",
        ["netns", "exec", netns, "etcdctl", `--endpoints=${clientUrl}`, "--dial-timeout=1s", "endpoint", "health"],
        { env: { ...process.env, ETCDCTL_API: "3" } },
        (err) => resolve(!err),
      );
    });
  }
  try {
    const res = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { health?: string };
    return res.ok && body.health === "true";
  } catch {
    return false;
  }
}

/** A TCP port that was free on loopback a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}
