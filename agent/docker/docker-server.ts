// weftd's Docker plugin socket: /run/docker/plugins/NAME.sock, where dockerd discovers plugins (the
// name is per agent, because lab hosts share that directory). HTTP POSTs with JSON bodies, answered
// by DockerDriver. Root only (mode 0600): a Join attaches interfaces into any container.
import { chmod, mkdir } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { dirname, join } from "node:path";
import { errorText, isName, WeftError } from "../../proto/values/index.js";
import type { DockerDriver } from "./docker-driver.js";
import { removeStaleSocket } from "../stale-socket.js";

const MAX_REQUEST_BYTES = 1024 * 1024;
const CONTENT_TYPE = "application/vnd.docker.plugins.v1+json";
export const DOCKER_PLUGIN_DIR = "/run/docker/plugins";
export const DEFAULT_DOCKER_PLUGIN_NAME = "weft";

/** The socket dockerd finds the plugin `name` by (the driver name in `docker network create -d NAME`). */
export function dockerPluginSocketPath(name: string, dir = DOCKER_PLUGIN_DIR): string {
  if (!isName(name)) throw new WeftError("invalid-argument", `docker plugin name: ${JSON.stringify(name)} is not a name`, { field: "docker_plugin" });
  return join(dir, `${name}.sock`);
}

export async function startDockerServer(socketPath: string, driver: DockerDriver, log: (line: string) => void): Promise<Server> {
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o755 });
  await removeStaleSocket(socketPath, "docker plugin socket");
  const server = createServer((req, res) => {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { "Content-Type": CONTENT_TYPE });
      res.end(JSON.stringify(body));
    };
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_REQUEST_BYTES) chunks.push(chunk);
    });
    req.on("end", () => {
      if (req.method !== "POST") return reply(405, { Err: "weft: plugin calls are POSTs" });
      if (size > MAX_REQUEST_BYTES) return reply(413, { Err: `weft: request larger than ${MAX_REQUEST_BYTES} bytes` });
      const text = Buffer.concat(chunks).toString("utf8");
      let body: unknown = {};
      try {
        if (text.trim() !== "") body = JSON.parse(text);
      } catch (err) {
        return reply(400, { Err: `weft: request: not JSON (${errorText(err)})` });
      }
      const path = (req.url ?? "").split("?")[0] ?? "";
      driver.handle(path, body).then(
        (r) => reply(r.status, r.body),
        (err: unknown) => {
          log(`docker: ${path}: ${errorText(err)}`);
          reply(500, { Err: `weft: ${errorText(err)}` });
        },
      );
    });
    req.on("error", () => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => resolve());
  });
  await chmod(socketPath, 0o600);
  return server;
}
