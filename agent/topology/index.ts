// The live topology page served by weftd (`--topology-listen`): what weftd and the tests use.
export { startTopologyServer, type TopologyServer, type TopologyServerOptions } from "./topology-server.js";
export { buildTopologySnapshot, type TopologySnapshot, type TopologyInput, type TopologyHost, type TopologyEndpoint, type TopologyService, type TopologyLink } from "./topology-snapshot.js";
export { linkRate, linkRates, linkKey, type LinkRate, type TrafficSample } from "./link-rates.js";
export { parseTraceQuery, isAddressHost } from "./topology-request.js";
export type { TopologyAgent } from "./topology-feed.js";
