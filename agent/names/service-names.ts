// Services' names in the embedded DNS, in their network's zone only: NAME and NAME.NETWORK answer the
// VIP (vip mode) or the backends (dnsrr, shuffled like every answer); tasks.NAME answers the backends.
import type { DnsRecordSource, DnsService, GossipRecordSource } from "../dns/index.js";
import type { ServiceWithBackends } from "../desired-state/mesh-part.js";
import type { ServiceView } from "../services/service-view.js";

export function dnsService({ record, backends }: ServiceWithBackends): DnsService {
  const tasks = backends.map((b) => b.ip);
  if (record.mode === "vip" && record.vip !== undefined) return { name: record.name, addresses: [record.vip], tasks, vip: record.vip };
  return { name: record.name, addresses: tasks, tasks };
}

/** The endpoints' names from gossip, with the services' names; the revision moves when either does. */
export function withServiceNames(endpoints: GossipRecordSource, services: Pick<ServiceView, "inNetwork" | "revision">): DnsRecordSource {
  return {
    endpoints: (network) => endpoints.endpoints(network),
    services: (network) => services.inNetwork(network).map(dnsService),
    revision: () => endpoints.revision() + services.revision(),
  };
}
