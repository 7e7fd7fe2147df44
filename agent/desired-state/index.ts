// The desired kernel state of this host, one part per feature: the overlay now; egress, services and
// DNS each add their own part (and the dataplane its own differ) here, without growing the others.
export { buildOverlayPart, overlayMtu, remoteEntryProblem, VXLAN_OVERHEAD, type OverlayInput, type OverlayPart, type SkippedEntry } from "./overlay-part.js";
export { buildEgressPart, EGRESS_BRIDGE, DEFAULT_EGRESS_SUBNET, type EgressInput } from "./egress-part.js";
export { buildFirewallPart, DNS_PORT, type FirewallInput } from "./firewall-part.js";
export { buildHostDesiredState, type HostDesired, type HostDesiredInput } from "./host-desired-state.js";
