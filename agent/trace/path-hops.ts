// The hops of an overlay path between two endpoints of one network, each comparing what weft wants
// with what one host's kernel snapshot holds. Pure.
import { bridgeName, hostIfNameFor, vxlanName } from "../../dataplane/index.js";
import { printable } from "../../proto/values/index.js";
import type { HostSnapshot, LinkSnapshot } from "../../dataplane/inspect/index.js";
import type { EndpointFact, HostPart, NetworkFact, PeerFact } from "./trace-facts.js";
import type { HopCounters, HopLayer, TraceHop } from "./trace-report.js";

export type Direction = "rx" | "tx";

export function hop(host: string, layer: HopLayer, object: string, expected: string, actual: string, problem?: { problem: string; cause: string }, extra: Partial<TraceHop> = {}): TraceHop {
  return { host, layer, object, expected, actual, ok: problem === undefined, ...(problem ?? {}), ...extra };
}

export function linkCounters(part: HostPart, name: string, direction: Direction, namespace?: string): HopCounters | undefined {
  const inNamespace = (s: HostSnapshot | undefined): LinkSnapshot | undefined => {
    const ns = namespace === undefined ? undefined : s?.namespaces[namespace];
    return ns?.routeLink?.name === name ? ns.routeLink : ns?.link;
  };
  const pick = (s: HostSnapshot | undefined): LinkSnapshot | undefined => (namespace === undefined ? s?.links.find((l) => l.name === name) : inNamespace(s));
  const now = pick(part.snapshot);
  if (now === undefined) return undefined;
  const packets = direction === "rx" ? now.counters.rxPackets : now.counters.txPackets;
  const bytes = direction === "rx" ? now.counters.rxBytes : now.counters.txBytes;
  const counters: HopCounters = { packets, bytes };
  const before = pick(part.before);
  if (before !== undefined) {
    counters.packetsDelta = packets - (direction === "rx" ? before.counters.rxPackets : before.counters.txPackets);
    counters.bytesDelta = bytes - (direction === "rx" ? before.counters.rxBytes : before.counters.txBytes);
  }
  return counters;
}

function withCounters(counters: HopCounters | undefined): Partial<TraceHop> {
  return counters === undefined ? {} : { counters };
}

function linkState(link: LinkSnapshot | undefined): string {
  if (link === undefined) return "missing";
  return `${link.up ? "up" : `down (${link.operstate})`}, mtu ${link.mtu}${link.master ? `, master ${link.master}` : ""}`;
}

/** How to run a command in the container's namespace by hand: `ip netns exec NAME` or nsenter for a path. */
function enterCommand(netns: string | undefined, ep: EndpointFact): string {
  if (netns === undefined || netns === "") return `ip netns exec <netns of ${ep.name || ep.id.slice(0, 12)}>`;
  return netns.includes("/") ? `nsenter --net=${printable(netns)}` : `ip netns exec ${printable(netns)}`;
}

/** The container's interface and the route it takes to `dst`, read inside its namespace. */
export function containerHops(part: HostPart, ep: EndpointFact, network: NetworkFact, dst: string, expectDev: string | undefined, direction: Direction = "tx"): TraceHop[] {
  const snapshot = part.snapshot!;
  const ns = snapshot.namespaces[ep.id];
  const netnsNote = enterCommand(ns?.netns, ep);
  if (ns === undefined || ns.error !== undefined) {
    return [hop(part.host, "container", `endpoint ${ep.name || ep.id.slice(0, 12)} (${ep.ip})`, "its namespace, with eth0 up", ns?.error ?? "not read", {
      problem: "the container's namespace could not be read",
      cause: "the container stopped or its namespace was deleted without a detach",
    })];
  }
  // A flow that leaves by another interface (the egress leg, to a host address) is shown on that one.
  const leg = ns.routeLink;
  const link = leg ?? ns.link;
  const expected = leg === undefined ? `up, mtu ${network.mtu}` : "up";
  const mtuWrong = leg === undefined && link !== undefined && link.mtu !== network.mtu;
  const problem = link === undefined || !link.up
    ? { problem: `${ep.name || "the container"}'s interface is ${link === undefined ? "missing" : "down"}`, cause: "set down or removed inside the container" }
    : mtuWrong
      ? { problem: `MTU mismatch: the container's interface has ${link.mtu}, the network ${network.mtu}`, cause: link.mtu > network.mtu ? "changed by hand inside the container: large packets will be dropped in the VXLAN tunnel" : "changed by hand inside the container" }
      : undefined;
  const hops = [
    hop(part.host, "container", `${ep.name || ep.id.slice(0, 12)} ${link?.name ?? "eth0"} ${leg === undefined ? ep.ip : (ns.route?.prefsrc ?? "")}`.trimEnd(), expected, linkState(link), problem, {
      ...withCounters(linkCounters(part, link?.name ?? "", direction, ep.id)),
      see: [`${netnsNote} ip -s link show ${link?.name ?? "eth0"}`],
    }),
  ];
  const route = ns.route;
  const routeText = route === undefined ? "no route" : `${route.dst} dev ${route.dev}${route.gateway ? ` via ${route.gateway}` : ""}`;
  const wrongDev = expectDev !== undefined && route !== undefined && route.dev !== expectDev;
  hops.push(
    hop(part.host, "route", `route get ${dst}`, expectDev === undefined ? "a route" : `${dst} dev ${expectDev}`, routeText,
      route === undefined
        ? { problem: `${ep.name || "the container"} has no route to ${dst}`, cause: "its routes were changed by hand" }
        : wrongDev
          ? { problem: `the container sends ${dst} out of ${route.dev}, not ${expectDev}`, cause: "its routes were changed by hand" }
          : undefined,
      { see: [`${netnsNote} ip route get ${dst}`] },
    ),
  );
  return hops;
}

