// The state file: written crash-safe with a previous copy, read back with a fallback to that copy.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { emptyState, StateStore, type AgentState } from "../../../agent/state-store.js";

const dirs: string[] = [];
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "weft-state-"));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

function withEndpoint(state: AgentState, id: string): AgentState {
  return {
    ...state,
    endpoints: [...state.endpoints, { id, name: `c-${id}`, network: "blue", netns: "c1", ifName: "eth0", ip: "10.40.1.2", mac: "02:42:0a:28:01:02", createdAt: "2026-01-01T00:00:00Z", netnsId: { dev: 4, ino: 99 } }],
  };
}

describe("StateStore", () => {
  it("keeps the previous copy on every save and reads back what it wrote", async () => {
    const dir = await freshDir();
    const store = new StateStore(dir);
    const first = withEndpoint(emptyState("h1"), "a1");
    const second = withEndpoint(first, "b2");
    await store.save(first);
    await store.save(second);
    expect(await store.loadWithSource("h1")).toEqual({ state: second, source: "current" });
    expect(JSON.parse(await readFile(join(dir, "state.json.prev"), "utf8"))).toEqual(first);
  });

  it("falls back to the previous copy when state.json is corrupt, and says so", async () => {
    const dir = await freshDir();
    const lines: string[] = [];
    const store = new StateStore(dir, (line) => lines.push(line));
    const first = withEndpoint(emptyState("h1"), "a1");
    await store.save(first);
    await store.save(withEndpoint(first, "b2"));
    await writeFile(join(dir, "state.json"), '{"node": "h1", "gossipV');
    expect(await store.loadWithSource("h1")).toEqual({ state: first, source: "previous" });
    expect(lines.join("\n")).toContain("using the previous copy");

    await writeFile(join(dir, "state.json"), JSON.stringify({ ...first, endpoints: [{ id: 7 }] }));
    expect((await store.loadWithSource("h1")).source).toBe("previous");
  });

  it("starts empty, reporting no state, when neither copy is usable or there is none", async () => {
    const dir = await freshDir();
    const store = new StateStore(dir, () => undefined);
    expect(await store.loadWithSource("h1")).toEqual({ state: emptyState("h1"), source: "none" });
    await writeFile(join(dir, "state.json"), "not json");
    await writeFile(join(dir, "state.json.prev"), "not json either");
    expect(await store.loadWithSource("h1")).toEqual({ state: emptyState("h1"), source: "none" });
  });

  it("refuses another node's state", async () => {
    const dir = await freshDir();
    const store = new StateStore(dir);
    await store.save(emptyState("h2"));
    await expect(store.load("h1")).rejects.toThrow(/belongs to node "h2"/);
  });
});
