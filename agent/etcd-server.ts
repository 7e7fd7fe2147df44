// Starts a private etcd (Debian's etcd-server): the one launcher for the lab, the tests and the bench.
// Its own data dir, client and peer URLs on the given host (loopback by default) and ports (free ones
// by default), optionally inside a network namespace, optionally serving clients over TLS with client
// certificate auth, optionally detached so that it outlives the process that started it (the lab).
import { execFile, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { retry } from "../controlplane/retryable.js";
import { requireCommand } from "./host-dependencies.js";

export interface EtcdServerTls {
  /** The server's certificate and key; also the identity its health check uses as a client. */
  certFile: string;
  keyFile: string;
  /** The CA that signed the server's certificate and, with clientCertAuth, the clients'. */
  trustedCaFile: string;
  /** Refuse clients without a certificate signed by trustedCaFile. */
  clientCertAuth?: boolean;
}

export interface EtcdServerOptions {
  /** Run etcd inside this named network namespace (`ip netns exec` execs, so the PID is etcd's). */
  netns?: string;
  /** Address to listen on for clients and peers; default 127.0.0.1. */
  host?: string;
  /** Fixed ports; default: free ports picked on loopback (only valid when netns is unset). */
  clientPort?: number;
  peerPort?: number;
  /** Where data lives; default a new temporary directory, removed on stop. */
  dataDir?: string;
  /** Milliseconds to wait for health; default 15000. */
  startTimeoutMs?: number;
  name?: string;
  tls?: EtcdServerTls;
  /** Let etcd outlive this process: its own session, output appended to logFile. */
  detached?: { logFile: string };
  /** default "error" */
  logLevel?: "debug" | "info" | "warn" | "error";
}

export interface EtcdServer {
  /** Client URL, e.g. http://127.0.0.1:23791 (https:// with TLS) */
  readonly endpoint: string;
  readonly pid: number;
  readonly dataDir: string;
  readonly netns?: string;
  stop(): Promise<void>;
}

/** etcd exited before it was healthy because a port was taken: worth another try on other ports. */
class PortTaken extends Error {}

export async function startEtcd(options: EtcdServerOptions = {}): Promise<EtcdServer> {
  requireCommand("etcd", "etcd-server");
  requireCommand("etcdctl", "etcd-client");
  const fixedPorts = options.clientPort !== undefined && options.peerPort !== undefined;
  return retry(() => startOnce(options), {
    retries: fixedPorts ? 0 : 4,
    minDelayMs: 50,
    maxDelayMs: 200,
    shouldRetry: (err) => err instanceof PortTaken,
  });
}

async function startOnce(options: EtcdServerOptions): Promise<EtcdServer> {
  const host = options.host ?? "127.0.0.1";
  const clientPort = options.clientPort ?? (await freePort());
  const peerPort = options.peerPort ?? (await freePort());
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "weft-etcd-")));
  const name = options.name ?? "weft-etcd";
  const clientUrl = `${options.tls ? "https" : "http"}://${host}:${clientPort}`;
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
    `--log-level=${options.logLevel ?? "error"}`,
    "--logger=zap",
  ];
  if (options.tls) {
    args.push(`--cert-file=${options.tls.certFile}`, `--key-file=${options.tls.keyFile}`, `--trusted-ca-file=${options.tls.trustedCaFile}`);
    if (options.tls.clientCertAuth) args.push("--client-cert-auth");
  }
  const [cmd, cmdArgs] = options.netns ? ["ip", ["netns", "exec", options.netns, "etcd", ...args]] : ["etcd", args];

  let output = "";
  const logFd = options.detached ? openSync(options.detached.logFile, "a") : undefined;
  const child = spawn(cmd, cmdArgs as string[], {
    stdio: ["ignore", logFd ?? "ignore", logFd ?? "pipe"],
    detached: options.detached !== undefined,
  });
  if (logFd !== undefined) {
    closeSync(logFd);
    child.unref();
  }
  child.stderr?.on("data", (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  const outputTail = async (): Promise<string> =>
    options.detached ? (await readFile(options.detached.logFile, "utf8").catch(() => "")).slice(-4000) : output;
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once("exit", (code) => {
      exitCode = code;
      resolve();
    }),
  );
  child.once("error", () => undefined);

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    }
    if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 15000);
  try {
    for (;;) {
      if (exitCode !== undefined) {
        const tail = (await outputTail()).trim();
        if (/address already in use/i.test(tail)) throw new PortTaken(`etcd: a port was taken (${clientPort}, ${peerPort})`);
        throw new Error(`etcd exited with code ${exitCode} before becoming healthy: ${tail}`);
      }
      if (await healthy(clientUrl, options)) break;
      if (Date.now() > deadline) {
        throw new Error(`etcd at ${clientUrl} was not healthy within ${options.startTimeoutMs ?? 15000} ms: ${(await outputTail()).trim()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  if (child.pid === undefined) throw new Error("etcd: no PID");
  return { endpoint: clientUrl, pid: child.pid, dataDir, ...(options.netns ? { netns: options.netns } : {}), stop };
}

/** Asks etcd for its health with etcdctl, from inside its namespace and with its TLS files if any. */
function healthy(clientUrl: string, options: EtcdServerOptions): Promise<boolean> {
  const etcdctl = [`--endpoints=${clientUrl}`, "--dial-timeout=1s", "--command-timeout=2s"];
  if (options.tls) etcdctl.push(`--cacert=${options.tls.trustedCaFile}`, `--cert=${options.tls.certFile}`, `--key=${options.tls.keyFile}`);
  etcdctl.push("endpoint", "health");
  const [cmd, args] = options.netns ? ["ip", ["netns", "exec", options.netns, "etcdctl", ...etcdctl]] : ["etcdctl", etcdctl];
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ETCDCTL_API: "3" }, timeout: 5000 }, (err) => resolve(!err));
  });
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

/** Stops etcd (SIGTERM, SIGKILL after 3 s) and removes the data dir it made. */
export function stopEtcd(server: EtcdServer): Promise<void> {
  return server.stop();
}
