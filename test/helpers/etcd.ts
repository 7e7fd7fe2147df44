// A private etcd per test file, and a TCP proxy in front of it so that tests can cut a client off
// from etcd (and reconnect it) deterministically while etcd itself keeps running.
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { createServer, connect, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll } from "vitest";
import { etcdClientOptions } from "../../agent/etcd-client-options.js";
import { startEtcd, type EtcdServerOptions } from "../../agent/etcd-server.js";
import { requireCommand } from "../../agent/host-dependencies.js";
import { createEtcdRegistry, type EtcdRegistryOptions, type Registry } from "../../controlplane/registry/index.js";

const execFileAsync = promisify(execFile);

export interface TestEtcd {
  /** Client URL, e.g. http://127.0.0.1:23791 */
  endpoint: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts etcd on free loopback ports; throws MissingDependencyError (with the apt hint) when etcd is not installed. */
export async function withEtcd(options: EtcdServerOptions = {}): Promise<TestEtcd> {
  const server = await startEtcd(options);
  return { endpoint: server.endpoint, pid: server.pid, stop: () => server.stop() };
}

export interface EtcdForFile {
  /** The file's etcd client URL; valid inside its tests. */
  readonly endpoint: string;
  /** The file's etcd process. */
  readonly pid: number;
  /** A registry on the file's etcd (or on `endpoint`, e.g. a proxy in front of it), closed after the file's tests. */
  registry(options: Omit<EtcdRegistryOptions, "client"> & { endpoint?: string }): Registry;
}

/** For one test file: an etcd started before its tests, and registries on it, all gone after them. */
export function etcdForFile(): EtcdForFile {
  let etcd: TestEtcd | undefined;
  const registries: Registry[] = [];
  beforeAll(async () => {
    etcd = await withEtcd();
  });
  afterAll(async () => {
    await Promise.all(registries.map((r) => r.close()));
    await etcd?.stop();
  });
  const started = (): TestEtcd => {
    if (etcd === undefined) throw new Error("the file's etcd is not started yet: use it inside tests");
    return etcd;
  };
  return {
    get endpoint() {
      return started().endpoint;
    },
    get pid() {
      return started().pid;
    },
    registry({ endpoint: target, ...options }) {
      const registry = createEtcdRegistry({ client: etcdClientOptions({ endpoints: [target ?? started().endpoint] }), ...options });
      registries.push(registry);
      return registry;
    },
  };
}

/** Runs etcdctl (API v3) against `endpoint`; returns stdout. Fails with the apt hint when it is missing. */
export async function etcdctl(endpoint: string, ...args: string[]): Promise<string> {
  requireCommand("etcdctl", "etcd-client");
  const { stdout } = await execFileAsync("etcdctl", [`--endpoints=${endpoint}`, "--dial-timeout=2s", ...args], {
    env: { ...process.env, ETCDCTL_API: "3" },
  });
  return stdout;
}

/** The current revision of the etcd store. */
export async function currentRevision(endpoint: string): Promise<number> {
  const out = await etcdctl(endpoint, "endpoint", "status", "--write-out=json");
  const status = JSON.parse(out) as Array<{ Status: { header: { revision: number } } }>;
  return status[0]!.Status.header.revision;
}

export interface TestCertificates {
  /** The test CA's certificate. */
  caFile: string;
  /** etcd's certificate (SAN IP 127.0.0.1, usable as server and client) and key. */
  serverCertFile: string;
  serverKeyFile: string;
  /** A client certificate signed by the test CA, and its key. */
  clientCertFile: string;
  clientKeyFile: string;
}

/** Makes a CA, a server certificate for 127.0.0.1 and a client certificate with the openssl CLI, in `dir`. */
export async function makeTestCertificates(dir: string): Promise<TestCertificates> {
  requireCommand("openssl", "openssl");
  const path = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): Promise<unknown> => execFileAsync("openssl", args);
  const key = (name: string): Promise<unknown> => openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path(name));
  await key("ca.key");
  await openssl("req", "-x509", "-new", "-key", path("ca.key"), "-out", path("ca.pem"), "-days", "2", "-subj", "/CN=weft test CA");
  const sign = async (name: string, subject: string, extensions: string): Promise<void> => {
    await key(`${name}.key`);
    await openssl("req", "-new", "-key", path(`${name}.key`), "-out", path(`${name}.csr`), "-subj", subject);
    await writeFile(path(`${name}.ext`), extensions);
    await openssl(
      "x509", "-req", "-in", path(`${name}.csr`), "-CA", path("ca.pem"), "-CAkey", path("ca.key"), "-CAcreateserial",
      "-out", path(`${name}.pem`), "-days", "2", "-extfile", path(`${name}.ext`),
    );
  };
  await sign("server", "/CN=etcd", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n");
  await sign("client", "/CN=weftd", "extendedKeyUsage=clientAuth\n");
  return {
    caFile: path("ca.pem"),
    serverCertFile: path("server.pem"),
    serverKeyFile: path("server.key"),
    clientCertFile: path("client.pem"),
    clientKeyFile: path("client.key"),
  };
}

export interface TcpProxy {
  /** URL clients should use instead of the target's. */
  endpoint: string;
  /** Destroys every connection and refuses new ones (connections are reset immediately). */
  cut(): void;
  /** Accepts connections again. */
  restore(): void;
  close(): Promise<void>;
}

/** A loopback TCP proxy to `target` (an http://host:port URL). */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const url = new URL(target);
  const sockets = new Set<Socket>();
  let open = true;
  const server: Server = createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(url.port), url.hostname);
    sockets.add(client);
    sockets.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (typeof address !== "object" || !address) throw new Error("proxy has no address");
  const destroyAll = (): void => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    cut() {
      open = false;
      destroyAll();
    },
    restore() {
      open = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        open = false;
        destroyAll();
        server.close(() => resolve());
      }),
  };
}

/** Polls `check` until it returns a truthy value or the deadline passes (then throws with `what`). */
export async function eventually<T>(what: string, check: () => T | Promise<T>, timeoutMs = 15_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