/** The endpoint's host-side veth and the network's bridge on its host. */
export function vethBridgeHops(part: HostPart, ep: EndpointFact, network: NetworkFact, direction: Direction): TraceHop[] {
  const snapshot = part.snapshot!;
  const vethName = hostIfNameFor(ep.id);
  const bridge = bridgeName(network.vni);
  const veth = snapshot.links.find((l) => l.name === vethName);
  const br = snapshot.links.find((l) => l.name === bridge);
  const vethProblem = veth === undefined
    ? { problem: `the veth ${vethName} of ${ep.name || ep.id.slice(0, 12)} is missing`, cause: "deleted by hand or by the container runtime; the agent withdraws the endpoint when its namespace is gone" }
    : !veth.up
      ? { problem: `the veth ${vethName} is down`, cause: "set down by hand (ip link set ... down)" }
      : veth.master !== bridge
        ? { problem: `the veth ${vethName} is not a port of ${bridge}`, cause: "moved to another bridge by hand" }
        : undefined;
  const brProblem = br === undefined
    ? { problem: `the bridge ${bridge} is missing`, cause: "deleted by hand; the agent recreates it at its next reconcile (within 30 s)" }
    : !br.up
      ? { problem: `the bridge ${bridge} is down`, cause: "set down by hand" }
      : undefined;
  return [
    hop(part.host, "veth", vethName, `up, master ${bridge}`, linkState(veth), vethProblem, { ...withCounters(linkCounters(part, vethName, direction === "tx" ? "rx" : "tx")), see: [`ip -s link show ${vethName}`] }),
    // No counters: a bridge device counts only what reaches the host itself, not the frames it switches.
    hop(part.host, "bridge", bridge, "up", linkState(br), brProblem, { see: [`bridge link show master ${bridge}`, `bridge fdb show br ${bridge}`] }),
  ];
}

