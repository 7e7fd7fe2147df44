// A Docker container's resolv.conf pointed at weft's DNS: only Docker's embedded resolver is replaced,
// in place (the container sees the file through a bind mount of its inode), never through a symlink.
import { mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pointResolvConf, weftResolvConf } from "../../../agent/docker/resolv-conf.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-resolv-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const DOCKER_FILE = "search example.org\nnameserver 127.0.0.11\noptions ndots:0\n";
const content = weftResolvConf({ nameservers: ["10.40.1.1"], search: ["lab"] }, "lab")!;

describe("resolv.conf for Docker containers", () => {
  it("names weft's DNS and the network as the search domain", () => {
    expect(content).toContain("nameserver 10.40.1.1\nsearch lab\n");
    expect(weftResolvConf(undefined, "lab")).toBeUndefined();
    expect(weftResolvConf({ nameservers: [], search: [] }, "lab")).toBeUndefined();
  });

  it("rewrites the file dockerd wrote for its embedded resolver, keeping its inode", async () => {
    const path = join(dir, "resolv.conf");
    await writeFile(path, DOCKER_FILE);
    const inode = (await stat(path)).ino;
    expect(await pointResolvConf(path, content)).toBe(true);
    expect(await readFile(path, "utf8")).toBe(content);
    expect((await stat(path)).ino).toBe(inode);
  });

  it("leaves a file that names other servers, a path not called resolv.conf, and a symlink", async () => {
    const own = join(dir, "resolv.conf");
    await writeFile(own, "nameserver 192.0.2.53\n");
    expect(await pointResolvConf(own, content)).toBe(false);
    expect(await readFile(own, "utf8")).toBe("nameserver 192.0.2.53\n");
    const other = join(dir, "hosts");
    await writeFile(other, DOCKER_FILE);
    expect(await pointResolvConf(other, content)).toBe(false);
    const target = join(dir, "target");
    await writeFile(target, DOCKER_FILE);
    await mkdirLink(target, join(dir, "link"));
    await expect(pointResolvConf(join(dir, "link", "resolv.conf"), content)).rejects.toThrow();
    expect(await readFile(target, "utf8")).toBe(DOCKER_FILE);
  });
});

async function mkdirLink(target: string, linkDir: string): Promise<void> {
  const { mkdir } = await import("node:fs/promises");
  await mkdir(linkDir);
  await symlink(target, join(linkDir, "resolv.conf"));
}
