// An agent's answer to an observation query, its own or a peer's: reads this host's kernel for the
// objects the query names (mapped to weft's names and this agent's recorded namespaces), sends a probe
// from a local endpoint, or lists its links' traffic. At most a few answers run at once (each spawns
// ip/bridge/nft): more are refused as busy, so a peer cannot pile work on this host.
import { bridgeName, FIREWALL_TABLE, hostIfNameFor, readInetCounters, vxlanName, type InetCounter } from "../../dataplane/index.js";
import { inspectHost, sendProbe, type HostSnapshot, type InspectQuery, type ProbeResult, type ProbeSpec } from "../../dataplane/inspect/index.js";
import { errorText } from "../../proto/values/index.js";
import { EGRESS_BRIDGE } from "../desired-state/egress-part.js";
import type { LocalEndpoint } from "../state-store.js";
import { encodeJson, parseObserveQuery, type ObserveQuery, type ObserveReply } from "./observe-query.js";
import { localBackendsMapName, portChainName } from "./published-hops.js";
import { backendsMapName, vipChainName } from "./trace-analysis.js";
import { peerTraffic } from "./peer-traffic.js";
import type { LinkTraffic } from "./trace-report.js";

const PROBE_TIMEOUT_MS = 2000;

export interface ObservationHandlerOptions {
  node: string;
  localEndpoints(): readonly LocalEndpoint[];
  /** The networks this agent knows, for naming VXLAN devices in the traffic view. */
  networks(): ReadonlyArray<{ name: string; vni: number }>;
  inspect?: (host: string, query: InspectQuery) => Promise<HostSnapshot>;
  probe?: (spec: ProbeSpec) => Promise<ProbeResult>;
  /** The named counters of weft's table (default: read by netlink, cheap however big the table is). */
  counters?: () => readonly InetCounter[];
  /**
   * Why a probe from `endpoint` to `dst` is refused, or undefined when allowed: any member may ask, so
   * a probe goes only where a trace leads (the endpoint's network, a member's underlay address).
   */
  probeRefusal?: (endpoint: LocalEndpoint, dst: string) => string | undefined;
  maxConcurrent?: number;
}

export class ObservationHandler {
  private running = 0;

  constructor(private readonly options: ObservationHandlerOptions) {}

  /** For the gossip node: a peer's query bytes in, the reply's bytes out (never more than maxBytes). */
  readonly handleBytes = async (bytes: Uint8Array, _from: string, maxBytes: number): Promise<Uint8Array> => {
    let reply: ObserveReply;
    try {
      reply = await this.answer(parseObserveQuery(bytes));
    } catch (err) {
      reply = { error: errorText(err) };
    }
    const encoded = encodeJson(reply);
    return encoded.length <= maxBytes ? encoded : encodeJson({ error: `the answer (${encoded.length} bytes) exceeds ${maxBytes} bytes` });
  };

  async answer(query: ObserveQuery): Promise<ObserveReply> {
    const max = this.options.maxConcurrent ?? 2;
    if (this.running >= max) return { error: `busy: ${max} observations already running on ${this.options.node}` };
    this.running += 1;
    try {
      if (query.traffic) return { traffic: await this.traffic() };
      if (query.probe !== undefined) return { probe: await this.probe(query.probe) };
      return { snapshot: await this.snapshot(query) };
    } finally {
      this.running -= 1;
    }
  }

  private local(id: string): LocalEndpoint | undefined {
    return this.options.localEndpoints().find((e) => e.id === id);
  }

