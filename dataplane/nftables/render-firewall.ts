// weft's firewall as a table value (nft-table.ts): one table, `inet weft`, built from the desired state's
// firewall part and mesh (dataplane/mesh/). Written as ONE `nft -f` transaction, either whole (delete the
// old table, write the new) or, when only the mesh's per-service objects changed, just those. Pure and
// deterministic: the same DesiredFirewall and DesiredMesh give the same table.
//
// What it enforces (the only cross-network path left is the host's routing: overlay traffic is L2 on
// each network's own bridge, and each bridge carries one network):
// - forward: a packet entering or leaving an overlay bridge must stay on that same bridge (with
//   br_netfilter, bridged traffic is seen here with iif = oif = the bridge); so no path between two
//   networks, between a network and the gwbridge, or out of (or into) a network through host routing.
//   Internal networks' addresses are never forwarded off their bridge whatever the interface.
//   Connections DNATed on this host pass (after that rule, so never out of an internal network): the
//   mesh's published ports and VIPs, and port mappings the operator set up (CNI portmap: podman run -p).
// - forward on the gwbridge: members never reach each other (ICC off), and nothing but replies enters it.
// - input from a container-facing bridge: replies, and dnsPort (udp, tcp) on that bridge's own gateway
//   address; everything else to the host is dropped.
// - input and output: VXLAN to and from each peer host is counted (peer-counters.ts), nothing dropped.
// - postrouting: the egress subnet is masqueraded when it leaves through the underlay interface. VXLAN
//   packets carry the host's underlay address as their source, so they are never matched.
// Base chains have policy accept and each drop matches one of weft's interfaces or subnets: other
// tools' tables (Docker, podman, flannel) are neither read nor changed. Sets keyed by interface name
// keep the rule count fixed however many networks there are.
import {
  cidrContainsCidr,
  cidrsOverlap,
  formatIPv4Cidr,
  invalidArgument,
  parseIPv4,
  parseIPv4Cidr,
  parseInterfaceName,
  type IPv4Cidr,
} from "../../proto/values/index.js";
import type { DesiredFirewall, DesiredMesh } from "../desired-state.js";
import { meshBackendIps, meshObjects } from "../mesh/mesh-objects.js";
import { validateMesh } from "../mesh/mesh-validation.js";
import { diffTable, type TableChange } from "./nft-table-diff.js";
import { renderTable, type NftChain, type NftObject, type NftSet, type NftTable } from "./nft-table.js";
import { peerObjects, peerRules, validatePeers, type ValidPeer } from "./peer-counters.js";

export { FIREWALL_FAMILY, FIREWALL_TABLE } from "./table-name.js";

// Filter chains run just before the usual `filter` priority (Docker's, podman's and firewalld's chains),
// so weft's drops come first and its accepts end only its own chains. NAT runs at the usual srcnat and
// matches only weft's egress subnet, so no tool rewrites the other's traffic.
const FILTER_PRIORITY = "filter - 10";
const NAT_PRIORITY = "srcnat";
const HEADER = "# weft's firewall, rendered by dataplane/nftables/render-firewall.ts.";

interface ValidNetwork {
  vni: number;
  bridge: string;
  subnet: IPv4Cidr;
  gatewayIp: string;
  internal: boolean;
}

interface ValidFirewall {
  underlayIface: string;
  egress: { bridge: string; subnet: IPv4Cidr } | undefined;
  networks: ValidNetwork[];
  dnsPort: number;
  peers: ValidPeer[];
}

/** The nft script that replaces weft's table whole. Throws a WeftError naming the field for bad input. */
export function renderFirewall(f: DesiredFirewall, mesh?: DesiredMesh): string {
  return renderTable(firewallTable(f, mesh), HEADER);
}

/** The changes from `written` to `wanted` as an nft script (see diffTable). */
export function firewallChange(written: NftTable | undefined, wanted: NftTable): TableChange {
  return diffTable(written, wanted, HEADER);
}