/** On the sending host: the FDB entry and the neighbour entry for the destination, and the VXLAN device. */
export function tunnelSendHops(part: HostPart, dst: EndpointFact, network: NetworkFact, underlayMtu: number): TraceHop[] {
  const snapshot = part.snapshot!;
  const vx = vxlanName(network.vni);
  const fdb = snapshot.fdb.find((e) => e.device === vx && e.mac === dst.mac.toLowerCase());
  const fdbProblem = fdb === undefined
    ? {
        problem: `${part.host} has no FDB entry for ${dst.name || dst.ip} (${dst.mac}) on ${vx}: its frames are not sent to ${dst.node}'s VTEP ${dst.vtep}`,
        cause: `the entry was removed by hand (or never programmed); gossip holds the endpoint, so the agent on ${part.host} adds it again at its next reconcile (within 30 s)`,
      }
    : fdb.dst !== dst.vtep
      ? { problem: `the FDB entry for ${dst.mac} points at ${fdb.dst}, not at ${dst.node}'s VTEP ${dst.vtep}`, cause: "changed by hand, or the endpoint moved and the agent has not caught up" }
      : undefined;
  const neigh = snapshot.neighbours.find((n) => n.device === vx && n.ip === dst.ip);
  const neighProblem = neigh === undefined || neigh.mac === undefined
    ? { problem: `${part.host} has no neighbour entry for ${dst.ip} on ${vx}: ARP for it is not answered locally`, cause: "removed by hand; the agent adds it again at its next reconcile (within 30 s)" }
    : neigh.mac !== dst.mac.toLowerCase()
      ? { problem: `the neighbour entry for ${dst.ip} has MAC ${neigh.mac}, not ${dst.mac}`, cause: "changed by hand" }
      : undefined;
  return [
    hop(part.host, "neighbour", `neigh ${dst.ip} dev ${vx}`, `lladdr ${dst.mac} PERMANENT`, neigh === undefined ? "missing" : `lladdr ${neigh.mac ?? "none"} ${neigh.state.join(",")}`, neighProblem, {
      see: [`ip neigh show ${dst.ip} dev ${vx}`],
    }),
    hop(part.host, "fdb", `fdb ${dst.mac} dev ${vx}`, `dst ${dst.vtep} (${dst.node})`, fdb === undefined ? "missing" : `dst ${fdb.dst} ${fdb.state}`, fdbProblem, {
      see: [`bridge fdb show dev ${vx} | grep ${dst.mac}`],
    }),
    vxlanHop(part, network, underlayMtu, "tx"),
  ];
}

export function vxlanHop(part: HostPart, network: NetworkFact, underlayMtu: number, direction: Direction): TraceHop {
  const vx = vxlanName(network.vni);
  const link = part.snapshot!.links.find((l) => l.name === vx);
  const expectedMtu = Math.min(network.mtu, underlayMtu - 50);
  const problem = link === undefined
    ? { problem: `the VXLAN device ${vx} is missing on ${part.host}`, cause: "deleted by hand; the agent recreates it at its next reconcile (within 30 s)" }
    : !link.up
      ? { problem: `the VXLAN device ${vx} is down on ${part.host}`, cause: "set down by hand" }
      : link.mtu > underlayMtu - 50
        ? { problem: `MTU mismatch: ${vx} has MTU ${link.mtu}, more than the underlay's ${underlayMtu} minus 50 bytes of VXLAN`, cause: "changed by hand: full-size packets are dropped on the underlay" }
        : undefined;
  return hop(part.host, "vxlan", `${vx} (VNI ${network.vni})`, `up, mtu ${expectedMtu}`, linkState(link), problem, {
    ...withCounters(linkCounters(part, vx, direction)),
    see: [`ip -d -s link show ${vx}`],
  });
}

/** The sender's route to the peer's VTEP over the underlay, and the peer's liveness as gossip sees it. */
export function underlayHops(part: HostPart, peer: PeerFact | undefined, vtep: string, peerName: string, answered: boolean): TraceHop[] {
  const route = part.snapshot!.routes.find((r) => r.dst === vtep);
  const hops = [
    hop(part.host, "underlay", `route get ${vtep}`, `a route to ${peerName}'s VTEP ${vtep}`, route === undefined ? "no route" : `dev ${route.dev}${route.gateway ? ` via ${route.gateway}` : ""}`,
      route === undefined ? { problem: `${part.host} has no underlay route to ${peerName} (${vtep})`, cause: "the underlay interface is down or its address was removed" } : undefined,
      { ...withCounters(route === undefined ? undefined : linkCounters(part, route.dev, "tx")), see: [`ip route get ${vtep}`, "tcpdump -ni <underlay> udp port 4789"] },
    ),
  ];
  const state = peer?.state ?? "unknown";
  const problem = !answered
    ? { problem: `${peerName}'s agent did not answer`, cause: state === "alive" ? "its agent is stopped, overloaded or unreachable on the gossip port" : `gossip sees ${peerName} as ${state}: its agent is stopped or the host is unreachable` }
    : state === "suspect" || state === "dead"
      ? { problem: `gossip sees ${peerName} as ${state}`, cause: "its agent was not heard from recently (stopped, paused or partitioned)" }
      : undefined;
  hops.push(hop(part.host, "peer", `peer ${peerName} (${vtep})`, "alive, answering", `${state}${answered ? ", answered" : ", did not answer"}`, problem, { see: ["weft peers"] }));
  return hops;
}
