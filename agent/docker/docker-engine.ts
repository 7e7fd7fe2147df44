// dockerd's Engine API, read over its unix socket: which running container holds an endpoint.
// Only GETs, and only after Join has returned (never while dockerd waits on the driver).
import { request } from "node:http";
import { WeftError } from "../../proto/values/index.js";
import type { DockerContainer, DockerEngine } from "./docker-agent.js";

const MAX_BODY = 4 * 1024 * 1024;

function getJson(socketPath: string, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: "GET", timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY) req.destroy(new Error(`dockerd ${path}: answer larger than ${MAX_BODY} bytes`));
        else chunks.push(chunk);
      });
      res.on("end", () => {
        if (res.statusCode === 404) return resolve(undefined);
        if (res.statusCode !== 200) return reject(new WeftError("unavailable", `dockerd ${path}: HTTP ${res.statusCode}`));
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on("timeout", () => req.destroy(new WeftError("unavailable", `dockerd ${path}: no answer`)));
    req.on("error", (err) => reject(err instanceof WeftError ? err : new WeftError("unavailable", `dockerd at ${socketPath}: ${err.message}`, { cause: err })));
    req.end();
  });
}

/** The Engine API at `socketPath` (dockerd's -H unix://...). */
export function dockerEngine(socketPath: string): DockerEngine {
  return {
    async containerFor(networkId, endpointId) {
      const network = (await getJson(socketPath, `/networks/${networkId}`)) as { Containers?: Record<string, { EndpointID?: string }> } | undefined;
      // Keys are container ids once the endpoint is in a sandbox ("ep-..." before).
      const containerId = Object.entries(network?.Containers ?? {}).find(([key, c]) => c.EndpointID === endpointId && /^[0-9a-f]{64}$/.test(key))?.[0];
      if (!containerId) return undefined;
      const container = (await getJson(socketPath, `/containers/${containerId}/json`)) as { Name?: string; State?: { Pid?: number }; ResolvConfPath?: string } | undefined;
      const pid = container?.State?.Pid ?? 0;
      if (!Number.isInteger(pid) || pid <= 0) return undefined;
      const resolvConfPath = container?.ResolvConfPath;
      return { name: container?.Name ?? "", pid, ...(typeof resolvConfPath === "string" && resolvConfPath ? { resolvConfPath } : {}) } satisfies DockerContainer;
    },
  };
}
