import { describe, expect, it } from "vitest";
import { buildFirewallPart } from "../../../agent/desired-state/index.js";
import type { NodeRecord } from "../../../controlplane/registry/index.js";

const node = (name: string, underlayIP: string): NodeRecord => ({ name, underlayIP, vtepMAC: "", gossipAddr: "", publicKey: "", agentVersion: "" });

describe("buildFirewallPart peers", () => {
  it("lists the other members' underlay addresses, this node (and its address) excluded, one per address", () => {
    const part = buildFirewallPart({
      underlayIface: "eth0",
      networks: [],
      slice: () => undefined,
      nodes: [node("h3", "10.0.0.3"), node("h1", "10.0.0.1"), node("h2", "10.0.0.2"), node("h2-stale", "10.0.0.2"), node("h1-old", "10.0.0.1"), node("bad", "nope")],
      self: { node: "h1", underlayIp: "10.0.0.1" },
    });
    expect(part.peers).toEqual([
      { node: "h2", underlayIp: "10.0.0.2" },
      { node: "h3", underlayIp: "10.0.0.3" },
    ]);
  });

  it("has no peers field when there are no other members", () => {
    expect(buildFirewallPart({ underlayIface: "eth0", networks: [], slice: () => undefined })).not.toHaveProperty("peers");
  });
});
