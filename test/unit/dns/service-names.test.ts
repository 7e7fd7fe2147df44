// Services' names in the embedded DNS: NAME and NAME.NETWORK -> VIP (vip) or backends (dnsrr),
// tasks.NAME -> backends, only in the service's network's zone.
import dnsPacket, { type DecodedPacket } from "dns-packet";
import { describe, expect, it } from "vitest";
import { answerQuery, GossipRecordSource, ZoneIndex, type AnswerDecision, type DnsEndpoint, type DnsRecordSource } from "../../../agent/dns/index.js";
import { dnsService, withServiceNames } from "../../../agent/names/service-names.js";
import type { ServiceWithBackends } from "../../../agent/desired-state/mesh-part.js";
import type { ServiceRecord } from "../../../controlplane/services/index.js";

const record = (name: string, extra: Partial<ServiceRecord> = {}): ServiceRecord => ({
  name, network: "blue", selector: { app: name }, ports: [], mode: "vip", affinity: "none", vip: "10.40.255.1", createdAt: "2026-01-01T00:00:00Z", ...extra,
});
const backends = [
  { ip: "10.40.1.2", endpointId: "a", owner: "h1", name: "web1" },
  { ip: "10.40.2.2", endpointId: "b", owner: "h2", name: "web2" },
];
const web: ServiceWithBackends = { record: record("web"), backends };
const rr: ServiceWithBackends = { record: record("rr", { mode: "dnsrr", vip: undefined }), backends };
const ENDPOINTS: DnsEndpoint[] = [
  { name: "web1", aliases: [], ip: "10.40.1.2" },
  { name: "web2", aliases: [], ip: "10.40.2.2" },
  // An endpoint with a service's name: the service wins.
  { name: "web", aliases: [], ip: "10.40.3.3" },
];

function ask(source: DnsRecordSource, network: string, name: string, type: "A" | "PTR" = "A"): DecodedPacket & { rcode?: string } {
  const zone = ZoneIndex.build(network, source.endpoints(network), source.services?.(network));
  const query = dnsPacket.encode({ type: "query", id: 1, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: "IN" }] });
  const decision: AnswerDecision = answerQuery(query, { zone, transport: "udp", ttlSeconds: 5, random: Math.random });
  if (decision.kind !== "reply") return { answers: [], rcode: decision.kind } as unknown as DecodedPacket & { rcode?: string };
  return dnsPacket.decode(decision.response) as DecodedPacket & { rcode?: string };
}
const data = (packet: DecodedPacket): string[] => (packet.answers ?? []).map((a) => String((a as { data: unknown }).data)).sort();

function source(services: ServiceWithBackends[]): DnsRecordSource {
  let revision = 0;
  const endpoints = { endpoints: (network: string) => (network === "blue" ? ENDPOINTS : []), revision: () => 0 } as unknown as GossipRecordSource;
  return withServiceNames(endpoints, { inNetwork: (network) => services.filter((s) => s.record.network === network), revision: () => ++revision });
}

describe("service names in the DNS", () => {
  it("vip mode: NAME and NAME.NETWORK answer the VIP; tasks.NAME the backends; the VIP's PTR names the service", () => {
    const s = source([web]);
    for (const name of ["web", "web.blue", "WEB.blue."]) expect(data(ask(s, "blue", name)), name).toEqual(["10.40.255.1"]);
    for (const name of ["tasks.web", "tasks.web.blue"]) expect(data(ask(s, "blue", name)), name).toEqual(["10.40.1.2", "10.40.2.2"]);
    expect(data(ask(s, "blue", "1.255.40.10.in-addr.arpa", "PTR"))).toEqual(["web.blue"]);
    // The backends keep their own names.
    expect(data(ask(s, "blue", "web1"))).toEqual(["10.40.1.2"]);
  });

  it("dnsrr mode: NAME answers the backends", () => {
    const s = source([rr]);
    expect(data(ask(s, "blue", "rr"))).toEqual(["10.40.1.2", "10.40.2.2"]);
    expect(data(ask(s, "blue", "tasks.rr.blue"))).toEqual(["10.40.1.2", "10.40.2.2"]);
  });

  it("answers only in the service's network's zone", () => {
    const s = source([web]);
    const red = ask(s, "red", "web.blue");
    expect(red.answers ?? []).toEqual([]);
    expect(ask(s, "red", "tasks.web").rcode).toBe("forward");
  });

  it("a dnsrr service with no backend leaves its name to the network's endpoints; tasks.NAME is not there", () => {
    const empty = { record: record("web", { mode: "dnsrr", vip: undefined }), backends: [] };
    expect(dnsService(empty)).toEqual({ name: "web", addresses: [], tasks: [] });
    const s = source([empty]);
    expect(data(ask(s, "blue", "web"))).toEqual(["10.40.3.3"]);
    expect(ask(s, "blue", "tasks.web.blue").rcode).toBe("NXDOMAIN");
  });

  it("moves the revision when the services move, so the server rebuilds the zone", () => {
    const s = source([web]);
    const first = s.revision!();
    expect(s.revision!()).not.toBe(first);
  });
});
