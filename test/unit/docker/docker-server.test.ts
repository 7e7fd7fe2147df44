// The plugin socket as dockerd uses it: HTTP POSTs with JSON on a unix socket, Docker's media type,
// {"Err"} for what fails, 404 for calls the driver lacks, and a stale socket replaced at start.
import { request } from "node:http";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DockerDriver } from "../../../agent/docker/docker-driver.js";
import { dockerPluginSocketPath, startDockerServer } from "../../../agent/docker/docker-server.js";
import type { NetworkStore } from "../../../agent/docker/network-store.js";
import type { Server } from "node:http";

const dirs: string[] = [];
const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const store: NetworkStore = { get: async () => undefined, put: async () => undefined, remove: async () => undefined, list: async () => [] };
const unused = () => Promise.reject(new Error("not used here"));
const driver = () =>
  new DockerDriver({
    agent: { attach: unused, detach: unused, find: unused, findNetwork: unused, listNetworks: unused, networkSlices: unused, createNetwork: unused, removeNetwork: unused },
    store,
    pools: { get: unused, put: unused, remove: unused, list: unused },
    attacher: { start: () => undefined, cancel: () => undefined },
  });

async function serve(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "weft-docker-unit-"));
  dirs.push(dir);
  const path = dockerPluginSocketPath("weft-test", dir);
  servers.push(await startDockerServer(path, driver(), () => undefined));
  return path;
}

function call(socketPath: string, path: string, body: string, method = "POST"): Promise<{ status: number; type: string; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method, headers: { Accept: "application/vnd.docker.plugins.v1+json" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), body: JSON.parse(Buffer.concat(chunks).toString()) }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("docker plugin socket", () => {
  it("answers Plugin.Activate with Docker's media type", async () => {
    const socket = await serve();
    expect(await call(socket, "/Plugin.Activate", "")).toEqual({ status: 200, type: "application/vnd.docker.plugins.v1+json", body: { Implements: ["NetworkDriver", "IpamDriver"] } });
  });

  it("answers 404 with Err for a call it lacks, 400 for a body that is not JSON, 405 for a GET", async () => {
    const socket = await serve();
    const missing = await call(socket, "/NetworkDriver.AllocateNetwork", "{}");
    expect(missing.status).toBe(404);
    expect(missing.body).toHaveProperty("Err");
    const garbage = await call(socket, "/NetworkDriver.CreateNetwork", "{not json");
    expect(garbage.status).toBe(400);
    expect((garbage.body as { Err: string }).Err).toContain("request:");
    expect((await call(socket, "/Plugin.Activate", "", "GET")).status).toBe(405);
  });

  it("a bad request names Docker's field", async () => {
    const socket = await serve();
    const reply = await call(socket, "/NetworkDriver.Join", JSON.stringify({ NetworkID: "x" }));
    expect(reply.status).toBe(400);
    expect((reply.body as { Err: string }).Err).toContain("NetworkID:");
  });

  it("replaces a stale socket, refuses to steal a live one, and will not replace a file that is not a socket", async () => {
    const socket = await serve();
    await expect(startDockerServer(socket, driver(), () => undefined)).rejects.toThrow(/another agent/);
    await new Promise((resolve) => servers.pop()!.close(resolve));
    servers.push(await startDockerServer(socket, driver(), () => undefined));
    const file = join(dirs[0]!, "plain.sock");
    await writeFile(file, "");
    await expect(startDockerServer(file, driver(), () => undefined)).rejects.toThrow(/not a socket/);
  });

  it("plugin names follow weft's name rule (it becomes a path)", () => {
    expect(dockerPluginSocketPath("weft-h1")).toBe("/run/docker/plugins/weft-h1.sock");
    expect(() => dockerPluginSocketPath("../etc")).toThrow(/docker plugin name/);
  });
});
