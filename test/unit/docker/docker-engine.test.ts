// dockerd's Engine API as the driver reads it, from a stand-in on a unix socket: an endpoint not yet
// in a sandbox ("ep-" key) or a container without a process yet is not a container to attach to.
import { createServer, type Server } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { dockerEngine } from "../../../agent/docker/docker-engine.js";

const NID = "a".repeat(64);
const EID = "b".repeat(64);
const CID = "c".repeat(64);
let server: Server | undefined;
let dir: string | undefined;

afterEach(async () => {
  if (server) await new Promise((resolve) => server!.close(resolve));
  if (dir) await rm(dir, { recursive: true, force: true });
  server = dir = undefined;
});

async function fakeDockerd(routes: Record<string, unknown>): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), "weft-dockerd-"));
  const socket = join(dir, "docker.sock");
  server = createServer((req, res) => {
    const body = routes[req.url ?? ""];
    res.writeHead(body === undefined ? 404 : 200, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body ?? { message: "no such thing" }));
  });
  await new Promise<void>((resolve) => server!.listen(socket, resolve));
  return socket;
}

describe("dockerd's Engine API", () => {
  it("finds the running container holding the endpoint, with its pid and resolv.conf", async () => {
    const socket = await fakeDockerd({
      [`/networks/${NID}`]: { Containers: { [CID]: { Name: "web", EndpointID: EID } } },
      [`/containers/${CID}/json`]: { Name: "/web", State: { Pid: 4242 }, ResolvConfPath: "/var/lib/docker/containers/c/resolv.conf" },
    });
    expect(await dockerEngine(socket).containerFor(NID, EID)).toEqual({ name: "/web", pid: 4242, resolvConfPath: "/var/lib/docker/containers/c/resolv.conf" });
  });

  it("an endpoint not in a sandbox yet, a container with no process yet, or an unknown network: none yet", async () => {
    const socket = await fakeDockerd({
      [`/networks/${NID}`]: { Containers: { [`ep-${EID}`]: { Name: "web", EndpointID: EID }, [CID]: { Name: "other", EndpointID: "d".repeat(64) } } },
      [`/containers/${CID}/json`]: { Name: "/other", State: { Pid: 0 } },
    });
    const engine = dockerEngine(socket);
    expect(await engine.containerFor(NID, EID)).toBeUndefined();
    expect(await engine.containerFor(NID, "d".repeat(64))).toBeUndefined();
    expect(await engine.containerFor("e".repeat(64), EID)).toBeUndefined();
  });

  it("dockerd not listening is 'unavailable'", async () => {
    await expect(dockerEngine("/nonexistent/docker.sock").containerFor(NID, EID)).rejects.toMatchObject({ code: "unavailable" });
  });
});
