// The embedded DNS: names of a network's endpoints (from gossip) on each gateway address.
export { answerQuery, failureResponse, MAX_UDP_PAYLOAD, udpLimit, type AnswerContext, type AnswerDecision, type DnsResult } from "./answer-query.js";
export { DnsForwarder, type DnsForwarderOptions, type ForwardOutcome } from "./dns-forwarder.js";
export { DnsServer, type DnsServerOptions, type DnsZone } from "./dns-server.js";
export { GossipRecordSource, type LiveEndpointView } from "./gossip-record-source.js";
export { parseResolvConf, parseUpstream, type Upstream } from "./resolv-conf.js";
export { ZoneIndex, type DnsEndpoint, type DnsRecordSource, type DnsService } from "./zone-index.js";
