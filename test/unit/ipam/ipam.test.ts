import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cidrsOverlap, macForAddress, parseIPv4Cidr, prefixLength, sliceContains, WeftError } from "../../../proto/values/index.js";
import { allocateAddress, chooseSubnetSlice, subnetSlices } from "../../../controlplane/ipam/index.js";

describe("chooseSubnetSlice", () => {
  it("picks the lowest free slice without a random source", () => {
    expect(chooseSubnetSlice("10.40.0.0/16", 24, new Set())).toBe("10.40.0.0/24");
    expect(chooseSubnetSlice("10.40.0.0/16", 24, new Set(["10.40.0.0/24", "10.40.1.0/24"]))).toBe("10.40.2.0/24");
  });

  it("returns undefined when every slice is taken", () => {
    const all = new Set(subnetSlices("10.0.0.0/24", 26));
    expect([...all]).toEqual(["10.0.0.0/26", "10.0.0.64/26", "10.0.0.128/26", "10.0.0.192/26"]);
    expect(chooseSubnetSlice("10.0.0.0/24", 26, all)).toBeUndefined();
  });

  it("starts at a random slice and wraps around", () => {
    expect(chooseSubnetSlice("10.0.0.0/24", 26, new Set(), () => 0.99)).toBe("10.0.0.192/26");
    expect(chooseSubnetSlice("10.0.0.0/24", 26, new Set(["10.0.0.192/26"]), () => 0.99)).toBe("10.0.0.0/26");
  });

  it("always returns a free slice of the right size inside the network (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 15 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (takenMask, r) => {
        const slices = [...subnetSlices("172.16.0.0/24", 28)];
        const taken = new Set(slices.filter((_, i) => (takenMask >> i) & 1));
        const chosen = chooseSubnetSlice("172.16.0.0/24", 28, taken, () => r);
        expect(chosen).toBeDefined();
        expect(taken.has(chosen!)).toBe(false);
        expect(slices).toContain(chosen);
      }),
    );
  });

  it("rejects a host prefix shorter than the network or longer than /30", () => {
    expect(() => chooseSubnetSlice("10.0.0.0/16", 15, new Set())).toThrow(/hostPrefixLen/);
    expect(() => chooseSubnetSlice("10.0.0.0/16", 31, new Set())).toThrow(/hostPrefixLen/);
    expect(() => chooseSubnetSlice("10.0.0.1/16", 24, new Set())).toThrow(/subnet/);
  });
});

describe("allocateAddress", () => {
  it("skips the network address, the gateway and the broadcast address", () => {
    expect(allocateAddress("10.40.1.0/24", new Set())).toBe("10.40.1.2");
    expect(allocateAddress("10.40.1.0/24", new Set(["10.40.1.2", "10.40.1.3"]))).toBe("10.40.1.4");
  });

  it("hands out exactly the 253 usable addresses of a /24, then says the slice is full", () => {
    const used = new Set<string>();
    for (let i = 0; i < 253; i++) used.add(allocateAddress("10.40.1.0/24", used));
    expect(used.has("10.40.1.0")).toBe(false);
    expect(used.has("10.40.1.1")).toBe(false);
    expect(used.has("10.40.1.255")).toBe(false);
    expect(used.has("10.40.1.254")).toBe(true);
    let err: unknown;
    try {
      allocateAddress("10.40.1.0/24", used);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WeftError);
    expect(err).toMatchObject({ code: "resource-exhausted", field: "ip", message: "ip: subnet slice 10.40.1.0/24 is full" });
  });

  it("has exactly one address in a /30", () => {
    expect(allocateAddress("10.0.0.4/30", new Set())).toBe("10.0.0.6");
    expect(() => allocateAddress("10.0.0.4/30", new Set(["10.0.0.6"]))).toThrow("ip: subnet slice 10.0.0.4/30 is full");
  });

  it("fills a gap left by a released address", () => {
    expect(allocateAddress("10.0.0.0/29", new Set(["10.0.0.2", "10.0.0.4"]))).toBe("10.0.0.3");
  });
});

describe("macForAddress", () => {
  it("is 02:42 followed by the address bytes", () => {
    expect(macForAddress("10.40.1.2")).toBe("02:42:0a:28:01:02");
    expect(macForAddress("255.0.16.1")).toBe("02:42:ff:00:10:01");
  });

  it("rejects what is not an IPv4 address", () => {
    expect(() => macForAddress("10.0.0")).toThrow(/^ip: /);
  });
});

describe("CIDR helpers", () => {
  it("sliceContains and prefixLength", () => {
    expect(sliceContains("10.40.1.0/24", "10.40.1.200")).toBe(true);
    expect(sliceContains("10.40.1.0/24", "10.40.1.7/24")).toBe(true);
    expect(sliceContains("10.40.1.0/24", "10.40.2.1")).toBe(false);
    expect(prefixLength("10.40.0.0/16")).toBe(16);
    expect(prefixLength("10.40.1.5/24")).toBe(24);
  });

  it("cidrsOverlap", () => {
    const c = (s: string) => parseIPv4Cidr(s);
    expect(cidrsOverlap(c("10.0.0.0/8"), c("10.5.0.0/16"))).toBe(true);
    expect(cidrsOverlap(c("10.5.0.0/16"), c("10.0.0.0/8"))).toBe(true);
    expect(cidrsOverlap(c("10.5.0.0/16"), c("10.6.0.0/16"))).toBe(false);
    expect(cidrsOverlap(c("192.168.0.0/24"), c("192.168.0.128/25"))).toBe(true);
  });
});
