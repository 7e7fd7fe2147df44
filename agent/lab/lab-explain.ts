// What `weft lab up` built, one short paragraph per layer, each with the commands that show it by
// hand in this very lab (its namespaces, devices and addresses). Pure: from the lab's state.
import { DEFAULT_EGRESS_SUBNET } from "../desired-state/egress-part.js";
import { bridgeName, hostIfNameFor, vxlanName } from "../../dataplane/index.js";
import { HOST_UNDERLAY_IF, UNDERLAY_BRIDGE } from "./lab-names.js";
import type { LabState } from "./lab-state.js";

export function explainLab(state: LabState): string {
  const h1 = state.hosts[0];
  const net = state.network;
  if (h1 === undefined || net === undefined) return "";
  const h2 = state.hosts[1] ?? h1;
  const c1 = state.containers.find((c) => c.host === h1.name);
  const c2 = state.containers.find((c) => c.host === h2.name && c !== c1);
  const vx = vxlanName(net.vni);
  const br = bridgeName(net.vni);
  const on = (netns: string, command: string): string => `    ip netns exec ${netns} ${command}`;
  const mtu = state.underlay.mtu ?? 1500;
  const paragraphs: string[][] = [
    [
      `Underlay: ${state.underlay.netns} holds the bridge ${UNDERLAY_BRIDGE} (${state.underlay.subnet}, MTU ${mtu}), the lab's "physical" switch; each host namespace (${state.hosts.map((h) => `${h.netns} ${h.underlayIp}`).join(", ")}) has one link on it, ${HOST_UNDERLAY_IF}, and runs its own weftd there. VXLAN packets between hosts are UDP on port 4789 over it.`,
      on(state.underlay.netns, `bridge link show master ${UNDERLAY_BRIDGE}`),
      on(h1.netns, `ip addr show ${HOST_UNDERLAY_IF}`),
      on(h1.netns, `tcpdump -ni ${HOST_UNDERLAY_IF} udp port 4789    # tcpdump, if installed, while a ping runs`),
    ],
    [
      `VXLAN and FDB: on each host the network ${net.name} (VNI ${net.vni}) has a VXLAN device ${vx} (MTU ${mtu - 50}: 50 bytes go to the outer headers), without learning: for every container on another host the agent writes an FDB entry (its MAC -> that host's underlay address) and a permanent neighbour entry (its IP -> its MAC), so ARP is answered locally and frames go straight to the right host. They come from gossip, not from flooding.`,
      on(h1.netns, `ip -d link show ${vx}`),
      on(h1.netns, `bridge fdb show dev ${vx}`),
      on(h1.netns, `ip neigh show dev ${vx}`),
    ],
    [
      `Bridges and veths: ${vx} is a port of the bridge ${br}, which holds the host's gateway address on the network; each container's eth0 is one end of a veth pair whose other end (weft + 11 hex digits of the endpoint ID${c1 ? `, e.g. ${hostIfNameFor(c1.endpointId)} for ${c1.name}` : ""}) is another port of ${br}. The container's route to its network is eth0, on-link.`,
      on(h1.netns, `bridge link show master ${br}`),
      ...(c1 ? [on(c1.netns, "ip addr show eth0"), on(c1.netns, "ip route")] : []),
    ],
    [
      `Gateway bridge and NAT: each container also has eth1 on weft_gwbridge (${DEFAULT_EGRESS_SUBNET} by default), its default route out; weft's nftables table (inet weft) masquerades that subnet when it leaves by ${HOST_UNDERLAY_IF}, so ${state.world ? `the world (${state.world.netns}, ${state.world.ip})` : "the outside"} sees the host's underlay address. The same table keeps networks apart: nothing is forwarded from one network's bridge to another's${state.isolatedNetwork ? ` (${state.isolatedNetwork.name} cannot reach ${net.name})` : ""}.`,
      on(h1.netns, "ip addr show weft_gwbridge"),
      on(h1.netns, "nft list chain inet weft postrouting"),
      on(h1.netns, "nft list chain inet weft forward"),
    ],
    [
      `DNS: weftd answers on port 53 of each bridge's gateway address with the names of the network's containers (from gossip) and forwards other names; /etc/netns/<container>/resolv.conf points there, so programs run with 'ip netns exec' resolve through weft.`,
      ...(c1 ? [`    cat /etc/netns/${c1.netns}/resolv.conf`, ...(c2 ? [on(c1.netns, `getent hosts ${c2.name}`)] : [])] : []),
    ],
  ];
  if (state.web !== undefined) {
    const web = state.web;
    paragraphs.push([
      `Mesh: the service ${web.service} has the virtual IP ${web.vip ?? "(none)"} and is published on port ${web.published} of every host; nftables DNATs each new connection to one backend (${web.backends.map((b) => `${b.name} ${b.ip}`).join(", ")}), picked by jhash of the client address and port in the service's Maglev table, the same on every host.`,
      on(h1.netns, `nft list map inet weft mesh_backends_${web.service} | head`),
      on(h1.netns, `nft list chain inet weft mesh_vip_${web.service}`),
      ...(state.world ? [on(state.world.netns, `curl -s http://${h1.underlayIp}:${web.published}/`)] : []),
    ]);
  }
  if (c1 && c2) {
    paragraphs.push([
      `Trace: 'weft lab trace' shows the path of one packet from ${c1.name} to ${c2.name}, hop by hop, as each host's kernel holds it (add --probe to send one and watch the counters move).`,
      `    weft lab trace ${c1.name} ${c2.name} --probe`,
    ]);
  }
  return "What the lab built (see each layer by hand):\n\n" + paragraphs.map((p) => p.join("\n")).join("\n\n") + "\n";
}
