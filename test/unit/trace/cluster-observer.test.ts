// The observer and the handler on fakes: the local host answers directly, a peer through `ask`; a
// peer that never answers costs at most the deadline and is named in the trace; a peer's query is
// answered only for this host's own endpoints, and at most two at once.
import { describe, expect, it } from "vitest";
import { createAgentObserver } from "../../../agent/trace/agent-observer.js";
import { AgentClusterObserver } from "../../../agent/trace/cluster-observer.js";
import { encodeJson } from "../../../agent/trace/observe-query.js";
import { ObservationHandler } from "../../../agent/trace/observation-handler.js";
import type { EndpointView } from "../../../agent/endpoints/endpoint-view.js";
import type { LocalEndpoint } from "../../../agent/state-store.js";
import type { HostSnapshot, InspectQuery } from "../../../dataplane/inspect/index.js";
import { peerCounterNames } from "../../../dataplane/index.js";
import { A, B, healthyFacts } from "./trace-fixtures.js";

function view(e: typeof A, local: boolean): EndpointView {
  return { ...e, local, netns: "", aliases: [], labels: {}, gateway: "", mtu: 0, interfaces: [], dns: undefined };
}

const localA: LocalEndpoint = { id: A.id, name: A.name, network: "lab", netns: "ns-a", ifName: "eth0", ip: A.ip, mac: A.mac, createdAt: "" };
const network = { name: "lab", vni: 42, subnet: "10.40.0.0/16", hostPrefixLen: 24, labels: {}, internal: false, createdAt: "" };

function observer(ask: (peer: string, query: Uint8Array, timeoutMs: number) => Promise<Uint8Array>) {
  const snapshots = healthyFacts();
  const queries: InspectQuery[] = [];
  const handler = new ObservationHandler({
    node: "h1",
    localEndpoints: () => [localA],
    networks: () => [network],
    inspect: async (host, query) => {
      queries.push(query);
      return structuredClone(snapshots.hosts.get(host)!.snapshot!) as HostSnapshot;
    },
  });
  const o = new AgentClusterObserver({
    node: "h1",
    underlay: { ip: A.vtep, mtu: 1500 },
    endpoints: () => [view(A, true), view(B, false)],
    networks: () => [network as never],
    services: () => [],
    peers: () => [{ name: "h2", gossipAddr: "", state: "alive", endpoints: 1, underlayIp: B.vtep }],
    local: handler,
    ask,
    timeoutMs: 200,
  });
  return { o, queries, snapshots };
}

describe("AgentClusterObserver", () => {
  it("reads this host directly and the peer through ask, and finds the path healthy", async () => {
    const asked: string[] = [];
    const { o, queries, snapshots } = observer(async (peer, query) => {
      asked.push(`${peer}:${Buffer.from(query).toString()}`);
      return encodeJson({ snapshot: snapshots.hosts.get("h2")!.snapshot });
    });
    const report = await o.trace({ from: "a", to: B.ip });
    expect(report.ok).toBe(true);
    expect(asked).toHaveLength(1);
    expect(asked[0]).toContain(`h2:{"endpoints":[{"id":"${B.id}"}]`);
    // h1 was asked for a's namespace (its recorded netns, never a peer's), the FDB entry of b's MAC and the route to h2's VTEP.
    expect(queries[0]).toMatchObject({ namespaces: [{ endpointId: A.id, netns: "ns-a", routeTo: B.ip }], fdb: [{ device: "weft-vx42", macs: [B.mac] }], routesTo: [B.vtep] });
  });

  it("names a peer that never answers, within the deadline", async () => {
    const { o } = observer(() => new Promise<Uint8Array>(() => undefined));
    const report = await o.trace({ from: A.id, to: "b" });
    const broken = report.hops[report.brokenAt!]!;
    expect(broken).toMatchObject({ host: "h1", layer: "peer" });
    expect(broken.problem).toBe("h2's agent did not answer");
  });

  it("treats a peer's garbage as no answer", async () => {
    const { o } = observer(async () => Buffer.from("not json"));
    const report = await o.trace({ from: "a", to: "b" });
    expect(report.hops[report.brokenAt!]!.problem).toBe("h2's agent did not answer");
  });

  it("refuses bad requests naming the field", async () => {
    const { o } = observer(async () => new Uint8Array());
    await expect(o.trace({ from: "a", to: "b", proto: "sctp" as never })).rejects.toMatchObject({ field: "proto" });
    await expect(o.trace({ from: "a", to: "b", proto: "tcp" })).rejects.toMatchObject({ field: "port" });
    await expect(o.trace({ from: "zz", to: "b" })).rejects.toMatchObject({ field: "from" });
  });
});

