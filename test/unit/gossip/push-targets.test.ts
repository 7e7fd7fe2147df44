import { describe, expect, it } from "vitest";
import { windowTargets } from "../../../controlplane/gossip/push-targets.js";

const members = Array.from({ length: 200 }, (_, i) => `n${String(i).padStart(3, "0")}`).sort();

function graph(window: number, fanout: number): Map<string, string[]> {
  return new Map(members.map((m) => [m, windowTargets(members, m, window, fanout)]));
}

describe("windowTargets", () => {
  it("gives every node at most fanout distinct targets other than itself, the same on every call", () => {
    for (const m of members) {
      const targets = windowTargets(members, m, 17, 3);
      expect(targets.length).toBeGreaterThanOrEqual(1);
      expect(targets.length).toBeLessThanOrEqual(3);
      expect(new Set(targets).size).toBe(targets.length);
      expect(targets).not.toContain(m);
      expect(windowTargets(members, m, 17, 3)).toEqual(targets);
    }
    expect(windowTargets(["a"], "a", 1, 3)).toEqual([]);
    expect(windowTargets(members, "stranger", 1, 3)).toEqual([]);
  });

  it("gives every node at most fanout pushers, and nearly all exactly fanout", () => {
    for (const window of [0, 1, 99_999]) {
      const pushers = new Map<string, number>();
      for (const targets of graph(window, 3).values()) for (const t of targets) pushers.set(t, (pushers.get(t) ?? 0) + 1);
      const counts = members.map((m) => pushers.get(m) ?? 0);
      expect(Math.max(...counts)).toBeLessThanOrEqual(3);
      expect(counts.filter((c) => c === 0)).toEqual([]);
      expect(counts.filter((c) => c === 3).length).toBeGreaterThan(members.length * 0.95);
    }
  });

  it("reaches every node from any start within a few hops, and draws new targets in the next window", () => {
    const g = graph(5, 3);
    for (const start of [members[0]!, members[77]!, members[199]!]) {
      let frontier = [start];
      const seen = new Set(frontier);
      let hops = 0;
      while (frontier.length > 0) {
        frontier = frontier.flatMap((m) => g.get(m)!).filter((m) => !seen.has(m) && seen.add(m));
        if (frontier.length > 0) hops += 1;
      }
      expect(seen.size).toBe(members.length);
      expect(hops).toBeLessThan(15);
    }
    const next = graph(6, 3);
    expect(members.filter((m) => next.get(m)!.join() !== g.get(m)!.join()).length).toBeGreaterThan(members.length / 2);
  });
});
