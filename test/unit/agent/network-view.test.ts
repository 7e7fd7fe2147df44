// A network gone from etcd stays in the agent's view for the grace period, and for as long as local
// endpoints use it; a removal through weft itself ends it at once.
import { describe, expect, it } from "vitest";
import { NetworkView } from "../../../agent/networks/network-view.js";
import type { NetworkRecord } from "../../../controlplane/registry/index.js";

const record = (name: string, vni: number): NetworkRecord => ({
  name, vni, subnet: `10.${vni}.0.0/16`, hostPrefixLen: 24, internal: false, mode: "overlay", attachable: true, labels: {}, createdAt: "2026-01-01T00:00:00Z",
});

function setup(): { view: NetworkView; etcd: Map<string, NetworkRecord>; users: Map<string, number>; clock: { now: number }; lines: string[] } {
  const etcd = new Map([["blue", record("blue", 42)], ["red", record("red", 7)]]);
  const users = new Map<string, number>();
  const clock = { now: 0 };
  const lines: string[] = [];
  const view = new NetworkView({
    current: () => etcd,
    localEndpoints: (n) => users.get(n) ?? 0,
    log: (_level, line) => lines.push(line),
    onExpiry: () => undefined,
    now: () => clock.now,
    graceMs: 60_000,
  });
  return { view, etcd, users, clock, lines };
}

describe("NetworkView", () => {
  it("keeps a vanished network for the grace period, then lets it go", () => {
    const { view, etcd, clock, lines } = setup();
    expect([...view.networks().keys()].sort()).toEqual(["blue", "red"]);
    etcd.delete("red");
    expect(view.has("red")).toBe(true);
    clock.now = 59_999;
    expect(view.get("red")?.vni).toBe(7);
    clock.now = 60_000;
    expect(view.has("red")).toBe(false);
    expect(lines.join("\n")).toMatch(/red is gone from etcd; keeping it programmed for 60 s/);
    view.stop();
  });

  it("never lets go of a network local endpoints use, and says so once", () => {
    const { view, etcd, users, clock, lines } = setup();
    view.networks();
    users.set("blue", 2);
    etcd.delete("blue");
    expect(view.has("blue")).toBe(true);
    clock.now = 3_600_000;
    expect(view.has("blue")).toBe(true);
    expect(lines.filter((l) => l.includes("2 local endpoint(s) use it"))).toHaveLength(1);
    // The grace counts from when the key went: with it long over, the last detach lets it go.
    users.set("blue", 0);
    expect(view.has("blue")).toBe(false);
    view.stop();
  });

  it("takes etcd's record again when the network comes back, and forgets at once what weft removed", () => {
    const { view, etcd } = setup();
    view.networks();
    etcd.delete("blue");
    expect(view.has("blue")).toBe(true);
    etcd.set("blue", { ...record("blue", 42), mtu: 1400 });
    expect(view.get("blue")?.mtu).toBe(1400);
    view.forget("red");
    etcd.delete("red");
    expect(view.has("red")).toBe(false);
    view.stop();
  });
});
