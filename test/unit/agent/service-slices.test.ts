import { describe, expect, it } from "vitest";
import { ServiceSlices } from "../../../agent/networks/service-slices.js";
import type { SubnetLease } from "../../../controlplane/registry/index.js";
import { WeftError } from "../../../proto/values/index.js";

/** A registry whose cache shows claims and releases only when the test says the watch caught up. */
function laggingRegistry() {
  const leases = new Map<string, SubnetLease[]>();
  const calls: string[] = [];
  let failNext = false;
  return {
    calls,
    leases,
    failClaim: () => (failNext = true),
    catchUp: (network: string, lease: SubnetLease | undefined) => leases.set(network, lease ? [lease] : []),
    snapshot: () => ({ subnets: leases }) as never,
    async claimSubnet(network: string, node: string, preferred?: string): Promise<SubnetLease> {
      calls.push(`claim ${network} ${preferred ?? "-"}`);
      if (failNext) {
        failNext = false;
        throw new WeftError("unavailable", "etcd: unreachable");
      }
      return { network, node, cidr: preferred ?? "10.40.7.0/24", since: "" };
    },
    async releaseSubnet(network: string, cidr: string): Promise<void> {
      calls.push(`release ${network} ${cidr}`);
    },
  };
}

function setUp(wanted: Set<string>, local = new Set<string>()) {
  const registry = laggingRegistry();
  const subnets: Record<string, string> = {};
  let changes = 0;
  const slices = new ServiceSlices({
    node: "h1",
    registry,
    wanted: () => wanted,
    hasLocalEndpoints: (n) => local.has(n),
    subnets: () => subnets,
    persist: async () => undefined,
    exclusive: (work) => work(),
    changed: () => void (changes += 1),
    log: () => undefined,
  });
  return { registry, subnets, slices, changes: () => changes };
}

describe("ServiceSlices", () => {
  it("claims a slice for a wanted network and serves it before the registry's cache shows the claim", async () => {
    const { registry, subnets, slices, changes } = setUp(new Set(["blue"]));
    await slices.sync();
    expect(registry.calls).toEqual(["claim blue -"]);
    expect(subnets).toEqual({ blue: "10.40.7.0/24" });
    expect(slices.served()).toEqual(["blue"]);
    expect(slices.holds("blue", "10.40.7.0/24")).toBe(true);
    expect(changes()).toBe(1);
    // Nothing more to do while the claim stands, cached or not.
    await slices.sync();
    registry.catchUp("blue", { network: "blue", cidr: "10.40.7.0/24", node: "h1", since: "" });
    slices.noteLeaseChange("blue");
    await slices.sync();
    expect(registry.calls).toEqual(["claim blue -"]);
  });

  it("retries a failed claim on the next sync, preferring the slice held before", async () => {
    const { registry, subnets, slices } = setUp(new Set(["blue"]));
    subnets["blue"] = "10.40.3.0/24";
    registry.failClaim();
    await slices.sync();
    expect(slices.served()).toEqual([]);
    await slices.sync();
    expect(registry.calls).toEqual(["claim blue 10.40.3.0/24", "claim blue 10.40.3.0/24"]);
    expect(slices.served()).toEqual(["blue"]);
  });

  it("releases a slice no service needs and no local endpoint uses; keeps it otherwise", async () => {
    const wanted = new Set(["blue"]);
    const local = new Set(["red"]);
    const { registry, subnets, slices } = setUp(wanted, local);
    registry.catchUp("blue", { network: "blue", cidr: "10.40.7.0/24", node: "h1", since: "" });
    registry.catchUp("red", { network: "red", cidr: "10.50.1.0/24", node: "h1", since: "" });
    Object.assign(subnets, { blue: "10.40.7.0/24", red: "10.50.1.0/24" });
    expect(slices.keeps("blue")).toBe(true);
    await slices.sync();
    expect(registry.calls).toEqual([]);
    wanted.clear();
    expect(slices.keeps("blue")).toBe(false);
    await slices.sync();
    expect(registry.calls).toEqual(["release blue 10.40.7.0/24"]);
    // The cache still shows the lease until the watch catches up: not released twice, not served.
    await slices.sync();
    expect(registry.calls).toEqual(["release blue 10.40.7.0/24"]);
    expect(slices.served()).toEqual([]);
    // The CIDR stays in the state, to be preferred next time.
    expect(subnets["blue"]).toBe("10.40.7.0/24");
  });
});