  private async snapshot(query: ObserveQuery): Promise<HostSnapshot> {
    const inspect: InspectQuery = { links: [], fdb: [], neighbours: [], routesTo: query.routesTo, namespaces: [] };
    const missing: string[] = [];
    for (const { id, routeTo } of query.endpoints) {
      const endpoint = this.local(id);
      if (endpoint === undefined) {
        missing.push(id);
        continue;
      }
      inspect.links.push(hostIfNameFor(endpoint.id));
      inspect.namespaces.push({ endpointId: id, netns: endpoint.netns, ifName: endpoint.ifName, ...(routeTo !== undefined ? { routeTo } : {}) });
    }
    for (const { vni, macs, ips } of query.networks) {
      inspect.links.push(bridgeName(vni), vxlanName(vni));
      if (macs.length > 0) inspect.fdb.push({ device: vxlanName(vni), macs });
      if (ips.length > 0) inspect.neighbours.push({ device: vxlanName(vni), ips });
    }
    if (query.nft !== undefined) {
      const { services, isolation, egress, ports } = query.nft;
      inspect.nft = {
        maps: [...services.map(backendsMapName), ...(ports?.some((p) => p.local === true) ? services.map(localBackendsMapName) : [])],
        chains: [
          ...(ports === undefined || ports.length === 0 ? services.map(vipChainName) : ports.map((p) => portChainName(p.protocol, p.port))),
          ...(isolation ? ["forward"] : []),
          ...(egress ? ["postrouting"] : []),
        ],
      };
      if (egress) inspect.links.push(EGRESS_BRIDGE);
    }
    const snapshot = await (this.options.inspect ?? inspectHost)(this.options.node, inspect);
    for (const id of missing) snapshot.namespaces[id] = { error: `${id.slice(0, 12)} is not a local endpoint of ${this.options.node}` };
    return snapshot;
  }

  private async probe(probe: NonNullable<ObserveQuery["probe"]>): Promise<ProbeResult> {
    const endpoint = this.local(probe.endpointId);
    if (endpoint === undefined) return { sent: false, answered: false, detail: `${probe.endpointId.slice(0, 12)} is not a local endpoint of ${this.options.node}` };
    const refusal = this.options.probeRefusal?.(endpoint, probe.dst);
    if (refusal !== undefined) return { sent: false, answered: false, detail: refusal };
    return (this.options.probe ?? sendProbe)({ netns: endpoint.netns, proto: probe.proto, dst: probe.dst, timeoutMs: PROBE_TIMEOUT_MS, ...(probe.port !== undefined ? { port: probe.port } : {}), ...(probe.sourcePort !== undefined ? { sourcePort: probe.sourcePort } : {}) });
  }

  private async traffic(): Promise<LinkTraffic[]> {
    const snapshot = await (this.options.inspect ?? inspectHost)(this.options.node, { links: [], allLinks: true, fdb: [], neighbours: [], routesTo: [], namespaces: [] });
    const byVeth = new Map(this.options.localEndpoints().map((e) => [hostIfNameFor(e.id), e]));
    const traffic: LinkTraffic[] = [];
    for (const link of snapshot.links) {
      const c = { rxBytes: link.counters.rxBytes, txBytes: link.counters.txBytes, rxPackets: link.counters.rxPackets, txPackets: link.counters.txPackets };
      const endpoint = byVeth.get(link.name);
      const vni = /^weft-vx([0-9]+)$/.exec(link.name)?.[1];
      if (endpoint !== undefined) traffic.push({ host: this.options.node, kind: "endpoint", name: link.name, network: endpoint.network, endpointId: endpoint.id, ...c });
      else if (vni !== undefined) traffic.push({ host: this.options.node, kind: "vxlan", name: link.name, ...this.networkOfVni(Number(vni)), ...c });
      else if (link.name === EGRESS_BRIDGE) traffic.push({ host: this.options.node, kind: "gwbridge", name: link.name, ...c });
    }
    traffic.push(...peerTraffic(this.options.node, this.readCounters()));
    return traffic;
  }

  /** Unreadable (no netlink permission): the view lacks peer links, the rest still shows. */
  private readCounters(): readonly InetCounter[] {
    try {
      return (this.options.counters ?? (() => readInetCounters(FIREWALL_TABLE)))();
    } catch {
      return [];
    }
  }

  private networkOfVni(vni: number): { network?: string } {
    const network = this.options.networks().find((n) => n.vni === vni);
    return network === undefined ? {} : { network: network.name };
  }
}
