// The Maglev table: sizes, spread, and how few slots move when a backend comes or goes.
import { describe, expect, it } from "vitest";
import { maglevTable, maglevTableSize } from "../../../controlplane/services/index.js";

/** n backend IPs in IP order. */
const backends = (n: number): string[] => Array.from({ length: n }, (_, i) => `10.40.${i >> 8}.${(i & 255) + 2}`);

/** The fraction of slots whose backend (by name) differs between two tables of the same size. */
function movedFraction(a: readonly string[], ta: number[], b: readonly string[], tb: number[]): number {
  expect(ta.length).toBe(tb.length);
  let moved = 0;
  for (let slot = 0; slot < ta.length; slot++) if (a[ta[slot]!] !== b[tb[slot]!]) moved++;
  return moved / ta.length;
}

describe("maglevTableSize", () => {
  it("uses prime tiers about 20 slots per backend", () => {
    expect([0, 1, 51, 52, 204, 205, 819, 820, 5000].map(maglevTableSize)).toEqual([1021, 1021, 1021, 4093, 4093, 16381, 16381, 65521, 65521]);
  });
});

describe("maglevTable", () => {
  it("is empty without backends, and refuses a size that is not prime", () => {
    expect(maglevTable([], 1021)).toEqual([]);
    expect(() => maglevTable(["10.0.0.1"], 1000)).toThrow(/size: 1000 must be a prime/);
    expect(() => maglevTable(["10.0.0.1"], 1)).toThrow(/size/);
  });

  it("fills every slot with a backend index, the same on every call", () => {
    const list = backends(7);
    const table = maglevTable(list, 1021);
    expect(table).toHaveLength(1021);
    expect(table.every((i) => Number.isInteger(i) && i >= 0 && i < 7)).toBe(true);
    expect(maglevTable([...list], 1021)).toEqual(table);
    expect(maglevTable(["10.0.0.1"], 1021).every((i) => i === 0)).toBe(true);
  });

  it("gives each backend within one slot of size/n", () => {
    for (const n of [2, 3, 4, 10, 51, 100, 204, 819]) {
      const size = maglevTableSize(n);
      const counts = new Array<number>(n).fill(0);
      for (const i of maglevTable(backends(n), size)) counts[i]!++;
      expect(Math.min(...counts), `n=${n}`).toBeGreaterThanOrEqual(Math.floor(size / n));
      expect(Math.max(...counts), `n=${n}`).toBeLessThanOrEqual(Math.ceil(size / n));
    }
  });

  it("moves about 1/n of the slots when one of n backends is added or removed, wherever it sorts", () => {
    // Maglev moves a little more than the ideal 1/n: at most 2 points more here, growing with
    // n / size (about 3 points at 10 backends, 6 at 50, at 1021 slots).
    for (let n = 2; n <= 8; n++) {
      const size = maglevTableSize(n + 1);
      const all = backends(n + 1);
      for (let gone = 0; gone <= n; gone++) {
        const fewer = all.filter((_, i) => i !== gone);
        const moved = movedFraction(fewer, maglevTable(fewer, size), all, maglevTable(all, size));
        expect(moved, `n=${n}, backend ${gone} added`).toBeLessThanOrEqual(1 / n + 0.02);
        expect(moved, `n=${n}, backend ${gone} removed`).toBeGreaterThanOrEqual(1 / (n + 1) - 0.01);
      }
    }
    for (const n of [10, 20, 50]) {
      const size = maglevTableSize(n + 1);
      const all = backends(n + 1);
      const fewer = all.slice(1);
      expect(movedFraction(fewer, maglevTable(fewer, size), all, maglevTable(all, size)), `n=${n}`).toBeLessThanOrEqual(1 / n + 0.06);
    }
  });
});
