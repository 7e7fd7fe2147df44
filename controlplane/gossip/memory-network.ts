import type { Clock } from "../clock.js";
import { TransportError, type GossipTransport } from "./transport.js";

export interface MemoryNetworkOptions {
  /** Needed for latency; without it frames are delivered on the next microtask. */
  readonly clock?: Clock;
  /** One-way delay of each request and each response, in clock milliseconds. */
  readonly latencyMs?: number;
  /** Fraction of calls lost (0..1). */
  readonly dropRate?: number;
  readonly random?: () => number;
}

export interface AddressTraffic {
  /** Requests and responses this address sent. */
  messages: number;
  bytes: number;
}

export interface MemoryNetworkStats {
  calls: number;
  delivered: number;
  dropped: number;
  partitioned: number;
  unreachable: number;
  bytes: number;
  byAddress: ReadonlyMap<string, AddressTraffic>;
}

/**
 * An in-memory network of transports for unit tests and the simulator: frames are copied (nothing
 * shared between sender and receiver), links can be cut and healed, calls can be dropped at random.
 */
export class MemoryNetwork {
  dropRate: number;
  readonly #clock: Clock | undefined;
  readonly #latencyMs: number;
  readonly #random: () => number;
  readonly #handlers = new Map<string, (frame: Uint8Array) => Promise<Uint8Array>>();
  readonly #cuts = new Set<string>();
  readonly #traffic = new Map<string, AddressTraffic>();
  #stats = { calls: 0, delivered: 0, dropped: 0, partitioned: 0, unreachable: 0, bytes: 0 };

  constructor(options: MemoryNetworkOptions = {}) {
    this.#clock = options.clock;
    this.#latencyMs = options.latencyMs ?? 0;
    this.dropRate = options.dropRate ?? 0;
    this.#random = options.random ?? Math.random;
  }

  /** The transport of the node at `address`; calls from it are attributed to that address. */
  transport(address: string): GossipTransport {
    return {
      serve: async (handler) => {
        this.#handlers.set(address, handler);
      },
      call: (to, frame, timeoutMs) => this.#call(address, to, frame, timeoutMs),
      forget: () => undefined, // no connections to drop
      close: async () => {
        this.#handlers.delete(address);
      },
    };
  }

  /** Cuts the link between a and b in both directions. */
  cut(a: string, b: string): void {
    this.#cuts.add(linkId(a, b));
  }

  /** Heals one link, or every link when called without arguments. */
  heal(a?: string, b?: string): void {
    if (a === undefined || b === undefined) this.#cuts.clear();
    else this.#cuts.delete(linkId(a, b));
  }

  /** Cuts every link between `address` and the others given. */
  isolate(address: string, others: Iterable<string>): void {
    for (const other of others) if (other !== address) this.cut(address, other);
  }

  stats(): MemoryNetworkStats {
    return { ...this.#stats, byAddress: this.#traffic };
  }

  async #call(from: string, to: string, frame: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    this.#stats.calls += 1;
    this.#count(from, frame);
    await this.#delay();
    if (this.#cuts.has(linkId(from, to))) {
      this.#stats.partitioned += 1;
      throw new TransportError(to, `partitioned from ${from}`);
    }
    if (this.dropRate > 0 && this.#random() < this.dropRate) {
      this.#stats.dropped += 1;
      throw new TransportError(to, `call dropped (simulated loss, timeout ${timeoutMs} ms)`);
    }
    const handler = this.#handlers.get(to);
    if (handler === undefined) {
      this.#stats.unreachable += 1;
      throw new TransportError(to, "connection refused");
    }
    const response = await handler(frame.slice());
    this.#count(to, response);
    await this.#delay();
    this.#stats.delivered += 1;
    return response.slice();
  }

  #count(address: string, bytes: Uint8Array): void {
    this.#stats.bytes += bytes.length;
    let traffic = this.#traffic.get(address);
    if (traffic === undefined) {
      traffic = { messages: 0, bytes: 0 };
      this.#traffic.set(address, traffic);
    }
    traffic.messages += 1;
    traffic.bytes += bytes.length;
  }

  #delay(): Promise<void> {
    const clock = this.#clock;
    if (clock === undefined || this.#latencyMs <= 0) return Promise.resolve();
    return new Promise((resolve) => clock.setTimeout(resolve, this.#latencyMs));
  }
}

function linkId(a: string, b: string): string {
  return a < b ? `${a}\n${b}` : `${b}\n${a}`;
}
