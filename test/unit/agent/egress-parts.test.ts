// Issue 7's pure parts: egress legs and their addresses, the egress and firewall parts of the desired
// state, the overlay gateway, the egress subnet's route check, aliases, and DNS records and zones.
import { describe, expect, it } from "vitest";
import { buildEgressPart, buildFirewallPart, buildOverlayPart } from "../../../agent/desired-state/index.js";
import { allocateEgressLeg, egressBridgeAddress, reassignEgressLegs } from "../../../agent/endpoints/egress-allocation.js";
import { parseAliases } from "../../../agent/endpoints/endpoint-lifecycle.js";
import { localView } from "../../../agent/endpoints/endpoint-view.js";
import { egressRouteConflict, parseIpRouteJson } from "../../../agent/egress-subnet.js";
import { dnsZones } from "../../../agent/names/dns-records.js";
import { gatewayCidr, gatewayIp } from "../../../agent/networks/gateway.js";
import type { LocalEndpoint } from "../../../agent/state-store.js";
import type { NetworkRecord } from "../../../controlplane/registry/index.js";
import { WeftError } from "../../../proto/values/index.js";

const network = (name: string, vni: number, subnet: string, internal = false): NetworkRecord => ({
  name, vni, subnet, hostPrefixLen: 24, internal, mode: "overlay", attachable: true, labels: {}, createdAt: "2026-01-01T00:00:00Z",
});
const id = (tag: string): string => Buffer.from(tag).toString("hex").padEnd(32, "0");
const local = (tag: string, net: string, ip: string, extra: Partial<LocalEndpoint> = {}): LocalEndpoint => ({
  id: id(tag), name: tag, network: net, netns: `ns-${tag}`, ifName: "eth0", ip, mac: "02:42:0a:28:01:02", createdAt: "2026-01-01T00:00:00Z", ...extra,
});
const networks = new Map([
  ["blue", network("blue", 42, "10.40.0.0/16")],
  ["vault", network("vault", 7, "10.50.0.0/16", true)],
]);

