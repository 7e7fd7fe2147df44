// Desired firewalls rendered into the golden files (golden/<case>.nft); the e2e test applies each
// golden file in a fresh namespace.
import type { DesiredFirewall } from "../../../../dataplane/index.js";

type FirewallNetwork = DesiredFirewall["networks"][number];

export function firewallNetwork(vni: number, third: number, overrides: Partial<FirewallNetwork> = {}): FirewallNetwork {
  return { name: `net${vni}`, vni, bridge: `weft-br${vni}`, subnet: `10.${third}.0.0/16`, gatewayIp: `10.${third}.1.1`, internal: false, ...overrides };
}

const EGRESS = { bridge: "weft_gwbridge", subnet: "172.18.0.0/16" };

export const GOLDEN_CASES: Readonly<Record<string, DesiredFirewall>> = {
  // No networks yet: empty sets, no NAT chain.
  empty: { underlayIface: "eth0", networks: [], dnsPort: 53 },
  "no-egress": { underlayIface: "eth0", networks: [firewallNetwork(42, 40)], dnsPort: 53 },
  egress: { underlayIface: "eth0", egress: EGRESS, networks: [firewallNetwork(42, 40)], dnsPort: 53 },
  internal: {
    underlayIface: "ens3",
    egress: EGRESS,
    networks: [firewallNetwork(42, 40), firewallNetwork(7, 41, { internal: true, name: "secrets" })],
    dnsPort: 53,
  },
  "two-networks": {
    underlayIface: "eth0",
    egress: EGRESS,
    networks: [firewallNetwork(43, 41), firewallNetwork(42, 40)],
    dnsPort: 53,
  },
  // Two other hosts: their VXLAN counted per peer (a node name nft could not take as an identifier).
  peers: {
    underlayIface: "eth0",
    egress: EGRESS,
    networks: [firewallNetwork(42, 40)],
    dnsPort: 53,
    peers: [
      { node: "host-2.example", underlayIp: "192.168.50.12" },
      { node: "h3", underlayIp: "192.168.50.13" },
    ],
  },
};

export const goldenFile = (name: string): string => new URL(`./golden/${name}.nft`, import.meta.url).pathname;
