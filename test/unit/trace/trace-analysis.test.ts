// The trace's thinking on fake snapshots: a healthy cross-host path, then one broken thing at a time,
// each named on the right host with its likely cause.
import { describe, expect, it } from "vitest";
import { analyzeTrace, backendsMapName, chosenBackend } from "../../../agent/trace/trace-analysis.js";
import type { EndpointFact, ServiceFact } from "../../../agent/trace/trace-facts.js";
import { maglevTable, maglevTableSize } from "../../../controlplane/services/index.js";
import { A, B, healthyFacts, link } from "./trace-fixtures.js";

describe("analyzeTrace", () => {
  it("walks a healthy cross-host path hop by hop, all ok", () => {
    const report = analyzeTrace(healthyFacts());
    expect(report.ok).toBe(true);
    expect(report.brokenAt).toBeUndefined();
    expect(report.hops.map((h) => `${h.host}:${h.layer}`)).toEqual([
      "h1:container", "h1:route", "h1:veth", "h1:bridge", "h1:neighbour", "h1:fdb", "h1:vxlan", "h1:underlay", "h1:peer",
      "h2:vxlan", "h2:bridge", "h2:veth", "h2:container",
    ]);
    expect(report.hops.find((h) => h.layer === "fdb")!.object).toBe(`fdb ${B.mac} dev weft-vx42`);
    expect(report.summary).toContain("each as weft expects");
    expect(report.from).toMatchObject({ kind: "endpoint", name: "a", host: "h1", network: "lab" });
  });

  it("names a missing FDB entry on the sending host", () => {
    const facts = healthyFacts();
    facts.hosts.get("h1")!.snapshot!.fdb = [];
    const report = analyzeTrace(facts);
    expect(report.ok).toBe(false);
    const broken = report.hops[report.brokenAt!]!;
    expect(broken).toMatchObject({ host: "h1", layer: "fdb", actual: "missing" });
    expect(broken.problem).toContain("no FDB entry");
    expect(broken.cause).toContain("removed by hand");
    expect(report.summary).toContain("fdb on h1");
  });

  it("names an FDB entry pointing at the wrong VTEP", () => {
    const facts = healthyFacts();
    facts.hosts.get("h1")!.snapshot!.fdb[0]!.dst = "10.251.0.9";
    expect(analyzeTrace(facts).hops.find((h) => !h.ok)!.problem).toContain("points at 10.251.0.9");
  });

  it("names an MTU mismatch inside the container and on the VXLAN device", () => {
    const facts = healthyFacts();
    facts.hosts.get("h2")!.snapshot!.namespaces[B.id]!.link!.mtu = 1500;
    const report = analyzeTrace(facts);
    expect(report.hops[report.brokenAt!]).toMatchObject({ host: "h2", layer: "container" });
    expect(report.hops[report.brokenAt!]!.problem).toContain("MTU mismatch");

    const vx = healthyFacts();
    vx.hosts.get("h1")!.snapshot!.links.find((l) => l.name === "weft-vx42")!.mtu = 1500;
    const broken = analyzeTrace(vx).hops.find((h) => !h.ok)!;
    expect(broken).toMatchObject({ host: "h1", layer: "vxlan" });
    expect(broken.problem).toContain("MTU mismatch");
  });

  it("names a peer that did not answer, with gossip's view of it", () => {
    const facts = healthyFacts();
    facts.hosts.set("h2", { host: "h2", missing: "no answer within 2000 ms" });
    facts.peers.set("h2", { name: "h2", state: "dead", underlayIp: B.vtep });
    const report = analyzeTrace(facts);
    const broken = report.hops[report.brokenAt!]!;
    expect(broken).toMatchObject({ host: "h1", layer: "peer" });
    expect(broken.problem).toContain("h2's agent did not answer");
    expect(broken.cause).toContain("dead");
    expect(report.hops.at(-1)!.layer).toBe("peer");
  });

  it("names a suspect peer even when it answered", () => {
    const facts = healthyFacts();
    facts.peers.set("h2", { name: "h2", state: "suspect", underlayIp: B.vtep });
    expect(analyzeTrace(facts).hops.find((h) => !h.ok)!.problem).toBe("gossip sees h2 as suspect");
  });

  it("names the isolation rule between two networks", () => {
    const facts = healthyFacts();
    const other: EndpointFact = { ...B, network: "iso", ip: "10.41.2.2" };
    facts.to = { kind: "endpoint", endpoint: other };
    const report = analyzeTrace(facts);
    const broken = report.hops[report.brokenAt!]!;
    expect(broken).toMatchObject({ host: "h1", layer: "nftables" });
    expect(broken.problem).toContain("dropped by weft's isolation rule");
    // Not the internal networks' rule: the one that drops packets routed into another network's bridge.
    expect(broken.actual).toBe("drop: oifname @overlay_bridges iifname . oifname != @same_bridge drop");
    expect(report.to.network).toBe("iso");
  });

  it("names a missing container namespace", () => {
    const facts = healthyFacts();
    facts.hosts.get("h1")!.snapshot!.namespaces[A.id] = { error: "nsenter: cannot open /run/netns/x" };
    expect(analyzeTrace(facts).hops[0]!.problem).toContain("namespace could not be read");
  });

  describe("services", () => {
    const backends = [
      { ip: "10.40.1.5", endpointId: "c5c5c5c5c5c5c5", owner: "h1", name: "w1" },
      { ip: "10.40.2.2", endpointId: B.id, owner: "h2", name: "b" },
    ];
    const table = maglevTable(backends.map((b) => b.ip), maglevTableSize(2));
    const web: ServiceFact = { name: "web", network: "lab", vip: "10.40.255.254", affinity: "none", hashSeed: 0x1234, backends, table };

    function serviceFacts(service: ServiceFact) {
      const facts = healthyFacts();
      facts.to = { kind: "service", service };
      facts.proto = "tcp";
      facts.port = 80;
      facts.sourcePort = 40123;
      const nft = facts.hosts.get("h1")!.snapshot!.nft!;
      nft.rules.push({ chain: "mesh_vip_web", handle: 9, text: `dnat ip to jhash ... map @${backendsMapName("web")}` });
      nft.maps.push({ name: backendsMapName("web"), elements: table.map((index, slot) => [String(slot), backends[index]!.ip]) });
      return facts;
    }

    it("names the backend the Maglev table gives the flow and the DNAT", () => {
      const choice = chosenBackend(web, A.ip, 40123)!;
      const facts = serviceFacts(web);
      const chosen = backends[choice.index]!;
      const endpoint: EndpointFact = chosen.ip === B.ip ? B : { ...A, id: chosen.endpointId, ip: chosen.ip, name: "w1" };
      const report = analyzeTrace(facts, endpoint);
      const nat = report.hops.find((h) => h.layer === "nat")!;
      expect(nat.ok).toBe(true);
      expect(nat.expected).toContain(`slot ${choice.slot} -> ${chosen.ip}`);
      expect(nat.actual).toBe(`slot ${choice.slot} -> ${chosen.ip}`);
      expect(report.to).toMatchObject({ kind: "service", name: "web", ip: "10.40.255.254" });
    });

    it("names a kernel map that disagrees with the table", () => {
      const facts = serviceFacts(web);
      const choice = chosenBackend(web, A.ip, 40123)!;
      const map = facts.hosts.get("h1")!.snapshot!.nft!.maps[0]!;
      map.elements[choice.slot] = [String(choice.slot), "10.40.9.9"];
      const broken = analyzeTrace(facts, B).hops.find((h) => !h.ok)!;
      expect(broken.layer).toBe("nat");
      expect(broken.problem).toContain("10.40.9.9");
    });

    it("names a service without backends", () => {
      const facts = serviceFacts({ ...web, backends: [], table: [] });
      const report = analyzeTrace(facts);
      expect(report.hops[report.brokenAt!]!.problem).toContain("has no backend");
    });
  });
});

