// The thinking of `weft trace`: from the resolved ends, what weft expects, and each host's kernel
// snapshot, the hops of the path with expected vs actual, counters, and for a broken hop what is
// wrong and its likely cause. Pure: the observer (cluster-observer.ts) gathers the inputs.
import { meshSlot } from "../../dataplane/inspect/index.js";
import { containerHops, hop, tunnelSendHops, underlayHops, vethBridgeHops, vxlanHop } from "./path-hops.js";
import { egressHops, publishedDispatchHops } from "./published-hops.js";
import type { EndpointFact, HostPart, NetworkFact, PublishedFact, ServiceFact, TraceFacts } from "./trace-facts.js";
import type { TraceEnd, TraceHop, TraceReport } from "./trace-report.js";

export const backendsMapName = (service: string): string => `mesh_backends_${service}`;
export const vipChainName = (service: string): string => `mesh_vip_${service}`;

/** The backend the service's Maglev table gives a flow from `clientIp` (and `sourcePort` unless affinity is client-ip), with its slot. */
export function chosenBackend(service: ServiceFact, clientIp: string, sourcePort: number | undefined): { slot: number; index: number } | undefined {
  if (service.table.length === 0) return undefined;
  const slot = meshSlot(clientIp, service.affinity === "client-ip" ? undefined : sourcePort, service.hashSeed, service.table.length);
  return { slot, index: service.table[slot]! };
}

export function analyzeTrace(facts: TraceFacts, backend?: EndpointFact): TraceReport {
  const from = facts.from;
  const hops: TraceHop[] = [];
  const network = facts.networks.get(from.network);
  const report = (to: TraceEnd): TraceReport => finish(facts, endOf(from, network), to, hops);
  const source = facts.hosts.get(from.node);
  const target = facts.to;
  const toEnd: TraceEnd =
    target.kind === "endpoint"
      ? endOf(target.endpoint, facts.networks.get(target.endpoint.network))
      : target.kind === "published"
        ? { kind: "published", name: `${target.host}:${target.port}`, ip: target.hostIp, host: target.host, network: target.service.network }
        : { kind: "service", name: target.service.name, ip: target.service.vip ?? "", network: target.service.network };
  if (network === undefined) {
    hops.push(hop(from.node, "container", from.name, `network ${from.network}`, "unknown network", { problem: `the network ${from.network} is not known`, cause: "removed from etcd" }));
    return report(toEnd);
  }
  if (source?.snapshot === undefined) {
    hops.push(missingHost(facts, from.node, source));
    return report(toEnd);
  }
  if (target.kind === "published") {
    hops.push(...publishedPath(facts, source, network, target, backend));
    return report(toEnd);
  }
  const dstIp = toEnd.ip;
  const sameNetwork = target.kind === "endpoint" ? target.endpoint.network === from.network : target.service.network === from.network;
  const ifName = source.snapshot.namespaces[from.id]?.link?.name ?? "eth0";
  hops.push(...containerHops(source, from, network, dstIp, sameNetwork ? ifName : undefined));
  hops.push(...vethBridgeHops(source, from, network, "tx"));
  if (!sameNetwork) {
    hops.push(isolationHop(source, from, network.internal, target.kind === "endpoint" ? target.endpoint.network : target.service.network));
    return report(toEnd);
  }
  let dst: EndpointFact | undefined;
  if (target.kind === "endpoint") {
    dst = target.endpoint;
  } else {
    hops.push(...serviceHops(facts, source, target.service, backend));
    dst = backend;
    if (dst === undefined) return report(toEnd);
  }
  hops.push(...pathTo(facts, source, dst, network));
  return report(toEnd);
}

