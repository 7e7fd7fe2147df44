// The live topology page in the lab. Every lab agent serves it on its own namespace's loopback
// (127.0.0.1:TOPOLOGY_PORT inside <prefix>-hN: reachable from nowhere else, so it exposes nothing).
// `lab up --topology` makes h1's page reachable from this machine's root namespace: a small forwarder
// is handed a listening socket on the root namespace's loopback (port chosen by the kernel, so labs
// run side by side), then runs inside h1's namespace and connects each client to h1's page there.
// Neither the lab's underlay (which exists only in its namespaces) nor h1's page leaves its place.
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { logTail } from "./detached-process.js";
import { LabError } from "./lab-error.js";
import { labDir } from "./lab-names.js";
import type { LabHost, LabState } from "./lab-state.js";

/** Where each lab agent serves the page, inside its own namespace. */
export const TOPOLOGY_PORT = 9480;

/** `lab up --topology`: h1's page as the root namespace reaches it (url), and the forwarder's PID (its command line names the lab dir, so `lab down` finds it). */
export type LabTopology = NonNullable<LabState["topology"]>;

/** weftd's flag for a lab host: the page on its namespace's loopback. */
export function labTopologyArgs(): string[] {
  return ["--topology-listen", `127.0.0.1:${TOPOLOGY_PORT}`];
}

// Runs in the host's namespace. Gets the listening socket (root namespace) over the IPC channel,
// connects each client to the page on its own loopback, and lets the `lab up` process go.
const FORWARDER = `
const net = require("node:net");
const port = Number(process.argv[1]);
process.on("message", (message, server) => {
  if (message !== "listen" || !server) return;
  server.on("connection", (client) => {
    const page = net.connect(port, "127.0.0.1");
    const close = () => { client.destroy(); page.destroy(); };
    for (const s of [client, page]) { s.on("error", close); s.on("close", close); }
    client.pipe(page).pipe(client);
  });
  process.send("ready", () => process.disconnect());
});
`;

/** Starts the forwarder to `host`'s page; resolves once the root namespace's socket is its. */
export async function startLabTopology(state: Pick<LabState, "prefix">, host: LabHost, timeoutMs = 10_000): Promise<LabTopology> {
  const logFile = `${labDir(state.prefix)}/topology-forwarder.log`;
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const log = openSync(logFile, "a");
  let child;
  try {
    child = spawn("ip", ["netns", "exec", host.netns, process.execPath, "-e", FORWARDER, String(TOPOLOGY_PORT), logFile], { detached: true, stdio: ["ignore", log, log, "ipc"] });
  } finally {
    closeSync(log);
  }
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      child.once("error", reject);
      child.once("exit", (code) => reject(new Error(`it exited (${code})`)));
      child.once("message", (message) => {
        clearTimeout(timer);
        if (message === "ready") resolve();
        else reject(new Error(`it said ${JSON.stringify(message)}`));
      });
      child.send("listen", server);
    });
  } catch (err) {
    child.kill("SIGKILL");
    throw new LabError("topology", `the forwarder to ${host.name}'s topology page did not start: ${err instanceof Error ? err.message : String(err)}; log tail (${logFile}):\n${await logTail(logFile)}`);
  } finally {
    server.close();
  }
  child.removeAllListeners();
  child.on("error", () => undefined);
  child.unref();
  return { url: `http://127.0.0.1:${port}/`, host: host.name, pid: child.pid ?? 0 };
}

/** Polls the page's JSON until it answers (the agent may still be starting). */
export async function waitLabTopology(topology: LabTopology, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(new URL("api/topology", topology.url), { signal: AbortSignal.timeout(3000) });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new LabError("topology", `${topology.host}'s topology page did not answer at ${topology.url} within ${timeoutMs} ms (${last})`);
}

/** The line `lab up` and `lab status` print. */
export function labTopologyLine(state: Pick<LabState, "topology">): string {
  return state.topology ? `topology page: ${state.topology.url} (${state.topology.host}'s, forwarded to this machine's loopback)\n` : "";
}
