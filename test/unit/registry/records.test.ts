import { describe, expect, it } from "vitest";
import { WeftError } from "../../../proto/values/index.js";
import { parseNetworkRecord, parseNodeRecord, parseSubnetLease } from "../../../controlplane/registry/index.js";

const node = {
  name: "h1",
  underlayIP: "192.168.1.10",
  vtepMAC: "02:00:c0:a8:01:0a",
  gossipAddr: "192.168.1.10:7946",
  publicKey: Buffer.alloc(32, 1).toString("base64"),
  agentVersion: "0.1.0",
};

const network = {
  name: "blue",
  vni: 42,
  subnet: "10.40.0.0/16",
  hostPrefixLen: 24,
  internal: false,
  mode: "overlay",
  attachable: true,
  labels: {},
  createdAt: "2026-01-01T00:00:00.000Z",
};

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WeftError);
    expect((err as WeftError).code).toBe("invalid-argument");
    return (err as WeftError).field;
  }
  throw new Error("expected a rejection");
}

describe("parseNodeRecord", () => {
  it("accepts a valid record from JSON text, bytes or an object", () => {
    expect(parseNodeRecord("/weft/v1/nodes/h1", JSON.stringify(node))).toEqual(node);
    expect(parseNodeRecord("/weft/v1/nodes/h1", Buffer.from(JSON.stringify(node)))).toEqual(node);
    expect(parseNodeRecord("", { ...node, extra: 1 })).toEqual(node);
  });

  it.each([
    ["{not json", "value"],
    ["[1]", "value"],
    ["null", "value"],
    [JSON.stringify({ ...node, name: undefined }), "name"],
    [JSON.stringify({ ...node, name: "other" }), "name"],
    [JSON.stringify({ ...node, underlayIP: "300.1.1.1" }), "underlayIP"],
    [JSON.stringify({ ...node, underlayIP: 5 }), "underlayIP"],
    [JSON.stringify({ ...node, vtepMAC: "02:00:c0:a8:01" }), "vtepMAC"],
    [JSON.stringify({ ...node, vtepMAC: "01:00:5e:00:00:01" }), "vtepMAC"],
    [JSON.stringify({ ...node, gossipAddr: "192.168.1.10" }), "gossipAddr"],
    [JSON.stringify({ ...node, gossipAddr: "h:70000" }), "gossipAddr"],
    [JSON.stringify({ ...node, publicKey: Buffer.alloc(16).toString("base64") }), "publicKey"],
    [JSON.stringify({ ...node, publicKey: "!!!" }), "publicKey"],
    [JSON.stringify({ ...node, agentVersion: "" }), "agentVersion"],
  ])("rejects %s naming %s", (value, field) => {
    expect(fieldOf(() => parseNodeRecord("/weft/v1/nodes/h1", value))).toBe(field);
  });

  it("puts the field first and the key in the message", () => {
    expect(() => parseNodeRecord("/weft/v1/nodes/h1", JSON.stringify({ ...node, underlayIP: "x" }))).toThrow(
      /^underlayIP: .*\(key \/weft\/v1\/nodes\/h1\)$/,
    );
  });
});

describe("parseNetworkRecord", () => {
  it("accepts a valid record", () => {
    expect(parseNetworkRecord("/weft/v1/networks/blue", network)).toEqual(network);
    expect(parseNetworkRecord("/weft/v1/networks/blue", { ...network, mtu: 1450 }).mtu).toBe(1450);
    expect(parseNetworkRecord("/weft/v1/networks/blue", { ...network, internal: true }).internal).toBe(true);
  });

  it("reads a record written before networks could be internal as not internal", () => {
    const { internal: _, ...old } = network;
    expect(parseNetworkRecord("/weft/v1/networks/blue", old).internal).toBe(false);
  });

  it.each([
    [{ ...network, name: "red" }, "name"],
    [{ ...network, vni: 0 }, "vni"],
    [{ ...network, vni: "42" }, "vni"],
    [{ ...network, subnet: "10.40.0.1/16" }, "subnet"],
    [{ ...network, hostPrefixLen: 16 }, "hostPrefixLen"],
    [{ ...network, hostPrefixLen: 31 }, "hostPrefixLen"],
    [{ ...network, mtu: 100 }, "mtu"],
    [{ ...network, mode: "bridge" }, "mode"],
    [{ ...network, attachable: "yes" }, "attachable"],
    [{ ...network, internal: "yes" }, "internal"],
    [{ ...network, labels: { a: 1 } }, "labels"],
    [{ ...network, createdAt: "yesterday" }, "createdAt"],
  ])("rejects %j naming the field", (value, field) => {
    expect(fieldOf(() => parseNetworkRecord("/weft/v1/networks/blue", value))).toBe(field);
  });
});

describe("parseSubnetLease", () => {
  it("takes network and cidr from the key", () => {
    expect(parseSubnetLease("/weft/v1/subnets/blue/10.40.3.0_24", { node: "h1", since: "2026-01-01T00:00:00Z" })).toEqual({
      network: "blue",
      cidr: "10.40.3.0/24",
      node: "h1",
      since: "2026-01-01T00:00:00Z",
    });
  });

  it.each([
    ["/weft/v1/subnets/blue/10.40.3.0_24", { since: "2026-01-01T00:00:00Z" }, "node"],
    ["/weft/v1/subnets/blue/10.40.3.0_24", { node: "h1" }, "since"],
    ["/weft/v1/subnets/blue/10.40.3.0_24", { node: "h1", since: "soon" }, "since"],
    ["/weft/v1/subnets/blue/10.40.3.1_24", { node: "h1", since: "2026-01-01T00:00:00Z" }, "cidr"],
    ["/weft/v1/subnets/blue/10.40.3.0_24", { node: "h1", since: "2026-01-01T00:00:00Z", network: "red" }, "network"],
    ["/weft/v1/subnets/blue/10.40.3.0_24", "garbage", "value"],
  ])("rejects %s %j naming %s", (key, value, field) => {
    expect(fieldOf(() => parseSubnetLease(key, value))).toBe(field);
  });
});
