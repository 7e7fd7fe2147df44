// The embedded DNS's shell: UDP and TCP sockets on each network's gateway address, each query
// answered by answerQuery from that network's names, the rest forwarded to the host's resolvers.
import dgram from "node:dgram";
import net from "node:net";
import type { Registry } from "prom-client";
import { errorText, isIPv4, isName } from "../../proto/values/index.js";
import type { LogLevel } from "../log.js";
import { AnswerCache } from "./answer-cache.js";
import { answerQuery, failureResponse, type AnswerDecision } from "./answer-query.js";
import { DnsForwarder } from "./dns-forwarder.js";
import { DnsMetrics } from "./dns-metrics.js";
import { parseUpstream } from "./resolv-conf.js";
import { TcpFrameReader, tcpFrame } from "./tcp-frames.js";
import { ZoneIndex, type DnsRecordSource } from "./zone-index.js";

/** One network served on one address: this host's gateway address on the network's bridge. */
export interface DnsZone {
  network: string;
  listen: string;
}

export interface DnsServerOptions {
  records: DnsRecordSource;
  /** Where other names go: "ip", "ip:port" or "[ipv6]:port" (parseResolvConf's nameservers). */
  upstreams: string[];
  /** Default 53. */
  port?: number;
  /** TTL of every answer; default 5 s, so clients never hold a departed endpoint's address for long. */
  ttlSeconds?: number;
  metrics: Registry;
  log: (level: LogLevel, line: string) => void;
  /** Time one upstream gets before the next is tried; default 1,500 ms (at most 3 are tried). */
  forwardTimeoutMs?: number;
  /** Forwarded queries at once; beyond it queries are REFUSED at once. Default 1,024. */
  maxForwardsInFlight?: number;
  /** Shuffles addresses; default Math.random. */
  random?: () => number;
}

interface Listener {
  zone: DnsZone;
  readonly udp: dgram.Socket;
  readonly tcp: net.Server;
  readonly connections: Set<net.Socket>;
}

const DEFAULT_TTL_SECONDS = 5;
const MAX_UPSTREAMS_TRIED = 3;
/** TCP clients per listening address, how long an idle one is kept, and queries one may have open. */
const MAX_TCP_CONNECTIONS = 128;
const TCP_IDLE_MS = 10_000;
const MAX_TCP_PIPELINED = 32;
/** Room for bursts of UDP queries while the event loop is busy elsewhere. */
const UDP_RECEIVE_BUFFER_BYTES = 1 << 20;

