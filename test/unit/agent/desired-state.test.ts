import { describe, expect, it } from "vitest";
import { buildOverlayPart, overlayMtu } from "../../../agent/desired-state/index.js";
import type { NetworkRecord } from "../../../controlplane/registry/index.js";
import type { EndpointRecord } from "../../../controlplane/gossip/index.js";
import { hostIfNameFor, vtepMacFor } from "../../../dataplane/index.js";
import type { LocalEndpoint } from "../../../agent/state-store.js";
// EndpointRecord.aliases (issue 7, the DNS helper) as a spread: compiles before and after it lands.
const NO_ALIASES = { aliases: [] as readonly string[] };

const network = (name: string, vni: number, subnet: string, mtu?: number): NetworkRecord => ({
  name, vni, subnet, hostPrefixLen: 24, internal: false, mode: "overlay", attachable: true, labels: {}, createdAt: "2026-01-01T00:00:00Z", ...(mtu ? { mtu } : {}),
});
const local = (short: string, net: string, ip: string): LocalEndpoint => ({
  id: fullId(short), name: `c-${short}`, network: net, netns: `ns-${short}`, ifName: "eth0", ip, mac: "02:42:0a:28:01:02", createdAt: "2026-01-01T00:00:00Z",
});
const entry = (owner: string, net: string, id: string, ip: string, vtep: string, tombstone = false): EndpointRecord => ({
  network: net, endpointId: id, owner, version: 1, tombstone, ip, mac: `02:42:00:00:00:${id.padStart(2, "0")}`, vtep, name: id, ...NO_ALIASES, labels: {}, deletedAtMs: 0,
});

// Endpoint ids are 32 hex digits (randomBytes(16)); tests name them by a short tag.
function fullId(short: string): string {
  return Buffer.from(short).toString("hex").padEnd(32, "0");
}

describe("buildOverlayPart", () => {
  const networks = new Map([
    ["blue", network("blue", 42, "10.40.0.0/16")],
    ["red", network("red", 7, "10.50.0.0/16", 1400)],
    ["idle", network("idle", 9, "10.60.0.0/16")],
  ]);

  it("programs only networks with local endpoints, with remote endpoints of other nodes", () => {
    const { overlay: state, skipped } = buildOverlayPart({
      node: "h1",
      underlay: { ip: "10.251.0.1", mtu: 1500 },
      networks,
      localEndpoints: [local("aa", "blue", "10.40.1.2"), local("bb", "red", "10.50.1.2")],
      entries: [
        entry("h2", "blue", "11", "10.40.2.2", "10.251.0.2"),
        entry("h1", "blue", fullId("aa"), "10.40.1.2", "10.251.0.1"),
        entry("h3", "blue", "12", "10.40.3.2", "10.251.0.3", true),
        entry("h3", "idle", "13", "10.60.3.2", "10.251.0.3"),
        entry("h3", "red", "14", "10.50.3.2", "10.251.0.3"),
      ],
    });
    expect(skipped).toEqual([]);
    expect(state.networks.map((n) => n.vni)).toEqual([7, 42]);
    const blue = state.networks.find((n) => n.vni === 42)!;
    expect(blue.vtepMac).toBe(vtepMacFor("h1", 42));
    expect(blue.mtu).toBe(1450);
    expect(blue.localEndpoints).toEqual([
      { id: fullId("aa"), hostIfName: hostIfNameFor(fullId("aa")), netns: "ns-aa", ifName: "eth0", mac: "02:42:0a:28:01:02", ip: "10.40.1.2", prefixLen: 16 },
    ]);
    expect(blue.remoteEndpoints).toEqual([{ ip: "10.40.2.2", mac: "02:42:00:00:00:11", vtep: "10.251.0.2" }]);
    const red = state.networks.find((n) => n.vni === 7)!;
    expect(red.mtu).toBe(1400);
    expect(red.remoteEndpoints).toEqual([{ ip: "10.50.3.2", mac: "02:42:00:00:00:14", vtep: "10.251.0.3" }]);
  });

  it("skips local endpoints whose network is gone and entries that claim this node's VTEP", () => {
    const { overlay: state, skipped } = buildOverlayPart({
      node: "h1",
      underlay: { ip: "10.251.0.1", mtu: 9000 },
      networks,
      localEndpoints: [local("aa", "blue", "10.40.1.2"), local("cc", "deleted", "10.70.1.2")],
      entries: [entry("h2", "blue", "11", "10.40.2.2", "10.251.0.1")],
    });
    expect(state.networks).toHaveLength(1);
    expect(state.networks[0]!.remoteEndpoints).toEqual([]);
    expect(state.networks[0]!.mtu).toBe(8950);
    expect(skipped.map((s) => s.entry)).toEqual(["blue/h2/11"]);
  });

  it("skips invalid gossip entries one by one and lists them, keeping every valid one", () => {
    const { overlay, skipped, remoteEndpoints } = buildOverlayPart({
      node: "h1",
      underlay: { ip: "10.251.0.1", mtu: 1500 },
      networks,
      localEndpoints: [local("aa", "blue", "10.40.1.2")],
      entries: [
        entry("h2", "blue", "11", "10.40.2.2", "::1"),
        { ...entry("h2", "blue", "12", "10.40.2.3", "10.251.0.2"), mac: "01:00:5e:00:00:01" },
        { ...entry("h2", "blue", "13", "10.40.2.4", "10.251.0.2"), ip: "10.40.2" },
        entry("h2", "blue", "14", "10.40.2.5", "10.251.0.2"),
      ],
    });
    expect(skipped.map((s) => [s.entry, s.reason])).toEqual([
      ["blue/h2/11", "vtep is not an IPv4 address"],
      ["blue/h2/12", "mac is not a unicast MAC address"],
      ["blue/h2/13", "ip is not an IPv4 address"],
    ]);
    expect(overlay.networks[0]!.remoteEndpoints).toEqual([{ ip: "10.40.2.5", mac: "02:42:00:00:00:14", vtep: "10.251.0.2" }]);
    expect(remoteEndpoints).toBe(1);
  });

  it("passes each local endpoint's namespace identity on to the dataplane", () => {
    const { overlay } = buildOverlayPart({
      node: "h1",
      underlay: { ip: "10.251.0.1", mtu: 1500 },
      networks,
      localEndpoints: [{ ...local("aa", "blue", "10.40.1.2"), netnsId: { dev: 4, ino: 4026532000 } }],
      entries: [],
    });
    expect(overlay.networks[0]!.localEndpoints[0]!.netnsId).toEqual({ dev: 4, ino: 4026532000 });
  });

  it("never lets a network MTU exceed what the underlay carries", () => {
    expect(overlayMtu(1500, undefined)).toBe(1450);
    expect(overlayMtu(1500, 1400)).toBe(1400);
    expect(overlayMtu(1500, 9000)).toBe(1450);
  });
});
