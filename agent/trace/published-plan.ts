// A trace to a published HOST:PORT: which port of the service it is, the client address the
// publishing host sees, the table its chain uses, and what each host involved is asked to read.
import { maglevTable, maglevTableSize } from "../../controlplane/services/index.js";
import { WeftError } from "../../proto/values/index.js";
import type { ServiceWithBackends } from "../desired-state/mesh-part.js";
import type { ObserveQuery } from "./observe-query.js";
import type { EndpointFact, NetworkFact, PublishedFact, ServiceFact } from "./trace-facts.js";
import type { TraceProto } from "./trace-report.js";

/** The published port `port` of `record` for `proto` (its only protocol when none is asked). */
export function publishedPort(record: ServiceWithBackends["record"], port: number, proto: TraceProto | undefined): ServiceWithBackends["record"]["ports"][number] {
  if (proto === "icmp") throw new WeftError("invalid-argument", "proto: a published port takes tcp or udp, not icmp", { field: "proto" });
  const found = record.ports.find((p) => p.published === port && (proto === undefined || p.protocol === proto));
  if (found === undefined) throw new WeftError("not-found", `to: ${record.name} does not publish ${proto ?? "any"} port ${port}`, { field: "to" });
  return found;
}

/** slot -> index into service.backends: the whole table, or for mode local the table over `host`'s own backends. */
export function portTable(service: ServiceFact, local: boolean, host: string): number[] {
  if (!local) return service.table;
  const indexes = service.backends.flatMap((b, i) => (b.owner === host ? [i] : []));
  if (indexes.length === 0) return [];
  return maglevTable(indexes.map((i) => service.backends[i]!.ip), maglevTableSize(indexes.length)).map((slot) => indexes[slot]!);
}

export function publishedFact(service: ServiceFact, record: ServiceWithBackends["record"], host: { name: string; underlayIp: string }, port: number, proto: TraceProto | undefined, clientIp: string): PublishedFact {
  const p = publishedPort(record, port, proto);
  const local = p.publishMode === "local";
  return { service, host: host.name, hostIp: host.underlayIp, protocol: p.protocol, port: p.published, target: p.target, local, clientIp, table: portTable(service, local, host.name) };
}

/** Per host, what to read for the path to HOST:PORT and on to `backend`. */
export function planPublishedQueries(from: EndpointFact, p: PublishedFact, backend: EndpointFact | undefined, network: NetworkFact | undefined): Map<string, ObserveQuery> {
  const queries = new Map<string, ObserveQuery>();
  const query = (host: string): ObserveQuery => {
    let q = queries.get(host);
    if (q === undefined) queries.set(host, (q = { endpoints: [], networks: [], routesTo: [] }));
    return q;
  };
  const source = query(from.node);
  source.endpoints.push({ id: from.id, routeTo: p.hostIp });
  const away = from.node !== p.host;
  if (away) {
    source.nft = { services: [], isolation: false, egress: true };
    source.routesTo.push(p.hostIp);
  }
  const publisher = query(p.host);
  publisher.nft = { services: [p.service.name], isolation: false, ...(away ? {} : { egress: false }), ports: [{ protocol: p.protocol, port: p.port, ...(p.local ? { local: true } : {}) }] };
  if (backend === undefined || network === undefined) return queries;
  const remote = backend.node !== p.host;
  publisher.networks.push({ vni: network.vni, macs: remote ? [backend.mac] : [], ips: remote ? [backend.ip] : [] });
  if (remote) publisher.routesTo.push(backend.vtep);
  const target = query(backend.node);
  target.endpoints.push({ id: backend.id });
  if (remote) target.networks.push({ vni: network.vni, macs: [], ips: [] });
  return queries;
}
