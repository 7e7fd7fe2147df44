// The hops of a flow to a published port (HOST:PORT): out of the container by its egress leg, through
// the source host's masquerade and the underlay to the publishing host (unless it is the same), then
// that host's nftables dispatch and the DNAT to the backend its Maglev table gives the flow. Pure.
import { meshSlot } from "../../dataplane/inspect/index.js";
import { EGRESS_BRIDGE } from "../desired-state/egress-part.js";
import { hop, linkCounters } from "./path-hops.js";
import type { EndpointFact, HostPart, PublishedFact } from "./trace-facts.js";
import type { TraceHop } from "./trace-report.js";

export const portChainName = (protocol: string, port: number): string => `mesh_port_${protocol}_${port}`;
export const localBackendsMapName = (service: string): string => `mesh_local_${service}`;

/** The slot and backend index this port's table gives the flow (client-ip affinity hashes the address only). */
export function publishedChoice(p: PublishedFact, sourcePort: number | undefined): { slot: number; index: number } | undefined {
  if (p.table.length === 0) return undefined;
  const slot = meshSlot(p.clientIp, p.service.affinity === "client-ip" ? undefined : sourcePort, p.service.hashSeed, p.table.length);
  return { slot, index: p.table[slot]! };
}

/** On the source host, when the port is another host's: the egress bridge and the masquerade. */
export function egressHops(source: HostPart): TraceHop[] {
  const snapshot = source.snapshot!;
  const bridge = snapshot.links.find((l) => l.name === EGRESS_BRIDGE);
  const masquerade = snapshot.nft?.rules.find((r) => r.chain === "postrouting" && r.text.includes("masquerade"));
  return [
    hop(source.host, "gwbridge", EGRESS_BRIDGE, "up", bridge === undefined ? "missing" : bridge.up ? `up, mtu ${bridge.mtu}` : `down (${bridge.operstate})`,
      bridge === undefined || !bridge.up ? { problem: `the egress bridge ${EGRESS_BRIDGE} is ${bridge === undefined ? "missing" : "down"} on ${source.host}`, cause: "deleted or set down by hand; the agent recreates it at its next reconcile" } : undefined,
      { ...(bridge ? { counters: linkCounters(source, EGRESS_BRIDGE, "rx")! } : {}), see: [`ip -s link show ${EGRESS_BRIDGE}`] }),
    hop(source.host, "nat", "table inet weft chain postrouting", "masquerade the egress subnet leaving by the underlay", masquerade === undefined ? "no masquerade rule" : masquerade.text,
      masquerade === undefined ? { problem: `${source.host} does not masquerade its containers' traffic to the underlay`, cause: "weft's table was changed by hand, or the network is internal (no way out)" } : undefined,
      { see: ["nft list chain inet weft postrouting", "conntrack -L -p tcp"] }),
  ];
}

/** On the publishing host: the port's dispatch chain and the DNAT with the slot the flow hashes to. */
export function publishedDispatchHops(publisher: HostPart, p: PublishedFact, sourcePort: number | undefined, backend: EndpointFact | undefined): TraceHop[] {
  const nft = publisher.snapshot!.nft;
  const chain = portChainName(p.protocol, p.port);
  const mapName = p.local ? localBackendsMapName(p.service.name) : `mesh_backends_${p.service.name}`;
  const at = `${p.hostIp}:${p.port}/${p.protocol}`;
  if (p.table.length === 0) {
    const counter = nft?.counters.find((c) => c.name === "mesh_no_backend");
    return [
      hop(publisher.host, "nftables", `table inet weft set mesh_refused_ports: ${p.protocol} . ${p.port}`, "a backend", "no backend: new connections are refused", {
        problem: `${at} has no backend${p.local ? ` on ${p.host} (mode local serves only its own)` : ""}: connections are rejected at once`,
        cause: `no live endpoint of ${p.service.network} matches the selector of ${p.service.name}${p.local ? ` on ${p.host}` : ""}`,
      }, { ...(counter ? { counters: { packets: counter.packets, bytes: counter.bytes } } : {}), see: ["nft list counter inet weft mesh_no_backend"] }),
    ];
  }
  const rule = nft?.rules.find((r) => r.chain === chain && r.text.includes(`@${mapName}`));
  const hops: TraceHop[] = [
    hop(publisher.host, "nftables", `table inet weft chain ${chain}`, `jhash ... map @${mapName} (${p.table.length} slots) -> port ${p.target}`, rule === undefined ? "missing" : rule.text,
      rule === undefined ? { problem: `${p.host} has no dispatch chain for ${at}`, cause: "weft's table was changed by hand or the agent has not written it yet" } : undefined,
      { see: [`nft list chain inet weft ${chain}`, `nft list map inet weft ${mapName}`] }),
  ];
  const choice = publishedChoice(p, sourcePort);
  if (choice === undefined) return hops;
  const wanted = p.service.backends[choice.index]!;
  const element = nft?.maps.find((m) => m.name === mapName)?.elements.find(([slot]) => Number(slot) === choice.slot);
  const key = p.service.affinity === "client-ip" ? `client ${p.clientIp}` : `client ${p.clientIp} port ${sourcePort ?? "?"}`;
  hops.push(
    hop(publisher.host, "nat", `dnat ${at} -> jhash(${key}) mod ${p.table.length} seed 0x${p.service.hashSeed.toString(16)} map @${mapName}`,
      `slot ${choice.slot} -> ${wanted.ip}:${p.target} (${wanted.name || wanted.endpointId.slice(0, 12)} on ${wanted.owner})`,
      element === undefined ? `slot ${choice.slot} not in the map` : `slot ${choice.slot} -> ${element[1]}`,
      element === undefined || element[1] !== wanted.ip
        ? { problem: `the kernel's Maglev map gives ${element?.[1] ?? "nothing"} for this flow, weft wants ${wanted.ip}`, cause: "the map is being rewritten (backends changed) or was changed by hand" }
        : backend === undefined
          ? { problem: `the chosen backend ${wanted.ip} is not in this agent's gossip view`, cause: "its endpoint was just removed" }
          : undefined,
      { see: [`nft list map inet weft ${mapName} | grep '${choice.slot} :'`, `conntrack -L -p ${p.protocol} --dport ${p.port}`] },
    ),
  );
  return hops;
}