/** To HOST:PORT: out by the egress leg (and the underlay when HOST is another host), the DNAT there, then on to the backend. */
function publishedPath(facts: TraceFacts, source: HostPart, network: NetworkFact, p: PublishedFact, backend: EndpointFact | undefined): TraceHop[] {
  const hops = containerHops(source, facts.from, network, p.hostIp, undefined);
  let publisher: HostPart | undefined = source;
  if (p.host !== source.host) {
    publisher = facts.hosts.get(p.host);
    hops.push(...egressHops(source));
    hops.push(...underlayHops(source, facts.peers.get(p.host), p.hostIp, p.host, publisher?.snapshot !== undefined));
    if (publisher?.snapshot === undefined) return hops;
  }
  hops.push(...publishedDispatchHops(publisher, p, facts.sourcePort, backend));
  const backendNetwork = facts.networks.get(p.service.network);
  if (backend === undefined || backendNetwork === undefined) return hops;
  if (backend.node === publisher.host) {
    hops.push(...vethBridgeHops(publisher, backend, backendNetwork, "rx").reverse());
    hops.push(...containerHops(publisher, backend, backendNetwork, p.clientIp, undefined, "rx").slice(0, 1));
    return hops;
  }
  hops.push(...pathTo(facts, publisher, backend, backendNetwork));
  return hops;
}

/** From the source's bridge to the destination endpoint: on the same host, or through the tunnel. */
function pathTo(facts: TraceFacts, source: HostPart, dst: EndpointFact, network: NetworkFact): TraceHop[] {
  const hops: TraceHop[] = [];
  if (dst.node !== source.host) {
    const remote = facts.hosts.get(dst.node);
    const answered = remote?.snapshot !== undefined;
    hops.push(...tunnelSendHops(source, dst, network, facts.underlayMtu));
    hops.push(...underlayHops(source, facts.peers.get(dst.node), dst.vtep, dst.node, answered));
    if (!answered) return hops;
    hops.push(vxlanHop(remote!, network, facts.underlayMtu, "rx"));
    hops.push(...vethBridgeHops(remote!, dst, network, "rx").reverse());
    hops.push(...containerHops(remote!, dst, network, facts.from.ip, undefined, "rx").slice(0, 1));
  } else {
    hops.push(...vethBridgeHops(source, dst, network, "rx").slice(0, 1));
    hops.push(...containerHops(source, dst, network, facts.from.ip, undefined, "rx").slice(0, 1));
  }
  return hops;
}

function serviceHops(facts: TraceFacts, source: HostPart, service: ServiceFact, backend: EndpointFact | undefined): TraceHop[] {
  const nft = source.snapshot!.nft;
  const host = source.host;
  const chain = vipChainName(service.name);
  const mapName = backendsMapName(service.name);
  const rule = nft?.rules.find((r) => r.chain === chain && r.text.includes(`@${mapName}`));
  const see = [`nft list chain inet weft ${chain}`, `nft list map inet weft ${mapName}`];
  if (service.table.length === 0) {
    const counter = nft?.counters.find((c) => c.name === "mesh_no_backend");
    return [
      hop(host, "nftables", `table inet weft: ${service.vip ?? service.name} -> chain mesh_refuse`, "a backend", "no backend: new connections are refused", {
        problem: `the service ${service.name} has no backend: connections are rejected at once (TCP reset, ICMP port unreachable)`,
        cause: `no live endpoint of ${service.network} matches its selector`,
      }, { ...(counter ? { counters: { packets: counter.packets, bytes: counter.bytes } } : {}), see: ["nft list counter inet weft mesh_no_backend", `weft service inspect ${service.name}`] }),
    ];
  }
  const hops: TraceHop[] = [
    hop(host, "nftables", `table inet weft chain ${chain}`, `jhash ... map @${mapName} (${service.table.length} slots)`, rule === undefined ? "missing" : rule.text,
      rule === undefined ? { problem: `${host} has no dispatch chain for ${service.name}`, cause: "weft's table was changed by hand or the agent has not written it yet" } : undefined, { see }),
  ];
  const choice = chosenBackend(service, facts.from.ip, facts.sourcePort);
  if (choice === undefined) return hops;
  const wanted = service.backends[choice.index]!;
  const element = nft?.maps.find((m) => m.name === mapName)?.elements.find(([slot]) => Number(slot) === choice.slot);
  const key = service.affinity === "client-ip" ? `client ${facts.from.ip}` : `client ${facts.from.ip} port ${facts.sourcePort ?? "?"}`;
  const expected = `slot ${choice.slot} -> ${wanted.ip} (${wanted.name || wanted.endpointId.slice(0, 12)} on ${wanted.owner})`;
  const actual = element === undefined ? `slot ${choice.slot} not in the map` : `slot ${choice.slot} -> ${element[1]}`;
  hops.push(
    hop(host, "nat", `dnat ${service.vip ?? service.name} -> jhash(${key}) mod ${service.table.length} seed 0x${service.hashSeed.toString(16)} map @${mapName}`, expected, actual,
      element === undefined || element[1] !== wanted.ip
        ? { problem: `the kernel's Maglev map gives ${element?.[1] ?? "nothing"} for this flow, weft wants ${wanted.ip}`, cause: "the map is being rewritten (backends changed) or was changed by hand" }
        : backend === undefined
          ? { problem: `the chosen backend ${wanted.ip} is not in this agent's gossip view`, cause: "its endpoint was just removed" }
          : undefined,
      { see: [`nft list map inet weft ${mapName} | grep '${choice.slot} :'`, `conntrack -L -d ${service.vip ?? ""}`] },
    ),
  );
  return hops;
}

