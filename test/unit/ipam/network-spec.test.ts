import { describe, expect, it } from "vitest";
import { WeftError } from "../../../proto/values/index.js";
import { validateNetworkSpec, type NetworkSpec } from "../../../controlplane/network-spec.js";

function rejection(spec: unknown): WeftError {
  try {
    validateNetworkSpec(spec as NetworkSpec);
  } catch (err) {
    expect(err).toBeInstanceOf(WeftError);
    return err as WeftError;
  }
  throw new Error(`expected ${JSON.stringify(spec)} to be rejected`);
}

describe("validateNetworkSpec", () => {
  it("accepts a minimal spec and fills in defaults", () => {
    expect(validateNetworkSpec({ name: "blue", subnet: "10.40.0.0/16" })).toEqual({
      name: "blue",
      subnet: "10.40.0.0/16",
      hostPrefixLen: 24,
      labels: {},
    });
  });

  it("keeps vni, mtu and labels when valid", () => {
    expect(validateNetworkSpec({ name: "a.b_c-1", subnet: "10.0.0.0/8", vni: 16777215, mtu: 9000, hostPrefixLen: 30, labels: { team: "x" } }))
      .toEqual({ name: "a.b_c-1", subnet: "10.0.0.0/8", vni: 16777215, mtu: 9000, hostPrefixLen: 30, labels: { team: "x" } });
  });

  it.each([
    [8, 24],
    [16, 24],
    [20, 28],
    [22, 30],
    [24, 30],
    [28, 30],
  ])("defaults hostPrefixLen for a /%i subnet to /%i", (prefix, expected) => {
    const base = prefix === 8 ? "10.0.0.0" : "10.64.0.0";
    expect(validateNetworkSpec({ name: "n", subnet: `${base}/${prefix}` }).hostPrefixLen).toBe(expected);
  });

  it.each([
    ["", "name"],
    ["-lead", "name"],
    ["has space", "name"],
    ["x".repeat(64), "name"],
    [42, "name"],
  ])("rejects name %j", (name, field) => {
    const err = rejection({ name, subnet: "10.0.0.0/16" });
    expect(err.code).toBe("invalid-argument");
    expect(err.field).toBe(field);
    expect(err.message.startsWith(`${field}: `)).toBe(true);
  });

  it("accepts a 63-character name", () => {
    expect(validateNetworkSpec({ name: "x".repeat(63), subnet: "10.0.0.0/16" }).name).toHaveLength(63);
  });

  it.each([
    ["10.0.0.0/33", "is not an IPv4 CIDR"],
    ["10.0.0.0", "is not an IPv4 CIDR"],
    ["10.0.0/16", "is not an IPv4 CIDR"],
    ["fd00::/64", "is not an IPv4 CIDR"],
    ["10.0.0.0/016", "is not an IPv4 CIDR"],
    ["256.0.0.0/16", "is not an IPv4 CIDR"],
    ["10.0.0.0/7", "prefix length"],
    ["10.0.0.0/29", "prefix length"],
  ])("rejects subnet %s", (subnet, reason) => {
    const err = rejection({ name: "n", subnet });
    expect(err.field).toBe("subnet");
    expect(err.message).toContain(reason);
    expect(err.message.startsWith("subnet: ")).toBe(true);
  });

  it("names the exact message for a non-CIDR", () => {
    expect(rejection({ name: "n", subnet: "10.0.0.0/33" }).message).toBe('subnet: "10.0.0.0/33" is not an IPv4 CIDR');
  });

  it("tells the canonical form when host bits are set", () => {
    const err = rejection({ name: "n", subnet: "10.1.2.3/16" });
    expect(err.field).toBe("subnet");
    expect(err.message).toContain('"10.1.0.0/16"');
  });

  it.each([0, -1, 16777216, 1.5, "42"])("rejects vni %j", (vni) => {
    const err = rejection({ name: "n", subnet: "10.0.0.0/16", vni });
    expect(err.field).toBe("vni");
    expect(err.message.startsWith("vni: ")).toBe(true);
  });

  it.each([16, 15, 31, 32, 24.5])("rejects hostPrefixLen %j for a /16", (hostPrefixLen) => {
    const err = rejection({ name: "n", subnet: "10.0.0.0/16", hostPrefixLen });
    expect(err.field).toBe("hostPrefixLen");
  });

  it.each([575, 9001, 1500.5, "1500"])("rejects mtu %j", (mtu) => {
    expect(rejection({ name: "n", subnet: "10.0.0.0/16", mtu }).field).toBe("mtu");
  });

  it("accepts mtu at both ends of the range", () => {
    expect(validateNetworkSpec({ name: "n", subnet: "10.0.0.0/16", mtu: 576 }).mtu).toBe(576);
    expect(validateNetworkSpec({ name: "n", subnet: "10.0.0.0/16", mtu: 9000 }).mtu).toBe(9000);
  });

  it("rejects labels that are not string maps, naming the label", () => {
    expect(rejection({ name: "n", subnet: "10.0.0.0/16", labels: { a: 1 } }).field).toBe("labels.a");
    expect(rejection({ name: "n", subnet: "10.0.0.0/16", labels: ["a"] }).field).toBe("labels");
  });
});
