// Builds topology snapshots from the live agent and the cluster observer. Keeps exactly one earlier
// reading of the counters (for rates), and reads the counters at most once per `minTrafficIntervalMs`
// however many pages ask: each reading asks every agent in the cluster.
import { errorText } from "../../proto/values/index.js";
import type { NetworkRecord } from "../../controlplane/registry/index.js";
import type { ServiceWithBackends } from "../desired-state/mesh-part.js";
import type { EndpointView } from "../endpoints/endpoint-view.js";
import type { PeerView } from "../peers/peer-directory.js";
import type { ClusterObserver } from "../trace/trace-report.js";
import type { TrafficSample } from "./link-rates.js";
import { buildTopologySnapshot, type TopologySnapshot } from "./topology-snapshot.js";

/** What the page reads of the agent (the Agent itself is one). */
export interface TopologyAgent {
  peers(): PeerView[];
  listNetworks(): NetworkRecord[];
  listEndpoints(): EndpointView[];
  readonly services: { list(): ServiceWithBackends[] };
}

export interface TopologyFeedOptions {
  self: { name: string; underlayIp: string };
  agent: TopologyAgent;
  observer: ClusterObserver;
  now?: () => number;
  /** Default 1000. */
  minTrafficIntervalMs?: number;
  /** How long a reading of the counters may take before the snapshot goes without it. Default 3000. */
  trafficTimeoutMs?: number;
}

type Reading = { sample: TrafficSample & { unreachable: string[] }; error?: undefined } | { sample?: undefined; error: string };

export class TopologyFeed {
  private readonly now: () => number;
  private last: Reading | undefined;
  private lastAtMs = -Infinity;
  private lastSample: TrafficSample | undefined;
  private previous: TrafficSample | undefined;
  private inFlight: Promise<Reading> | undefined;

  constructor(private readonly options: TopologyFeedOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The agent's state now, with the latest reading of the counters. */
  async snapshot(): Promise<TopologySnapshot> {
    const reading = await this.reading();
    return this.build(reading);
  }

  /** The agent's state now with the last reading of the counters, without asking for a new one. */
  current(): TopologySnapshot {
    return this.build(this.last ?? { error: "traffic counters not read yet" });
  }

  /** The agent's state now without counters: what tells whether the page must redraw, cheaply. */
  structure(): TopologySnapshot {
    return this.build(undefined);
  }

  private build(reading: Reading | undefined): TopologySnapshot {
    const { agent, self } = this.options;
    return buildTopologySnapshot({
      self,
      nowMs: this.now(),
      peers: agent.peers(),
      networks: agent.listNetworks(),
      endpoints: agent.listEndpoints(),
      services: agent.services.list(),
      ...(reading?.sample ? { traffic: reading.sample } : reading ? { trafficError: reading.error } : {}),
      ...(reading?.sample && this.previous ? { previousTraffic: this.previous } : {}),
    });
  }

  private reading(): Promise<Reading> {
    if (this.last !== undefined && this.now() - this.lastAtMs < (this.options.minTrafficIntervalMs ?? 1000)) return Promise.resolve(this.last);
    this.inFlight ??= this.read().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async read(): Promise<Reading> {
    const timeoutMs = this.options.trafficTimeoutMs ?? 3000;
    let timer: NodeJS.Timeout | undefined;
    let reading: Reading;
    try {
      const traffic = await Promise.race([
        this.options.observer.traffic(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`traffic counters did not arrive within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      reading = { sample: { atMs: this.now(), links: traffic.links, unreachable: [...traffic.unreachable] } };
    } catch (err) {
      reading = { error: errorText(err) };
    } finally {
      clearTimeout(timer);
    }
    // Rates are against the last reading that succeeded.
    if (reading.sample) {
      this.previous = this.lastSample;
      this.lastSample = reading.sample;
    }
    this.last = reading;
    this.lastAtMs = this.now();
    return reading;
  }
}