export class DnsServer {
  readonly #options: DnsServerOptions;
  readonly #metrics: DnsMetrics;
  readonly #forwarder: DnsForwarder;
  readonly #port: number;
  readonly #ttlSeconds: number;
  readonly #random: () => number;
  /** By listening address. */
  readonly #listeners = new Map<string, Listener>();
  /** Each network's index and the source revision it was built at (only when the source has revisions). */
  readonly #indexes = new Map<string, { revision: number; index: ZoneIndex }>();
  /** Responses by query (only when the source has revisions). */
  readonly #cache = new AnswerCache();
  /** setZones and close run one at a time, in call order. */
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(options: DnsServerOptions) {
    this.#options = options;
    this.#port = options.port ?? 53;
    this.#ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    this.#random = options.random ?? Math.random;
    this.#metrics = new DnsMetrics(options.metrics);
    this.#forwarder = new DnsForwarder({
      upstreams: options.upstreams.map((text, i) => parseUpstream(text, `upstreams[${i}]`)),
      timeoutMs: options.forwardTimeoutMs ?? 1500,
      maxInFlight: options.maxForwardsInFlight ?? 1024,
      maxAttempts: MAX_UPSTREAMS_TRIED,
    });
  }

  /** Throws a WeftError naming the field when an upstream is not an address. Listens nowhere yet. */
  static create(options: DnsServerOptions): DnsServer {
    return new DnsServer(options);
  }

  /**
   * Listens (UDP and TCP) on each zone's address and stops listening on every other. An address that
   * cannot be bound yet (not yet on its bridge) is logged and tried again at the next call; a second
   * zone on an address already taken by another network is ignored with a warning.
   */
  setZones(zones: readonly DnsZone[]): Promise<void> {
    const run = this.#queue.then(() => this.#applyZones(zones));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** The zones being served now (bound on both UDP and TCP). */
  listening(): DnsZone[] {
    return [...this.#listeners.values()].map((listener) => ({ ...listener.zone }));
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#forwarder.close();
    const run = this.#queue.then(() => this.#applyZones([]));
    this.#queue = run.catch(() => undefined);
    await run;
  }

  /**
   * The response to one query on `network`'s address, or undefined for none; never throws. What the
   * sockets call; the bench and tests call it directly too.
   */
  respond(request: Buffer, network: string, transport: "udp" | "tcp"): Buffer | undefined | Promise<Buffer | undefined> {
    const revision = this.#options.records.revision?.();
    const key = revision === undefined ? undefined : this.#cache.key(request, network, transport);
    if (key !== undefined) {
      const kept = this.#cache.get(key, revision!, request);
      if (kept !== undefined) {
        this.#metrics.query(kept.result);
        return kept.response;
      }
    }
    let decision: AnswerDecision;
    try {
      decision = answerQuery(request, { zone: this.#zone(network), transport, ttlSeconds: this.#ttlSeconds, random: this.#random });
    } catch (err) {
      // answerQuery is meant not to throw on any input; if it does, the query goes unanswered.
      this.#metrics.query("dropped");
      this.#options.log("error", `dns: query on ${network} not answered: ${errorText(err)}`);
      return undefined;
    }
    switch (decision.kind) {
      case "drop":
        this.#metrics.query("dropped");
        return undefined;
      case "reply":
        this.#metrics.query(decision.result);
        if (key !== undefined && decision.same) this.#cache.set(key, revision!, decision);
        return decision.response;
      case "forward":
        return this.#forward(request, decision.query, transport);
    }
  }

  async #forward(request: Buffer, query: Extract<AnswerDecision, { kind: "forward" }>["query"], transport: "udp" | "tcp"): Promise<Buffer | undefined> {
    const started = performance.now();
    try {
      const outcome = await this.#forwarder.forward(request, query.questions![0]!, transport);
      const seconds = (performance.now() - started) / 1000;
      switch (outcome.kind) {
        case "answer":
          this.#metrics.query("forwarded");
          this.#metrics.forwarded(seconds, "answered");
          return outcome.response;
        case "busy":
          this.#metrics.query("refused");
          return failureResponse(query, "refused");
        case "failed":
          this.#metrics.query("servfail");
          this.#metrics.forwarded(seconds, "failed");
          this.#options.log("debug", `dns: forwarding failed: ${outcome.reason}`);
          return failureResponse(query, "servfail");
      }
    } catch (err) {
      this.#metrics.query("servfail");
      this.#options.log("error", `dns: forwarding failed: ${errorText(err)}`);
      return undefined;
    }
  }

  #zone(network: string): ZoneIndex {
    const revision = this.#options.records.revision?.();
    const held = this.#indexes.get(network);
    if (revision !== undefined && held?.revision === revision) return held.index;
    const index = ZoneIndex.build(network, this.#options.records.endpoints(network), this.#options.records.services?.(network));
    if (revision !== undefined) this.#indexes.set(network, { revision, index });
    return index;
  }

  async #applyZones(zones: readonly DnsZone[]): Promise<void> {
    const wanted = new Map<string, DnsZone>();
    for (const zone of zones) {
      if (!isIPv4(zone.listen) || !isName(zone.network)) {
        this.#options.log("warn", `dns: zone ${JSON.stringify(zone).slice(0, 200)} ignored: needs a network name and an IPv4 listen address`);
        continue;
      }
      const taken = wanted.get(zone.listen);
      if (taken !== undefined) {
        this.#options.log("warn", `dns: ${zone.listen} already serves network ${taken.network}; network ${zone.network} not served there`);
        continue;
      }
      wanted.set(zone.listen, { network: zone.network, listen: zone.listen });
    }
    for (const [address, listener] of [...this.#listeners]) {
      const zone = wanted.get(address);
      if (zone !== undefined) {
        listener.zone = zone;
        continue;
      }
      this.#listeners.delete(address);
      await closeListener(listener);
    }
    if (!this.#closed) {
      for (const zone of wanted.values()) if (!this.#listeners.has(zone.listen)) await this.#listen(zone);
    }
    const networks = new Set([...this.#listeners.values()].map((listener) => listener.zone.network));
    for (const network of [...this.#indexes.keys()]) if (!networks.has(network)) this.#indexes.delete(network);
    this.#cache.clear();
  }

  async #listen(zone: DnsZone): Promise<void> {
    const udp = dgram.createSocket({ type: "udp4" });
    const tcp = net.createServer();
    const listener: Listener = { zone, udp, tcp, connections: new Set() };
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once("error", reject);
        udp.bind({ address: zone.listen, port: this.#port, exclusive: true }, () => {
          udp.off("error", reject);
          resolve();
        });
      });
      await new Promise<void>((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen({ host: zone.listen, port: this.#port, exclusive: true }, () => {
          tcp.off("error", reject);
          resolve();
        });
      });
    } catch (err) {
      await closeListener(listener);
      this.#options.log("warn", `dns: cannot listen on ${zone.listen}:${this.#port} for network ${zone.network} (tried again at the next reconcile): ${errorText(err)}`);
      return;
    }
    try {
      udp.setRecvBufferSize(UDP_RECEIVE_BUFFER_BYTES);
    } catch {
      // The kernel's limit stands; only bursts suffer.
    }
    udp.on("error", (err) => this.#options.log("warn", `dns: UDP ${zone.listen}: ${errorText(err)}`));
    udp.on("message", (message, peer) => this.#onDatagram(listener, message, peer));
    tcp.maxConnections = MAX_TCP_CONNECTIONS;
    tcp.on("error", (err) => this.#options.log("warn", `dns: TCP ${zone.listen}: ${errorText(err)}`));
    tcp.on("connection", (socket) => this.#onConnection(listener, socket));
    this.#listeners.set(zone.listen, listener);
    this.#options.log("info", `dns: answering for network ${zone.network} on ${zone.listen}:${this.#port}`);
  }

  #onDatagram(listener: Listener, message: Buffer, peer: dgram.RemoteInfo): void {
    const response = this.respond(message, listener.zone.network, "udp");
    if (response instanceof Promise) void response.then((late) => this.#sendDatagram(listener, late, peer));
    else this.#sendDatagram(listener, response, peer);
  }

  #sendDatagram(listener: Listener, response: Buffer | undefined, peer: dgram.RemoteInfo): void {
    // No callback: a failed send is dropped like a lost datagram, without a tick spent on telling so.
    if (response !== undefined && this.#listeners.get(listener.zone.listen) === listener) listener.udp.send(response, peer.port, peer.address);
  }

  #onConnection(listener: Listener, socket: net.Socket): void {
    listener.connections.add(socket);
    socket.setNoDelay(true);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on("error", () => socket.destroy());
    socket.on("close", () => listener.connections.delete(socket));
    const frames = new TcpFrameReader();
    let open = 0;
    const send = (response: Buffer | undefined): void => {
      open -= 1;
      if (response !== undefined && !socket.destroyed) socket.write(tcpFrame(response));
    };
    socket.on("data", (chunk: Buffer) => {
      for (const message of frames.push(chunk)) {
        if (open >= MAX_TCP_PIPELINED) {
          socket.destroy();
          return;
        }
        open += 1;
        const response = this.respond(message, listener.zone.network, "tcp");
        if (response instanceof Promise) void response.then(send);
        else send(response);
      }
    });
  }
}

async function closeListener(listener: Listener): Promise<void> {
  for (const socket of listener.connections) socket.destroy();
  await new Promise<void>((resolve) => {
    try {
      listener.udp.close(() => resolve());
    } catch {
      resolve(); // never bound, or closed already
    }
  });
  await new Promise<void>((resolve) => (listener.tcp.listening ? listener.tcp.close(() => resolve()) : resolve()));
}
