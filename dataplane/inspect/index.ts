// Reading live kernel state for a trace (iproute2 and nft JSON, parsed by pure functions) and sending
// one probe from a container's namespace. Never writes anything.
export type * from "./kernel-snapshot.js";
export { parseFdb, parseLinks, parseNeighbours, parseRouteGet } from "./iproute-json.js";
export { parseNftChain, parseNftCounters, parseNftMap } from "./nft-json.js";
export { jhash, meshSlot, reciprocalScale } from "./nft-jhash.js";
export { inspectHost, type CommandRunner, type InspectQuery, type NamespaceQuery } from "./host-inspector.js";
export { sendProbe, type ProbeResult, type ProbeSpec } from "./probe.js";