describe("ObservationHandler", () => {
  it("answers only for this host's endpoints, and refuses a third observation at once", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const handler = new ObservationHandler({
      node: "h1",
      localEndpoints: () => [localA],
      networks: () => [network],
      inspect: async (host) => {
        await gate;
        return { host, readAtMs: 0, links: [], fdb: [], neighbours: [], routes: [], namespaces: {}, errors: [] };
      },
    });
    const ask = (id: string) => handler.handleBytes(encodeJson({ endpoints: [{ id }] }), "h2", 1 << 20).then((b) => JSON.parse(Buffer.from(b).toString()));
    const first = ask(A.id);
    const second = ask(B.id);
    expect(await ask(A.id)).toEqual({ error: "busy: 2 observations already running on h1" });
    release();
    expect((await first).snapshot.namespaces).toEqual({});
    expect((await second).snapshot.namespaces[B.id].error).toContain("is not a local endpoint of h1");
  });

  it("bounds the answer and refuses a bad query with the field", async () => {
    const handler = new ObservationHandler({ node: "h1", localEndpoints: () => [], networks: () => [], inspect: async (host) => ({ host, readAtMs: 0, links: [], fdb: [], neighbours: [], routes: [], namespaces: {}, errors: new Array(100).fill("x".repeat(100)) }) });
    const small = JSON.parse(Buffer.from(await handler.handleBytes(encodeJson({}), "h2", 1000)).toString());
    expect(small.error).toContain("exceeds 1000 bytes");
    const bad = JSON.parse(Buffer.from(await handler.handleBytes(encodeJson({ routesTo: ["x"] }), "h2", 1000)).toString());
    expect(bad.error).toContain("query.routesTo[0]");
  });
});

describe("traffic", () => {
  it("names each weft link and peer counter of every host that answered, and lists those that did not", async () => {
    const handler = new ObservationHandler({
      node: "h1",
      localEndpoints: () => [localA],
      networks: () => [network],
      inspect: async (host) => {
        const l = (name: string) => ({ name, up: true, operstate: "UP", mtu: 1450, mac: "", counters: { rxBytes: 1, rxPackets: 2, txBytes: 3, txPackets: 4, rxDropped: 0, txDropped: 0 } });
        return { host, readAtMs: 0, links: [l(`weft${A.id.slice(0, 11)}`), l("weft-vx42"), l("weft_gwbridge"), l("lo"), l("weft99999999999")], fdb: [], neighbours: [], routes: [], namespaces: {}, errors: [] };
      },
      // weft's counters: h2's pair, a pair of a host no longer a member, and the mesh's own counter.
      counters: () => [
        { name: peerCounterNames("h2").tx, packets: 5, bytes: 500 },
        { name: peerCounterNames("h2").rx, packets: 6, bytes: 600 },
        { name: peerCounterNames("gone").tx, packets: 1, bytes: 1 },
        { name: "mesh_no_backend", packets: 9, bytes: 9 },
      ],
    });
    const o = new AgentClusterObserver({
      node: "h1",
      underlay: { ip: A.vtep, mtu: 1500 },
      endpoints: () => [],
      networks: () => [network as never],
      services: () => [],
      peers: () => [{ name: "h2", gossipAddr: "", state: "dead", endpoints: 0, underlayIp: B.vtep }],
      local: handler,
      ask: async () => {
        throw new Error("unreachable");
      },
    });
    const { links, unreachable } = await o.traffic();
    expect(unreachable).toEqual(["h2"]);
    expect(links.map((l) => `${l.host} ${l.kind} ${l.name} ${l.network ?? ""} ${l.endpointId ?? ""}`.trim())).toEqual([
      `h1 endpoint weft${A.id.slice(0, 11)} lab ${A.id}`,
      "h1 vxlan weft-vx42 lab",
      "h1 gwbridge weft_gwbridge",
      `h1 peer vx_${peerCounterNames("h2").tx.slice(6)}`,
    ]);
    expect(links[0]).toMatchObject({ rxBytes: 1, rxPackets: 2, txBytes: 3, txPackets: 4 });
    // VXLAN to h2 from the tx counter, from h2 from the rx counter.
    expect(links[3]).toMatchObject({ kind: "peer", peer: "h2", txBytes: 500, txPackets: 5, rxBytes: 600, rxPackets: 6 });
  });
});

describe("createAgentObserver", () => {
  it("answers peers through the gossip hook, and sends a peer's probe only where a trace leads", async () => {
    let hook: ((query: Uint8Array, from: string, maxBytes: number) => Promise<Uint8Array>) | undefined;
    createAgentObserver({
      node: "h1",
      underlay: { ip: A.vtep, mtu: 1500 },
      gossip: { setObserveHandler: (h) => (hook = h), observe: async () => new Uint8Array() },
      localEndpoints: () => [localA],
      networks: () => [network as never],
      endpoints: () => [],
      services: () => [],
      peers: () => [{ name: "h2", gossipAddr: "", state: "alive", endpoints: 0, underlayIp: B.vtep }],
    });
    expect(hook).toBeDefined();
    const probe = async (dst: string) =>
      JSON.parse(Buffer.from(await hook!(encodeJson({ probe: { endpointId: A.id, proto: "icmp", dst } }), "h2", 1 << 20)).toString()).probe;
    // Off the network and not a member: refused before anything is sent.
    expect(await probe("192.0.2.1")).toMatchObject({ sent: false, detail: expect.stringContaining("goes only to its network") });
  });
});