/** weft's table for the firewall part and the mesh (absent: no services). Throws a WeftError naming the field. */
export function firewallTable(f: DesiredFirewall, mesh: DesiredMesh = { services: [] }): NftTable {
  const v = validateFirewall(f);
  const validMesh = validateMesh(mesh, v.networks);
  const bridges = v.networks.map((n) => quote(n.bridge));
  const internal = v.networks.filter((n) => n.internal).map((n) => formatIPv4Cidr(n.subnet));
  const peers = peerRules(v.peers);
  const clientSubnets = [...v.networks.map((n) => formatIPv4Cidr(n.subnet)), ...(v.egress ? [formatIPv4Cidr(v.egress.subnet)] : [])];
  const objects: NftObject[] = [
    set("overlay_bridges", ["type ifname"], bridges),
    set("same_bridge", ["type ifname . ifname"], bridges.map((b) => `${b} . ${b}`)),
    set("internal_subnets", ["type ipv4_addr", "flags interval", "auto-merge"], internal),
    set("dns_listeners", ["type ifname . ipv4_addr"], v.networks.map((n) => `${quote(n.bridge)} . ${n.gatewayIp}`)),
    ...peerObjects(v.peers),
    chain("input", `type filter hook input priority ${FILTER_PRIORITY}; policy accept;`, [
      "iifname @overlay_bridges jump from_container",
      ...(v.egress ? [`iifname ${quote(v.egress.bridge)} jump from_container`] : []),
      ...peers.input,
    ]),
    ...(peers.output.length > 0 ? [chain("output", `type filter hook output priority ${FILTER_PRIORITY}; policy accept;`, peers.output)] : []),
    chain("from_container", undefined, [
      "ct state established,related accept",
      `meta l4proto { tcp, udp } th dport ${v.dnsPort} iifname . ip daddr @dns_listeners accept`,
      "drop",
    ]),
    chain("forward", `type filter hook forward priority ${FILTER_PRIORITY}; policy accept;`, [
      "ip saddr @internal_subnets iifname . oifname != @same_bridge drop",
      "ct status dnat accept",
      "iifname @overlay_bridges iifname . oifname != @same_bridge drop",
      "oifname @overlay_bridges iifname . oifname != @same_bridge drop",
      ...(v.egress
        ? [
            `iifname ${quote(v.egress.bridge)} oifname ${quote(v.egress.bridge)} drop`,
            `oifname ${quote(v.egress.bridge)} ct state established,related accept`,
            `oifname ${quote(v.egress.bridge)} drop`,
          ]
        : []),
    ]),
    ...(v.egress
      ? [
          chain("postrouting", `type nat hook postrouting priority ${NAT_PRIORITY}; policy accept;`, [
            `oifname ${quote(v.underlayIface)} ip saddr ${formatIPv4Cidr(v.egress.subnet)} masquerade`,
          ]),
        ]
      : []),
    ...meshObjects(validMesh, { clientSubnets, internalSubnetsSet: "internal_subnets" }),
  ];
  return { objects: new Map(objects.map((o) => [o.name, o])), meshBackends: meshBackendIps(validMesh) };
}

function set(name: string, declaration: string[], elements: string[]): NftSet {
  return { kind: "set", name, declaration, elements: new Map(elements.map((e) => [e, undefined])), incremental: false };
}

function chain(name: string, hook: string | undefined, rules: string[]): NftChain {
  return { kind: "chain", name, ...(hook === undefined ? {} : { hook }), rules, incremental: false };
}

/** Interface names are validated (no quote, backslash or '*', which nft reads as a wildcard). */
function quote(ifname: string): string {
  return `"${ifname}"`;
}

function validateFirewall(f: DesiredFirewall): ValidFirewall {
  if (typeof f !== "object" || f === null) throw invalidArgument("firewall", "must be an object");
  const underlayIface = parseInterfaceName(f.underlayIface, "firewall.underlayIface");
  if (!Number.isInteger(f.dnsPort) || f.dnsPort < 1 || f.dnsPort > 65535) {
    throw invalidArgument("firewall.dnsPort", `${String(f.dnsPort)} is not a port (1-65535)`);
  }
  let egress: ValidFirewall["egress"];
  if (f.egress !== undefined) {
    egress = {
      bridge: parseInterfaceName(f.egress?.bridge, "firewall.egress.bridge"),
      subnet: parseIPv4Cidr(f.egress?.subnet, "firewall.egress.subnet"),
    };
    if (egress.bridge === underlayIface) throw invalidArgument("firewall.egress.bridge", `${egress.bridge} is the underlay interface`);
  }
  if (!Array.isArray(f.networks)) throw invalidArgument("firewall.networks", "must be a list");
  const networks = f.networks.map((n, i) => validateNetwork(n, `firewall.networks[${i}]`));
  const taken = new Map<string, string>([[underlayIface, "the underlay interface"]]);
  if (egress) taken.set(egress.bridge, "the egress bridge");
  networks.forEach((n, i) => {
    const field = `firewall.networks[${i}]`;
    const user = taken.get(n.bridge);
    if (user !== undefined) throw invalidArgument(`${field}.bridge`, `${n.bridge} is already ${user}`);
    taken.set(n.bridge, `the bridge of ${field}`);
    if (egress && cidrsOverlap(egress.subnet, n.subnet)) {
      throw invalidArgument(`${field}.subnet`, `${formatIPv4Cidr(n.subnet)} overlaps the egress subnet ${formatIPv4Cidr(egress.subnet)}`);
    }
  });
  networks.sort((a, b) => a.vni - b.vni || (a.bridge < b.bridge ? -1 : a.bridge > b.bridge ? 1 : 0));
  return { underlayIface, egress, networks, dnsPort: f.dnsPort, peers: validatePeers(f.peers) };
}

function validateNetwork(n: DesiredFirewall["networks"][number], field: string): ValidNetwork {
  if (typeof n !== "object" || n === null) throw invalidArgument(field, "must be an object");
  if (!Number.isInteger(n.vni) || n.vni < 1 || n.vni > 0xffffff) throw invalidArgument(`${field}.vni`, `${String(n.vni)} is not a VNI (1-16777215)`);
  const bridge = parseInterfaceName(n.bridge, `${field}.bridge`);
  const subnet = parseIPv4Cidr(n.subnet, `${field}.subnet`);
  parseIPv4(n.gatewayIp, `${field}.gatewayIp`);
  if (!cidrContainsCidr(subnet, { base: parseIPv4(n.gatewayIp), prefix: 32 })) {
    throw invalidArgument(`${field}.gatewayIp`, `${n.gatewayIp} is outside the network's subnet ${formatIPv4Cidr(subnet)}`);
  }
  if (typeof n.internal !== "boolean") throw invalidArgument(`${field}.internal`, "must be true or false");
  return { vni: n.vni, bridge, subnet, gatewayIp: n.gatewayIp, internal: n.internal };
}
