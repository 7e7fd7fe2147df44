// `weft cni install`: the plugin binary, then the conflist, each written to a temporary file in its
// own directory, flushed and renamed into place, so a runtime never finds either half-written, and
// never a conflist whose plugin is missing (the most common flannel complaint).
import { execFile } from "node:child_process";
import { chmod, copyFile, mkdir, open, rename, rm } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { CNI_CODE } from "./cni-error.js";
import { cniSocketPath, decodeResponse, encodeRequest } from "./cni-wire.js";

export const PLUGIN_TYPE = "weft";

export interface ConflistOptions {
  /** The CNI network's name (what podman lists); default the weft network's. */
  name: string;
  network: string;
  apiSocket: string;
  cniVersion: string;
  portmap: boolean;
}

/** The conflist: weft first (it makes the interfaces), portmap after it when asked (podman -p). */
export function conflistFor(options: ConflistOptions): string {
  const plugins: object[] = [{ type: PLUGIN_TYPE, network: options.network, apiSocket: options.apiSocket, capabilities: { aliases: true } }];
  if (options.portmap) plugins.push({ type: "portmap", capabilities: { portMappings: true } });
  return JSON.stringify({ cniVersion: options.cniVersion, name: options.name, plugins }, null, 2) + "\n";
}

export function conflistFileName(name: string): string {
  return `10-weft-${name}.conflist`;
}

/** Writes `data` to dir/name atomically (temporary file in dir, fsync, rename). */
async function writeAtomically(dir: string, name: string, fill: (tmp: string) => Promise<void>, mode: number): Promise<string> {
  const target = join(dir, name);
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  try {
    await fill(tmp);
    await chmod(tmp, mode);
    const handle = await open(tmp, "r");
    await handle.sync().finally(() => handle.close());
    await rename(tmp, target);
  } finally {
    await rm(tmp, { force: true });
  }
  return target;
}

const run = promisify(execFile);

/**
 * Puts the plugin in binDir as `weft`: weft-cni.c compiled with the host's C compiler (static), or
 * the Node forwarder when there is none. Returns which.
 */
export async function installPlugin(binDir: string, sources: { c: string; node: string }): Promise<{ path: string; kind: "c" | "node" }> {
  await mkdir(binDir, { recursive: true, mode: 0o755 });
  let kind: "c" | "node" = "c";
  const path = await writeAtomically(
    binDir,
    PLUGIN_TYPE,
    async (tmp) => {
      try {
        await run("cc", ["-O2", "-static", "-o", tmp, sources.c], { timeout: 120_000 });
      } catch {
        kind = "node";
        await copyFile(sources.node, tmp);
      }
    },
    0o755,
  );
  return { path, kind };
}

export async function installConflist(confDir: string, options: ConflistOptions): Promise<string> {
  await mkdir(confDir, { recursive: true, mode: 0o755 });
  const text = conflistFor(options);
  return writeAtomically(confDir, conflistFileName(options.name), async (tmp) => {
    const handle = await open(tmp, "wx", 0o644);
    await handle.writeFile(text).finally(() => handle.close());
  }, 0o644);
}

/**
 * Asks weftd's CNI socket for VERSION: proves the agent behind `apiSocket` serves CNI before anything
 * is installed. Throws with the reason otherwise.
 */
export async function probeCniSocket(apiSocket: string, timeoutMs = 5000): Promise<void> {
  const path = cniSocketPath(apiSocket);
  const frame = await new Promise<Buffer>((resolve, reject) => {
    const socket = connect(path);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on("connect", () => socket.end(encodeRequest({ CNI_COMMAND: "VERSION" }, Buffer.from('{"cniVersion":"1.0.0"}'))));
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("end", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`weftd's CNI socket ${path}: ${err.message}`));
    });
  });
  const { exitCode, stdout } = decodeResponse(frame);
  if (exitCode !== 0) throw new Error(`weftd's CNI socket ${path} refused VERSION (code ${(JSON.parse(stdout) as { code?: number }).code ?? CNI_CODE.ioFailure})`);
}
