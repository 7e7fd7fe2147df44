// Gossip membership needs both signals to drop a node: no etcd record AND not answering gossip.
import { describe, expect, it } from "vitest";
import { decideMembership, type GossipLiveness } from "../../../agent/peers/membership.js";
import type { NodeRecord } from "../../../controlplane/registry/index.js";

const node = (name: string, ip: string): NodeRecord => ({
  name, underlayIP: ip, vtepMAC: "02:00:00:00:00:01", gossipAddr: `${ip}:7946`, publicKey: "", agentVersion: "0.1.0",
});

describe("decideMembership", () => {
  const h2 = node("h2", "10.0.0.2");
  const h3 = node("h3", "10.0.0.3");

  it("admits every node with a record but itself", () => {
    const m = decideMembership({ self: "h1", records: new Map([["h1", node("h1", "10.0.0.1")], ["h2", h2]]), previous: new Map(), liveness: () => undefined });
    expect([...m.members.keys()]).toEqual(["h2"]);
  });

  it.each<[GossipLiveness, boolean]>([
    ["alive", true],
    ["suspect", false],
    ["dead", false],
    [undefined, false],
  ])("a member whose record went away and whose gossip is %s is kept: %s", (liveness, kept) => {
    const m = decideMembership({ self: "h1", records: new Map([["h3", h3]]), previous: new Map([["h2", h2], ["h3", h3]]), liveness: () => liveness });
    expect(m.members.has("h2")).toBe(kept);
    expect(m.members.get("h2")).toEqual(kept ? h2 : undefined);
    expect(m.departed.map((d) => d.name)).toEqual(kept ? [] : ["h2"]);
    expect(m.keptWithoutRecord).toEqual(kept ? ["h2"] : []);
  });

  it("a suspect node with a record stays (a blip on the underlay is not a death)", () => {
    const m = decideMembership({ self: "h1", records: new Map([["h2", h2]]), previous: new Map([["h2", h2]]), liveness: () => "suspect" });
    expect([...m.members.keys()]).toEqual(["h2"]);
  });

  it("a node back in etcd takes its new record", () => {
    const moved = node("h2", "10.0.0.22");
    const m = decideMembership({ self: "h1", records: new Map([["h2", moved]]), previous: new Map([["h2", h2]]), liveness: () => "alive" });
    expect(m.members.get("h2")?.underlayIP).toBe("10.0.0.22");
  });
});