function isolationHop(source: HostPart, from: EndpointFact, internal: boolean, otherNetwork: string): TraceHop {
  const rules = source.snapshot!.nft?.rules.filter((r) => r.chain === "forward" && r.text.includes("@same_bridge") && r.text.endsWith("drop")) ?? [];
  // An internal network's addresses are dropped off their bridge; any other's packets, routed toward
  // another network's bridge, are dropped on the way into it.
  const rule = (internal ? rules.find((r) => r.text.startsWith("ip saddr @internal_subnets")) : rules.find((r) => r.text.startsWith("oifname @overlay_bridges"))) ?? rules[0];
  return hop(source.host, "nftables", `table inet weft chain forward${rule ? ` handle ${rule.handle}` : ""}`, `no path from ${from.network} to ${otherNetwork} (networks are isolated)`,
    rule === undefined ? "no isolation rule found" : `drop: ${rule.text}`,
    {
      problem: `packets from network ${from.network} to network ${otherNetwork} are dropped by weft's isolation rule${rule ? ` (${rule.text})` : ""}`,
      cause: `the two endpoints are on different networks, and weft forwards nothing between networks (by design): attach both to one network to let them talk`,
    },
    { see: ["nft list chain inet weft forward"] },
  );
}

function missingHost(facts: TraceFacts, host: string, part: HostPart | undefined): TraceHop {
  const state = facts.peers.get(host)?.state ?? "unknown";
  return hop(host, "peer", `agent on ${host}`, "answering", part?.missing ?? "did not answer", {
    problem: `${host}'s agent did not answer: its part of the path cannot be read`,
    cause: state === "alive" || state === "self" ? "its agent is stopped, overloaded or unreachable on the gossip port" : `gossip sees ${host} as ${state}`,
  });
}

function endOf(ep: EndpointFact, network: NetworkFact | undefined): TraceEnd {
  return { kind: "endpoint", name: ep.name || ep.id.slice(0, 12), ip: ep.ip, host: ep.node, network: network?.name ?? ep.network, endpointId: ep.id };
}

function finish(facts: TraceFacts, from: TraceEnd, to: TraceEnd, hops: TraceHop[]): TraceReport {
  const brokenAt = hops.findIndex((h) => !h.ok);
  const report: TraceReport = { from, to, proto: facts.proto, hops, ok: brokenAt < 0 && hops.length > 0, summary: "" };
  if (facts.port !== undefined) report.port = facts.port;
  if (facts.probe !== undefined) report.probe = facts.probe;
  if (brokenAt >= 0) {
    report.brokenAt = brokenAt;
    const broken = hops[brokenAt]!;
    report.summary = `${from.name} -> ${to.name}: broken at hop ${brokenAt + 1} (${broken.layer} on ${broken.host}): ${broken.problem ?? "not as expected"}. Likely cause: ${broken.cause ?? "unknown"}.`;
  } else {
    const hosts = [...new Set(hops.map((h) => h.host))];
    report.summary = `${from.name} (${from.ip} on ${from.host}) -> ${to.name} (${to.ip}${to.host ? ` on ${to.host}` : ""}): ${hops.length} hops over ${hosts.join(", ")}, each as weft expects.`;
  }
  return report;
}
