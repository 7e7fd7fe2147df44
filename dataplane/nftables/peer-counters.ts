// Per-peer VXLAN counters in weft's table: interface counters cannot split a VXLAN device's traffic by
// remote host, so a rule in the output chain and one in the input chain count the VXLAN UDP sent to and
// received from each peer's underlay address into that peer's named counters, through two maps
// (address -> counter name). A peer joining or leaving changes only its counters and map elements.
// Counter names come from a hash of the node name: valid nft identifiers whatever the name, stable
// when other peers come and go, and computable by whoever reads them (agent/trace/).
import { createHash } from "node:crypto";
import { invalidArgument, parseIPv4, parseName } from "../../proto/values/index.js";
import type { DesiredFirewall } from "../desired-state.js";
import { VXLAN_PORT } from "../overlay/overlay-diff.js";
import type { NftCounter, NftObject, NftSet } from "./nft-table.js";

export const PEER_TX_MAP = "vx_tx_peers";
export const PEER_RX_MAP = "vx_rx_peers";
const PREFIX = /^vx_(tx|rx)_([0-9a-f]{16})$/;

export interface ValidPeer {
  node: string;
  underlayIp: string;
}

/** The key shared by a peer's two counters (vx_tx_<key>, vx_rx_<key>). */
export function peerCounterKey(node: string): string {
  return createHash("sha256").update(node, "utf8").digest("hex").slice(0, 16);
}

export function peerCounterNames(node: string): { tx: string; rx: string } {
  const key = peerCounterKey(node);
  return { tx: `vx_tx_${key}`, rx: `vx_rx_${key}` };
}

/** For a counter name of weft's table: which direction of which peer key it counts, if it is a peer counter. */
export function parsePeerCounterName(name: string): { direction: "tx" | "rx"; key: string } | undefined {
  const match = PREFIX.exec(name);
  return match === null ? undefined : { direction: match[1] as "tx" | "rx", key: match[2] as string };
}

export function validatePeers(peers: DesiredFirewall["peers"]): ValidPeer[] {
  if (peers === undefined) return [];
  if (!Array.isArray(peers)) throw invalidArgument("firewall.peers", "must be a list");
  const nodes = new Set<string>();
  const ips = new Set<string>();
  const valid = peers.map((p, i) => {
    const field = `firewall.peers[${i}]`;
    if (typeof p !== "object" || p === null) throw invalidArgument(field, "must be an object");
    const node = parseName(p.node, `${field}.node`);
    parseIPv4(p.underlayIp, `${field}.underlayIp`);
    if (nodes.has(node)) throw invalidArgument(`${field}.node`, `${node} is listed twice`);
    if (ips.has(p.underlayIp)) throw invalidArgument(`${field}.underlayIp`, `${p.underlayIp} is listed twice`);
    nodes.add(node);
    ips.add(p.underlayIp);
    return { node, underlayIp: p.underlayIp };
  });
  const keys = new Set(valid.map((p) => peerCounterKey(p.node)));
  if (keys.size !== valid.length) throw invalidArgument("firewall.peers", "two node names hash to the same counter name");
  return valid.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
}

/** The counters and maps (empty without peers); the rules that use them are peerRules(). */
export function peerObjects(peers: readonly ValidPeer[]): NftObject[] {
  if (peers.length === 0) return [];
  const counters: NftCounter[] = peers.flatMap((p) => {
    const names = peerCounterNames(p.node);
    return [
      { kind: "counter", name: names.tx, incremental: true },
      { kind: "counter", name: names.rx, incremental: true },
    ];
  });
  const map = (name: string, direction: "tx" | "rx"): NftSet => ({
    kind: "map",
    name,
    declaration: ["type ipv4_addr : counter"],
    elements: new Map(peers.map((p) => [p.underlayIp, `"${peerCounterNames(p.node)[direction]}"`])),
    incremental: true,
  });
  return [...counters, map(PEER_TX_MAP, "tx"), map(PEER_RX_MAP, "rx")];
}

export function peerRules(peers: readonly ValidPeer[]): { output: string[]; input: string[] } {
  if (peers.length === 0) return { output: [], input: [] };
  return {
    output: [`udp dport ${VXLAN_PORT} counter name ip daddr map @${PEER_TX_MAP}`],
    input: [`udp dport ${VXLAN_PORT} counter name ip saddr map @${PEER_RX_MAP}`],
  };
}
