// Builds the agent's ClusterObserver and makes its gossip node answer peers' observation queries
// with this host's kernel (the handler the gossip routes Observe frames to).
import type { GossipNode } from "../../controlplane/gossip/index.js";
import type { NetworkRecord } from "../../controlplane/registry/index.js";
import type { ServiceWithBackends } from "../desired-state/mesh-part.js";
import type { EndpointView } from "../endpoints/endpoint-view.js";
import type { PeerView } from "../peers/peer-directory.js";
import type { LocalEndpoint } from "../state-store.js";
import { sliceContains } from "../../proto/values/index.js";
import { AgentClusterObserver } from "./cluster-observer.js";
import { ObservationHandler } from "./observation-handler.js";
import type { ClusterObserver } from "./trace-report.js";

export interface AgentObserverOptions {
  node: string;
  underlay: { ip: string; mtu: number };
  gossip: Pick<GossipNode, "setObserveHandler" | "observe">;
  localEndpoints(): readonly LocalEndpoint[];
  networks(): NetworkRecord[];
  endpoints(): EndpointView[];
  services(): ServiceWithBackends[];
  peers(): PeerView[];
}

export function createAgentObserver(o: AgentObserverOptions): ClusterObserver {
  const handler = new ObservationHandler({
    node: o.node,
    localEndpoints: o.localEndpoints,
    networks: o.networks,
    probeRefusal: (endpoint, dst) => {
      const subnet = o.networks().find((n) => n.name === endpoint.network)?.subnet;
      if (subnet !== undefined && sliceContains(subnet, dst)) return undefined;
      if (dst === o.underlay.ip || o.peers().some((p) => p.underlayIp === dst)) return undefined;
      return `a probe from ${endpoint.name || endpoint.id.slice(0, 12)} goes only to its network (${subnet ?? "unknown"}) or a member's underlay address, not ${dst}`;
    },
  });
  o.gossip.setObserveHandler(handler.handleBytes);
  return new AgentClusterObserver({
    node: o.node,
    underlay: o.underlay,
    endpoints: o.endpoints,
    networks: o.networks,
    services: o.services,
    peers: o.peers,
    local: handler,
    ask: (peer, query, timeoutMs) => o.gossip.observe(peer, query, timeoutMs),
  });
}
