// FROM and TO resolution, and a peer's observation query checked field by field.
import { describe, expect, it } from "vitest";
import { parseObserveQuery, encodeJson } from "../../../agent/trace/observe-query.js";
import { parseObserveReply } from "../../../agent/trace/observe-reply.js";
import { resolveEndpoint, resolveTarget, type TraceView } from "../../../agent/trace/trace-ends.js";
import type { EndpointView } from "../../../agent/endpoints/endpoint-view.js";

function ep(id: string, name: string, network: string, ip: string, node = "h1"): EndpointView {
  return { id, name, network, node, ip, mac: "02:42:00:00:00:01", vtep: "10.251.0.1", local: node === "h1", netns: "", aliases: [], labels: {}, gateway: "", mtu: 0, interfaces: [], dns: undefined };
}

const view: TraceView = {
  endpoints: [ep("aaaaaaaaaaaa01", "a", "lab", "10.40.1.2"), ep("bbbbbbbbbbbb02", "b", "lab", "10.40.2.2", "h2"), ep("cccccccccccc03", "a", "iso", "10.41.1.2")],
  networks: [
    { name: "lab", vni: 42, subnet: "10.40.0.0/16", hostPrefixLen: 24, labels: {}, internal: false, createdAt: "" },
    { name: "iso", vni: 43, subnet: "10.41.0.0/16", hostPrefixLen: 24, labels: {}, internal: false, createdAt: "" },
  ] as unknown as TraceView["networks"],
  services: [
    {
      record: { name: "web", network: "lab", selector: { app: "web" }, ports: [{ protocol: "tcp", published: 8080, target: 80, publishMode: "ingress" }], mode: "vip", affinity: "none", vip: "10.40.255.254", createdAt: "" },
      backends: [{ ip: "10.40.2.2", endpointId: "bbbbbbbbbbbb02", owner: "h2", name: "b" }],
    },
  ] as unknown as TraceView["services"],
  nodes: [{ name: "h1", underlayIp: "10.251.0.1" }, { name: "h2", underlayIp: "10.251.0.2" }],
};

describe("trace ends", () => {
  it("resolves endpoints by ID, ID prefix, unique name and IP", () => {
    expect(resolveEndpoint("bbbbbbbbbbbb02", "from", view).name).toBe("b");
    expect(resolveEndpoint("bbbbbb", "from", view).name).toBe("b");
    expect(resolveEndpoint("b", "from", view).id).toBe("bbbbbbbbbbbb02");
    expect(resolveEndpoint("10.41.1.2", "from", view).network).toBe("iso");
  });

  it("refuses bad input with an error naming the argument", () => {
    expect(() => resolveEndpoint("nosuch", "from", view)).toThrow(/^from: no endpoint is named nosuch/);
    expect(() => resolveEndpoint("192.0.2.9", "to", view)).toThrow(/^to: 192.0.2.9 is in no network/);
    expect(() => resolveEndpoint("10.40.9.9", "to", view)).toThrow(/^to: no endpoint has the address 10.40.9.9 in network lab/);
    expect(() => resolveEndpoint("a", "from", view)).toThrow(/^from: a is ambiguous/);
    expect(() => resolveEndpoint("", "from", view)).toThrow(/^from: is empty/);
    expect(() => resolveTarget("h9:8080", "to", view)).toThrow(/^to: h9 is not a node/);
    expect(() => resolveTarget("h1:9999", "to", view)).toThrow(/^to: no service publishes port 9999/);
  });

  it("resolves services by name or VIP, with the Maglev table every node computes, and published ports", () => {
    const byName = resolveTarget("web", "to", view);
    expect(byName.kind).toBe("service");
    if (byName.kind !== "service") return;
    expect(byName.service.table.length).toBe(1021);
    expect(new Set(byName.service.table)).toEqual(new Set([0]));
    expect(resolveTarget("10.40.255.254", "to", view).kind).toBe("service");
    expect(resolveTarget("10.251.0.2:8080", "to", view)).toMatchObject({ kind: "service", published: { host: "h2", port: 8080 } });
  });
});

describe("observation queries from peers", () => {
  it("accepts a well-formed query", () => {
    const q = { endpoints: [{ id: "aaaaaaaaaaaa01", routeTo: "10.40.2.2" }], networks: [{ vni: 42, macs: ["02:42:00:00:00:01"], ips: ["10.40.2.2"] }], routesTo: ["10.251.0.2"], nft: { services: ["web"], isolation: true } };
    expect(parseObserveQuery(encodeJson(q))).toEqual(q);
  });

  it("refuses anything else, naming the field", () => {
    const bad = (q: unknown): (() => unknown) => () => parseObserveQuery(encodeJson(q));
    expect(() => parseObserveQuery(Buffer.from("{"))).toThrow(/query: is not JSON/);
    expect(bad({ endpoints: [{ id: "../../etc" }] })).toThrow(/query.endpoints\[0\].id/);
    expect(bad({ networks: [{ vni: 0 }] })).toThrow(/query.networks\[0\].vni/);
    expect(bad({ routesTo: ["10.0.0.1; rm -rf /"] })).toThrow(/query.routesTo\[0\]/);
    expect(bad({ nft: { services: ["web; flush ruleset"] } })).toThrow(/query.nft.services/);
    expect(bad({ routesTo: new Array(17).fill("10.0.0.1") })).toThrow(/more than 16/);
    expect(bad({ probe: { endpointId: "aaaaaaaaaaaa01", proto: "raw", dst: "10.0.0.1" } })).toThrow(/query.probe.proto/);
  });

  it("gives a peer's reply the shape the analysis reads, whatever it sent", () => {
    const reply = parseObserveReply(encodeJson({ snapshot: { links: [{ name: "x", mtu: "big" }, 7], fdb: "no", namespaces: { a: { link: 1 } } } }));
    expect(reply.snapshot!.links).toEqual([expect.objectContaining({ name: "x", mtu: 0 }), expect.objectContaining({ name: "" })]);
    expect(reply.snapshot!.fdb).toEqual([]);
    expect(() => parseObserveReply(Buffer.from("nope"))).toThrow(/observation: is not JSON/);
  });
});
