// The ClusterObserver of the contract: resolves a trace's ends, asks each host involved for its part
// (this host directly, the others through the gossip's Observe frames, each with a deadline so a slow
// or hostile peer costs at most that), optionally has the source host send a probe between two
// readings, and hands everything to the pure analysis. traffic() asks every member for its links.
import type { NetworkRecord } from "../../controlplane/registry/index.js";
import { errorText, printable, WeftError } from "../../proto/values/index.js";
import { overlayMtu } from "../desired-state/overlay-part.js";
import type { ServiceWithBackends } from "../desired-state/mesh-part.js";
import type { EndpointView } from "../endpoints/endpoint-view.js";
import type { PeerView } from "../peers/peer-directory.js";
import { encodeJson, type ObserveQuery, type ObserveReply } from "./observe-query.js";
import { parseObserveReply } from "./observe-reply.js";
import type { ObservationHandler } from "./observation-handler.js";
import { publishedChoice } from "./published-hops.js";
import { planPublishedQueries, publishedFact, publishedPort } from "./published-plan.js";
import { analyzeTrace, chosenBackend } from "./trace-analysis.js";
import { endpointFact, resolveEndpoint, resolveTarget, type TraceView } from "./trace-ends.js";
import type { EndpointFact, HostPart, NetworkFact, PeerFact, PublishedFact, TraceFacts } from "./trace-facts.js";
import { namePeers } from "./peer-traffic.js";
import type { ClusterObserver, LinkTraffic, TraceProto, TraceReport, TraceRequest } from "./trace-report.js";

/** The source port a TCP/UDP trace assumes (and its probe uses) unless the request names one. */
export const DEFAULT_SOURCE_PORT = 47123;
const DEFAULT_TIMEOUT_MS = 3000;

export interface ClusterObserverOptions {
  node: string;
  underlay: { ip: string; mtu: number };
  endpoints(): EndpointView[];
  networks(): NetworkRecord[];
  services(): ServiceWithBackends[];
  peers(): PeerView[];
  local: Pick<ObservationHandler, "answer">;
  /** Sends a query to a peer's agent (GossipNode.observe). */
  ask(peer: string, query: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  timeoutMs?: number;
}

export class AgentClusterObserver implements ClusterObserver {
  constructor(private readonly options: ClusterObserverOptions) {}

