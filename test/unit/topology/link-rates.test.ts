import { describe, expect, it } from "vitest";
import { linkKey, linkRate, linkRates } from "../../../agent/topology/link-rates.js";
import { link } from "./fixtures.js";

describe("link rates", () => {
  it("divides each counter's growth by the time between the readings", () => {
    const before = link("h1", "vxlan", "weft-vx42", 1000);
    const after = { ...before, rxBytes: 4000, txBytes: 2000, rxPackets: 40, txPackets: 20 };
    expect(linkRate(before, after, 1500)).toEqual({ rxBytesPerSec: 2000, txBytesPerSec: 0, rxPacketsPerSec: 20, txPacketsPerSec: 0 });
  });

  it("has no rate without an earlier reading, without elapsed time, or when a counter went backwards (interface recreated)", () => {
    const l = link("h1", "endpoint", "weft-abc", 1000);
    expect(linkRate(undefined, l, 1000)).toBeUndefined();
    expect(linkRate(l, l, 0)).toBeUndefined();
    expect(linkRate(l, l, -5)).toBeUndefined();
    expect(linkRate(l, { ...l, txBytes: 5 }, 1000)).toBeUndefined();
  });

  it("matches links by host, kind, name and peer", () => {
    const toH2 = link("h1", "peer", "weft-vx42", 100, { peer: "h2" });
    const toH3 = link("h1", "peer", "weft-vx42", 100, { peer: "h3" });
    const onH2 = link("h2", "peer", "weft-vx42", 100, { peer: "h1" });
    expect(new Set([toH2, toH3, onH2].map(linkKey)).size).toBe(3);
    const rates = linkRates({ atMs: 0, links: [toH2, toH3, onH2] }, { atMs: 1000, links: [{ ...toH2, rxBytes: 600 }, toH3, { ...onH2, rxBytes: 1100 }] });
    expect(rates.get(linkKey(toH2))?.rxBytesPerSec).toBe(500);
    expect(rates.get(linkKey(toH3))?.rxBytesPerSec).toBe(0);
    expect(rates.get(linkKey(onH2))?.rxBytesPerSec).toBe(1000);
  });

  it("has no rates on the first reading, and none for a link that just appeared", () => {
    const a = link("h1", "endpoint", "weft-a", 10);
    expect(linkRates(undefined, { atMs: 1000, links: [a] }).size).toBe(0);
    const b = link("h1", "endpoint", "weft-b", 10);
    const rates = linkRates({ atMs: 0, links: [a] }, { atMs: 1000, links: [a, b] });
    expect([...rates.keys()]).toEqual([linkKey(a)]);
  });
});
