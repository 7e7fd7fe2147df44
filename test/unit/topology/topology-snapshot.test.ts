import { describe, expect, it } from "vitest";
import { buildTopologySnapshot, type TopologyInput } from "../../../agent/topology/topology-snapshot.js";
import { linkKey } from "../../../agent/topology/link-rates.js";
import { ENDPOINTS, NETWORK, PEERS, SERVICES, endpoint, link } from "./fixtures.js";

const base: TopologyInput = { self: { name: "h1", underlayIp: "10.251.0.1" }, nowMs: 5000, peers: PEERS, networks: [NETWORK], endpoints: ENDPOINTS, services: SERVICES };

describe("topology snapshot", () => {
  it("lists this host first, then its peers with their state and underlay address", () => {
    const s = buildTopologySnapshot(base);
    expect(s.node).toBe("h1");
    expect(s.hosts.map((h) => [h.name, h.state, h.underlayIp, h.endpoints])).toEqual([
      ["h1", "self", "10.251.0.1", 2],
      ["h2", "alive", "10.251.0.2", 1],
      ["h3", "suspect", "10.251.0.3", 0],
    ]);
    expect(s.hosts[1]!.lastSeenMs).toBe(1000);
  });

  it("puts endpoints on their host, sorted by host, network and IP numerically", () => {
    const s = buildTopologySnapshot(base);
    expect(s.endpoints.map((e) => [e.host, e.name, e.ip])).toEqual([
      ["h1", "c3", "10.40.0.9"],
      ["h1", "c1", "10.40.0.10"],
      ["h2", "c2", "10.40.1.2"],
    ]);
    expect(s.networks).toEqual([{ name: "weft-lab", vni: 42, subnet: "10.40.0.0/16", internal: false, hosts: ["h1", "h2"] }]);
  });

  it("shows a node known only as an endpoint's owner as unknown, at the endpoint's VTEP", () => {
    const s = buildTopologySnapshot({ ...base, endpoints: [...ENDPOINTS, { ...endpoint("e9", "c9", "h9", "10.40.9.2"), vtep: "10.251.0.9" }] });
    expect(s.hosts.find((h) => h.name === "h9")).toEqual({ name: "h9", underlayIp: "10.251.0.9", state: "unknown", endpoints: 1, trafficUnreachable: false });
  });

  it("gives services their backends with the host each runs on", () => {
    const s = buildTopologySnapshot(base);
    expect(s.services).toEqual([
      {
        name: "web",
        network: "weft-lab",
        mode: "vip",
        vip: "10.40.255.1",
        ports: [{ protocol: "tcp", published: 8080, target: 80, publishMode: "ingress" }],
        backends: [
          { endpointId: "e3h1", name: "c3", ip: "10.40.0.9", host: "h1" },
          { endpointId: "e2h2", name: "c2", ip: "10.40.1.2", host: "h2" },
        ],
      },
    ]);
  });

  it("carries each link's counters with its rate since the previous reading, and the hosts that did not answer", () => {
    const veth = link("h1", "endpoint", "weft-e1h1", 1000, { endpointId: "e1h1", network: "weft-lab" });
    const peer = link("h1", "peer", "weft-vx42", 5000, { peer: "h2" });
    const s = buildTopologySnapshot({
      ...base,
      previousTraffic: { atMs: 1000, links: [veth, peer] },
      traffic: { atMs: 3000, links: [{ ...peer, rxBytes: 9000 }, { ...veth, rxBytes: 3000, txBytes: 2000 }], unreachable: ["h3"] },
    });
    expect(s.links.map((l) => [l.kind, l.name, l.rxBytesPerSec, l.txBytesPerSec])).toEqual([
      ["endpoint", "weft-e1h1", 1000, 0],
      ["peer", "weft-vx42", 2000, 0],
    ]);
    expect(s.links[0]!.key).toBe(linkKey(veth));
    expect(s.traffic).toEqual({ unreachable: ["h3"] });
    expect(s.hosts.find((h) => h.name === "h3")!.trafficUnreachable).toBe(true);
  });

  it("says why there are no counters when the observer failed", () => {
    const s = buildTopologySnapshot({ ...base, trafficError: "traffic counters not available" });
    expect(s.links).toEqual([]);
    expect(s.traffic).toEqual({ unreachable: [], error: "traffic counters not available" });
  });

  it("stays bounded: beyond the limits it keeps the first ones and says how many there were", () => {
    const many = Array.from({ length: 30 }, (_, i) => endpoint(`e${i}`, `c${i}`, "h1", `10.40.0.${i + 2}`));
    const s = buildTopologySnapshot({ ...base, endpoints: many, traffic: { atMs: 1, links: many.map((e) => link("h1", "endpoint", e.id, 1)), unreachable: [] }, limits: { endpoints: 10, links: 5 } });
    expect(s.endpoints).toHaveLength(10);
    expect(s.links).toHaveLength(5);
    expect(s.omitted).toEqual({ endpoints: 30, links: 30 });
    expect(s.hosts[0]!.endpoints).toBe(30);
  });

  it("copies what it shows: changing the snapshot leaves the agent's values alone", () => {
    const s = buildTopologySnapshot(base);
    s.endpoints[0]!.labels["x"] = "y";
    s.services[0]!.ports[0]!.target = 1;
    expect(ENDPOINTS.every((e) => e.labels["x"] === undefined)).toBe(true);
    expect(SERVICES[0]!.record.ports[0]!.target).toBe(80);
  });
});