  async trace(request: TraceRequest): Promise<TraceReport> {
    const o = this.options;
    const proto = checkProto(request.proto);
    const view: TraceView = {
      endpoints: o.endpoints(),
      networks: o.networks(),
      services: o.services(),
      nodes: [{ name: o.node, underlayIp: o.underlay.ip }, ...o.peers().map((p) => ({ name: p.name, underlayIp: p.underlayIp }))],
    };
    const from = resolveEndpoint(String(request.from ?? ""), "from", view);
    const target = resolveTarget(String(request.to ?? ""), "to", view);
    const networks = networkFacts(view.networks, o.underlay.mtu);
    const published = target.kind === "service" ? target.published : undefined;
    const effectiveProto: TraceProto = published !== undefined && target.kind === "service"
      ? publishedPort(target.record, published.port, proto).protocol
      : proto ?? (target.kind === "service" ? "tcp" : "icmp");
    const port = published !== undefined ? published.port : effectiveProto === "icmp" ? undefined : checkPort(request.port, "port") ?? (target.kind === "service" ? target.record.ports[0]?.target ?? 80 : undefined);
    if (effectiveProto !== "icmp" && port === undefined) throw new WeftError("invalid-argument", `port: ${effectiveProto} needs a port (--port N)`, { field: "port" });
    const sourcePort = effectiveProto === "icmp" ? undefined : checkPort(request.sourcePort, "sourcePort") ?? DEFAULT_SOURCE_PORT;
    let publishedTo: PublishedFact | undefined;
    if (target.kind === "service" && published !== undefined) {
      const host = view.nodes.find((n) => n.name === published.host)!;
      publishedTo = publishedFact(target.service, target.record, host, published.port, effectiveProto, await this.clientIpAt(from, host, view));
    }
    let backend: EndpointFact | undefined;
    if (target.kind === "service") {
      const choice = publishedTo !== undefined ? publishedChoice(publishedTo, sourcePort) : chosenBackend(target.service, from.ip, sourcePort);
      const wanted = choice === undefined ? undefined : target.service.backends[choice.index];
      const found = wanted === undefined ? undefined : view.endpoints.find((e) => e.id === wanted.endpointId);
      if (found !== undefined) backend = endpointFact(found);
    }
    const dst = target.kind === "endpoint" ? target.endpoint : backend;
    const dstIp = target.kind === "endpoint" ? target.endpoint.ip : (target.service.vip ?? backend?.ip ?? "");
    const queries = publishedTo !== undefined
      ? planPublishedQueries(from, publishedTo, backend, networks.get(publishedTo.service.network))
      : planQueries(from, dst, dstIp, networks, target.kind === "service" ? target.service.name : undefined);

    let parts = await this.gather(queries);
    let probe: TraceReport["probe"];
    if (request.probe === true) {
      const probeDst = publishedTo?.hostIp ?? dstIp;
      const probeQuery: ObserveQuery = { endpoints: [], networks: [], routesTo: [], probe: { endpointId: from.id, proto: effectiveProto, dst: probeDst, ...(port !== undefined ? { port } : {}), ...(sourcePort !== undefined ? { sourcePort } : {}) } };
      const reply = await this.ask(from.node, probeQuery);
      probe = reply.probe ?? { sent: false, answered: false, detail: `${from.node} did not send the probe: ${reply.error ?? "no answer"}` };
      const after = await this.gather(queries);
      parts = new Map([...after].map(([host, part]) => [host, { ...part, ...(parts.get(host)?.snapshot ? { before: parts.get(host)!.snapshot! } : {}) }]));
    }
    const facts: TraceFacts = {
      from,
      to: target.kind === "endpoint" ? target : publishedTo !== undefined ? { kind: "published", ...publishedTo } : { kind: "service", service: target.service, ...(port !== undefined ? { port } : {}) },
      proto: effectiveProto,
      ...(port !== undefined ? { port } : {}),
      ...(sourcePort !== undefined ? { sourcePort } : {}),
      networks,
      peers: peerFacts(o.node, o.underlay.ip, o.peers()),
      underlayMtu: o.underlay.mtu,
      hosts: parts,
      ...(probe !== undefined ? { probe } : {}),
    };
    const report = analyzeTrace(facts, backend);
    if (sourcePort !== undefined) report.sourcePort = sourcePort;
    if (target.kind === "service" && backend !== undefined && report.to.host === undefined) report.to.host = backend.node;
    return report;
  }

  /**
   * The client address `host` sees for a flow from `from` to one of its published ports: the source
   * host's underlay address (the egress masquerade), or on the same host the container's own source
   * address toward it (its egress leg), read from its namespace.
   */
  private async clientIpAt(from: EndpointFact, host: { name: string; underlayIp: string }, view: TraceView): Promise<string> {
    if (from.node !== host.name) return view.nodes.find((n) => n.name === from.node)?.underlayIp ?? from.ip;
    const reply = await this.ask(from.node, { endpoints: [{ id: from.id, routeTo: host.underlayIp }], networks: [], routesTo: [] });
    return reply.snapshot?.namespaces[from.id]?.route?.prefsrc ?? from.ip;
  }

  async traffic(): Promise<{ links: LinkTraffic[]; unreachable: string[] }> {
    const hosts = [this.options.node, ...this.options.peers().map((p) => p.name)];
    const replies = await Promise.all(hosts.map(async (host) => ({ host, reply: await this.ask(host, { endpoints: [], networks: [], routesTo: [], traffic: true }) })));
    const links: LinkTraffic[] = [];
    const unreachable: string[] = [];
    for (const { host, reply } of replies) {
      if (reply.traffic === undefined) unreachable.push(host);
      else links.push(...namePeers(reply.traffic.map((l) => ({ ...l, host })), hosts));
    }
    return { links, unreachable };
  }