describe("egress legs", () => {
  it("takes addresses from .2 up (the subnet's first address is the bridge's) and eth1 unless taken", () => {
    const a = allocateEgressLeg("172.18.0.0/16", [], "ns-a", "eth0");
    expect(a).toEqual({ ifName: "eth1", ip: "172.18.0.2", mac: "02:42:ac:12:00:02" });
    const b = allocateEgressLeg("172.18.0.0/16", [local("a", "blue", "10.40.1.2", { egress: a! })], "ns-b", "eth1");
    expect(b).toEqual({ ifName: "eth2", ip: "172.18.0.3", mac: "02:42:ac:12:00:03" });
    expect(egressBridgeAddress("172.18.0.0/16")).toBe("172.18.0.1/16");
  });

  it("gives a namespace one leg: a second endpoint in it gets none", () => {
    const first = local("a", "blue", "10.40.1.2", { egress: { ifName: "eth1", ip: "172.18.0.2", mac: "02:42:ac:12:00:02" } });
    expect(allocateEgressLeg("172.18.0.0/16", [first], "ns-a", "eth2")).toBeUndefined();
  });

  it("says the subnet is full, naming egress", () => {
    const full = [2, 3, 4, 5, 6].map((n) => local(`e${n}`, "blue", `10.40.1.${n}`, { egress: { ifName: "eth1", ip: `172.18.0.${n}`, mac: "02:42:ac:12:00:02" } }));
    const err = (() => {
      try {
        allocateEgressLeg("172.18.0.0/29", full, "ns-new", "eth0");
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(WeftError);
    expect((err as WeftError).field).toBe("egress");
  });

  it("moves legs outside a changed egress subnet into it", () => {
    const endpoints = [local("a", "blue", "10.40.1.2", { egress: { ifName: "eth1", ip: "172.18.0.2", mac: "02:42:ac:12:00:02" } })];
    expect(reassignEgressLegs("172.30.0.0/16", endpoints)).toBe(1);
    expect(endpoints[0]!.egress).toEqual({ ifName: "eth1", ip: "172.30.0.2", mac: "02:42:ac:1e:00:02" });
    expect(reassignEgressLegs("172.30.0.0/16", endpoints)).toBe(0);
  });
});

describe("the egress part", () => {
  it("has the bridge and a leg per endpoint with one, none for internal networks, default route via the bridge", () => {
    const endpoints = [
      local("a", "blue", "10.40.1.2", { egress: { ifName: "eth1", ip: "172.18.0.2", mac: "02:42:ac:12:00:02" }, netnsId: { dev: 1, ino: 2 } }),
      local("v", "vault", "10.50.1.2", { egress: { ifName: "eth1", ip: "172.18.0.3", mac: "02:42:ac:12:00:03" } }),
      local("b", "blue", "10.40.1.3"),
    ];
    const part = buildEgressPart({ subnet: "172.18.0.0/16", mtu: 1450, networks, localEndpoints: endpoints });
    expect(part.bridge).toEqual({ name: "weft_gwbridge", address: "172.18.0.1/16", mtu: 1450 });
    expect(part.legs).toHaveLength(1);
    expect(part.legs[0]).toMatchObject({ endpointId: id("a"), netns: "ns-a", netnsId: { dev: 1, ino: 2 }, ifName: "eth1", ip: "172.18.0.2/16", mac: "02:42:ac:12:00:02", gateway: "172.18.0.1" });
    expect(part.legs[0]!.hostIfName).toHaveLength(15);
  });
});

describe("the firewall part and the overlay gateway", () => {
  it("lists each programmed network with this host's gateway address, internal flag and bridge", () => {
    const slices: Record<string, string> = { blue: "10.40.3.0/24", vault: "10.50.9.0/24" };
    const part = buildFirewallPart({
      underlayIface: "ul0",
      egress: { bridge: "weft_gwbridge", subnet: "172.18.0.0/16" },
      networks: [networks.get("blue")!, networks.get("vault")!],
      slice: (n) => slices[n],
    });
    expect(part).toEqual({
      underlayIface: "ul0",
      egress: { bridge: "weft_gwbridge", subnet: "172.18.0.0/16" },
      networks: [
        { name: "vault", vni: 7, bridge: "weft-br7", subnet: "10.50.0.0/16", gatewayIp: "10.50.9.1", internal: true },
        { name: "blue", vni: 42, bridge: "weft-br42", subnet: "10.40.0.0/16", gatewayIp: "10.40.3.1", internal: false },
      ],
      dnsPort: 53,
    });
  });

  it("puts the gateway on the bridge with the network's prefix length", () => {
    expect(gatewayIp("10.40.3.0/24")).toBe("10.40.3.1");
    expect(gatewayCidr("10.40.3.0/24", "10.40.0.0/16")).toBe("10.40.3.1/16");
    const part = buildOverlayPart({
      node: "h1", underlay: { ip: "10.251.0.1", mtu: 1500 }, networks, localEndpoints: [local("a", "blue", "10.40.3.2")], entries: [], slice: () => "10.40.3.0/24",
    });
    expect((part.overlay.networks[0] as { gateway?: string }).gateway).toBe("10.40.3.1/16");
  });
});

describe("the egress subnet", () => {
  const routes = parseIpRouteJson(JSON.stringify([
    { dst: "default", gateway: "192.0.2.1", dev: "eth0" },
    { dst: "192.0.2.0/24", dev: "eth0" },
    { dst: "172.18.0.0/16", dev: "weft_gwbridge" },
    { dst: "10.9.9.9", dev: "tun0" },
  ]));
  it("is refused when it overlaps a host route, not for the default route or weft's own bridge", () => {
    expect(egressRouteConflict("172.18.0.0/16", routes)).toBeUndefined();
    expect(egressRouteConflict("192.0.0.0/16", routes)).toEqual({ dst: "192.0.2.0/24", dev: "eth0" });
    expect(egressRouteConflict("10.9.0.0/16", routes)).toEqual({ dst: "10.9.9.9", dev: "tun0" });
  });
});

describe("aliases", () => {
  it("are names, deduplicated, without the endpoint's own, at most 16", () => {
    expect(parseAliases(["web", "web", "c1", "api"], "c1")).toEqual(["web", "api"]);
    for (const bad of [["bad name"], [""], ["x".repeat(64)], Array.from({ length: 17 }, (_, i) => `a${i}`)]) {
      expect(() => parseAliases(bad, "c1")).toThrow(WeftError);
      try {
        parseAliases(bad, "c1");
      } catch (err) {
        expect((err as WeftError).field).toBe("aliases");
      }
    }
  });
});

describe("DNS zones", () => {
  it("serves each programmed network whose slice is known, on its gateway address", () => {
    expect(dnsZones(["blue", "red"], (n) => (n === "blue" ? "10.40.1.0/24" : undefined))).toEqual([{ network: "blue", listen: "10.40.1.1" }]);
  });
});

describe("the attach result", () => {
  it("has the gateway, MTU, both interfaces and the resolver", () => {
    const endpoint = local("a", "blue", "10.40.3.2", { aliases: ["web"], egress: { ifName: "eth1", ip: "172.18.0.2", mac: "02:42:ac:12:00:02" } });
    const view = localView(endpoint, { node: "h1", vtep: "10.251.0.1", underlayMtu: 1500, egressPrefix: 16, network: (n) => networks.get(n), slice: () => "10.40.3.0/24" });
    expect(view).toMatchObject({
      ip: "10.40.3.2",
      gateway: "10.40.3.1",
      mtu: 1450,
      aliases: ["web"],
      interfaces: [
        { name: "eth0", mac: "02:42:0a:28:01:02", ip: "10.40.3.2/16" },
        { name: "eth1", mac: "02:42:ac:12:00:02", ip: "172.18.0.2/16" },
      ],
      dns: { nameservers: ["10.40.3.1"], search: ["blue"] },
    });
  });
});
