// The traffic view's "peer" links: VXLAN sent to and received from each other host, read from the
// per-peer counters of weft's table (dataplane/nftables/peer-counters.ts). A host reports its counters
// by key (a hash of the peer's node name); the asking agent, which knows the members, names the peer.
// Pure.
import { parsePeerCounterName, peerCounterKey, type InetCounter } from "../../dataplane/index.js";
import type { LinkTraffic } from "./trace-report.js";

/** One link per peer key found among weft's counters: name "vx_<key>", tx and rx from its two counters. */
export function peerTraffic(host: string, counters: readonly InetCounter[]): LinkTraffic[] {
  const byKey = new Map<string, LinkTraffic>();
  for (const counter of counters) {
    const parsed = parsePeerCounterName(counter.name);
    if (parsed === undefined) continue;
    let link = byKey.get(parsed.key);
    if (link === undefined) {
      link = { host, kind: "peer", name: `vx_${parsed.key}`, rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0 };
      byKey.set(parsed.key, link);
    }
    if (parsed.direction === "tx") {
      link.txBytes = counter.bytes;
      link.txPackets = counter.packets;
    } else {
      link.rxBytes = counter.bytes;
      link.rxPackets = counter.packets;
    }
  }
  return [...byKey.values()];
}

/** Each peer link with `peer` set to the member whose key it carries; peer links of no member are left out. */
export function namePeers(links: readonly LinkTraffic[], members: readonly string[]): LinkTraffic[] {
  const byKey = new Map(members.map((m) => [`vx_${peerCounterKey(m)}`, m]));
  return links.flatMap((link) => {
    if (link.kind !== "peer") return [link];
    const peer = link.peer ?? byKey.get(link.name);
    return peer === undefined || peer === link.host ? [] : [{ ...link, peer }];
  });
}
