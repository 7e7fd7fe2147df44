// Subnet leases against a real etcd: racing claimers never share a slice, a full network says so,
// and a restarting node gets its slice back.
import { describe, expect, it } from "vitest";
import { WeftError } from "../../proto/values/index.js";
import { type Registry } from "../../controlplane/registry/index.js";
import { etcdctl, etcdForFile } from "../helpers/etcd.js";

const etcd = etcdForFile();
const registry = (prefix: string): Registry => etcd.registry({ prefix });

describe("claimSubnet against etcd", () => {
  it("gives 20 racing clients 20 different slices", async () => {
    const admin = registry("/race");
    await admin.createNetwork({ name: "blue", subnet: "10.20.0.0/16", hostPrefixLen: 24 });
    const clients = Array.from({ length: 20 }, () => registry("/race"));
    const leases = await Promise.all(clients.map((c, i) => c.claimSubnet("blue", `node-${i}`)));
    expect(new Set(leases.map((l) => l.cidr)).size).toBe(20);
    expect(leases.map((l) => l.node).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `node-${i}`).sort());
    const stored = (await etcdctl(etcd.endpoint, "get", "--prefix", "--keys-only", "/race/subnets/blue/")).split("\n").filter(Boolean);
    expect(stored).toHaveLength(20);
  });

  it("gives resource-exhausted, never a shared slice, when 20 clients race for 3 slices", async () => {
    const admin = registry("/full");
    // Four /26 slices, the last reserved for service VIPs.
    await admin.createNetwork({ name: "tiny", subnet: "10.30.0.0/24", hostPrefixLen: 26 });
    const clients = Array.from({ length: 20 }, () => registry("/full"));
    const results = await Promise.allSettled(clients.map((c, i) => c.claimSubnet("tiny", `node-${i}`)));
    const won = results.filter((r) => r.status === "fulfilled").map((r) => (r as PromiseFulfilledResult<{ cidr: string }>).value.cidr);
    const lost = results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason as unknown);
    expect(won.sort()).toEqual(["10.30.0.0/26", "10.30.0.128/26", "10.30.0.64/26"]);
    expect(lost).toHaveLength(17);
    for (const err of lost) {
      expect(err).toBeInstanceOf(WeftError);
      expect((err as WeftError).code).toBe("resource-exhausted");
    }
  });

  it("returns the existing lease, and honours the preferred slice after a restart", async () => {
    const first = registry("/restart");
    await first.createNetwork({ name: "green", subnet: "10.40.0.0/16" });
    const lease = await first.claimSubnet("green", "h1", "10.40.7.0/24");
    expect(lease.cidr).toBe("10.40.7.0/24");
    await first.close();

    const again = registry("/restart");
    expect((await again.claimSubnet("green", "h1")).cidr).toBe("10.40.7.0/24");
    expect((await again.claimSubnet("green", "h1", "10.40.9.0/24")).cidr).toBe("10.40.7.0/24");

    // The lease record is gone (e.g. released), but the agent's state dir still remembers its slice.
    await again.releaseSubnet("green", "10.40.7.0/24", "h1");
    expect((await again.claimSubnet("green", "h1", "10.40.7.0/24")).cidr).toBe("10.40.7.0/24");
    // A preferred slice held by someone else is not taken from them.
    expect((await again.claimSubnet("green", "h2", "10.40.7.0/24")).cidr).not.toBe("10.40.7.0/24");
    // A stale preference that is not a slice of this network is ignored.
    expect((await again.claimSubnet("green", "h3", "192.168.0.0/24")).cidr).toMatch(/^10\.40\./);
  });

  it("reclaims the slice of a node gone longer than the reclaim period when the network is full", async () => {
    const admin = etcd.registry({ prefix: "/reclaim", reclaimAfterMs: 0 });
    await admin.createNetwork({ name: "small", subnet: "10.50.0.0/24", hostPrefixLen: 26 });
    // Three slices a node may hold (the fourth is the service slice), first come first served: with a
    // reclaim period of 0, a later claimer reclaims from nodes without a record only once it is full.
    await admin.claimSubnet("small", "gone-1");
    await admin.claimSubnet("small", "gone-2");
    await admin.claimSubnet("small", "gone-3");
    const lease = await admin.claimSubnet("small", "fresh");
    expect(["10.50.0.0/26", "10.50.0.64/26", "10.50.0.128/26"]).toContain(lease.cidr);
    const patient = registry("/reclaim"); // default reclaim period: 1 h
    await expect(patient.claimSubnet("small", "other")).rejects.toMatchObject({ code: "resource-exhausted" });
  });

  it("refuses releasing a slice held by another node, and unknown networks", async () => {
    const r = registry("/release");
    await r.createNetwork({ name: "red", subnet: "10.60.0.0/16" });
    const lease = await r.claimSubnet("red", "a");
    await expect(r.releaseSubnet("red", lease.cidr, "b")).rejects.toMatchObject({ code: "failed-precondition", field: "node" });
    // Slices are chosen at random, so name one that is certainly not the one just claimed.
    const unleased = lease.cidr === "10.60.200.0/24" ? "10.60.201.0/24" : "10.60.200.0/24";
    await expect(r.releaseSubnet("red", unleased, "a")).rejects.toMatchObject({ code: "not-found" });
    await expect(r.claimSubnet("nope", "a")).rejects.toMatchObject({ code: "not-found", field: "network" });
  });
});