describe("published ports", () => {
  const backends = [{ ip: B.ip, endpointId: B.id, owner: "h2", name: "b" }];
  const service: ServiceFact = { name: "web", network: "lab", affinity: "none", hashSeed: 0x77, backends, table: maglevTable([B.ip], maglevTableSize(1)) };

  function publishedFacts(local = false) {
    const facts = healthyFacts();
    const published = { service, host: "h2", hostIp: B.vtep, protocol: "tcp" as const, port: 8080, target: 80, local, clientIp: A.vtep, table: service.table };
    facts.to = { kind: "published", ...published };
    facts.proto = "tcp";
    facts.port = 8080;
    facts.sourcePort = 40000;
    const h1 = facts.hosts.get("h1")!.snapshot!;
    h1.links.push(link("weft_gwbridge"));
    h1.routes.push({ dst: B.vtep, dev: "ul0" });
    h1.nft!.rules.push({ chain: "postrouting", handle: 3, text: 'oifname "ul0" ip saddr 172.18.0.0/16 masquerade' });
    const h2 = facts.hosts.get("h2")!.snapshot!;
    h2.nft!.rules.push({ chain: "mesh_port_tcp_8080", handle: 12, text: "dnat ip to jhash ... map @mesh_backends_web" });
    h2.nft!.maps.push({ name: "mesh_backends_web", elements: service.table.map((i, slot) => [String(slot), backends[i]!.ip]) });
    return facts;
  }

  it("goes out by the egress leg and masquerade, over the underlay, through the publishing host's DNAT to the backend", () => {
    const report = analyzeTrace(publishedFacts(), B);
    expect(report.ok).toBe(true);
    expect(report.to).toMatchObject({ kind: "published", name: "h2:8080", host: "h2" });
    expect(report.hops.map((h) => `${h.host}:${h.layer}`)).toEqual([
      "h1:container", "h1:route", "h1:gwbridge", "h1:nat", "h1:underlay", "h1:peer", "h2:nftables", "h2:nat", "h2:bridge", "h2:veth", "h2:container",
    ]);
    const nat = report.hops.find((h) => h.host === "h2" && h.layer === "nat")!;
    expect(nat.object).toContain(`client ${A.vtep} port 40000`);
    expect(nat.expected).toContain(`-> ${B.ip}:80 (b on h2)`);
  });

  it("names a missing masquerade on the source host", () => {
    const facts = publishedFacts();
    facts.hosts.get("h1")!.snapshot!.nft!.rules = [];
    const broken = analyzeTrace(facts, B).hops.find((h) => !h.ok)!;
    expect(broken).toMatchObject({ host: "h1", layer: "nat" });
    expect(broken.problem).toContain("does not masquerade");
  });

  it("names a published port without backends", () => {
    const facts = publishedFacts(true);
    const target = facts.to as Extract<typeof facts.to, { kind: "published" }>;
    target.table = [];
    const broken = analyzeTrace(facts).hops.find((h) => !h.ok)!;
    expect(broken).toMatchObject({ host: "h2", layer: "nftables" });
    expect(broken.problem).toContain("has no backend on h2");
  });
});