  private async gather(queries: Map<string, ObserveQuery>): Promise<Map<string, HostPart>> {
    const entries = await Promise.all(
      [...queries].map(async ([host, query]): Promise<[string, HostPart]> => {
        const reply = await this.ask(host, query);
        return [host, reply.snapshot !== undefined ? { host, snapshot: { ...reply.snapshot, host } } : { host, missing: reply.error ?? "no answer" }];
      }),
    );
    return new Map(entries);
  }

  /** This host answers directly; another through gossip, within the deadline. Never throws. */
  private async ask(host: string, query: ObserveQuery): Promise<ObserveReply> {
    try {
      const timeoutMs = this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      if (host === this.options.node) return await withDeadline(this.options.local.answer(query), timeoutMs, host);
      // The transport has the same deadline; this one also holds if a reply is stuck anywhere else.
      return parseObserveReply(await withDeadline(this.options.ask(host, encodeJson(query), timeoutMs), timeoutMs + 500, host));
    } catch (err) {
      return { error: errorText(err) };
    }
  }
}

/** Per host, what to read: the source's namespace and the tunnel's entries, the destination's side. */
export function planQueries(from: EndpointFact, dst: EndpointFact | undefined, dstIp: string, networks: ReadonlyMap<string, NetworkFact>, service: string | undefined): Map<string, ObserveQuery> {
  const queries = new Map<string, ObserveQuery>();
  const query = (host: string): ObserveQuery => {
    let q = queries.get(host);
    if (q === undefined) queries.set(host, (q = { endpoints: [], networks: [], routesTo: [] }));
    return q;
  };
  const network = networks.get(from.network);
  const source = query(from.node);
  source.endpoints.push({ id: from.id, routeTo: dstIp });
  const sameNetwork = dst === undefined || dst.network === from.network;
  source.nft = { services: service === undefined ? [] : [service], isolation: !sameNetwork };
  if (network === undefined) return queries;
  const remote = dst !== undefined && sameNetwork && dst.node !== from.node;
  source.networks.push({ vni: network.vni, macs: remote ? [dst.mac] : [], ips: remote ? [dst.ip] : [] });
  if (dst === undefined || !sameNetwork) return queries;
  if (remote) source.routesTo.push(dst.vtep);
  const target = query(dst.node);
  target.endpoints.push({ id: dst.id });
  if (remote) target.networks.push({ vni: network.vni, macs: [], ips: [] });
  return queries;
}

function withDeadline<T>(work: Promise<T>, ms: number, host: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WeftError("unavailable", `${host} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

function networkFacts(records: readonly NetworkRecord[], underlayMtu: number): Map<string, NetworkFact> {
  return new Map(records.map((n) => [n.name, { name: n.name, vni: n.vni, subnet: n.subnet, mtu: overlayMtu(underlayMtu, n.mtu), internal: n.internal }]));
}

function peerFacts(self: string, selfIp: string, peers: readonly PeerView[]): Map<string, PeerFact> {
  const facts = new Map<string, PeerFact>([[self, { name: self, state: "self", underlayIp: selfIp }]]);
  for (const p of peers) facts.set(p.name, { name: p.name, state: p.state, underlayIp: p.underlayIp });
  return facts;
}

function checkProto(proto: unknown): TraceProto | undefined {
  if (proto === undefined || proto === "") return undefined;
  if (proto !== "tcp" && proto !== "udp" && proto !== "icmp") throw new WeftError("invalid-argument", `proto: must be tcp, udp or icmp, got ${printable(String(proto), 20)}`, { field: "proto" });
  return proto;
}

function checkPort(port: unknown, field: string): number | undefined {
  if (port === undefined || port === 0) return undefined;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) throw new WeftError("invalid-argument", `${field}: must be a port (1-65535)`, { field });
  return port;
}
