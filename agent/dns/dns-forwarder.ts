// Sends queries that are not a network's own to the host's resolvers. Each query gets its own
// connected UDP socket (a random source port, and the kernel drops datagrams from anyone but the
// upstream) and a fresh random id; a truncated UDP answer is asked again over TCP when the client
// itself came over TCP (a UDP client gets the truncated answer and retries over TCP itself).
import { randomInt } from "node:crypto";
import dgram from "node:dgram";
import net from "node:net";
import dnsPacket, { type Question } from "dns-packet";
import type { Upstream } from "./resolv-conf.js";
import { TcpFrameReader, tcpFrame } from "./tcp-frames.js";

export interface DnsForwarderOptions {
  readonly upstreams: readonly Upstream[];
  /** How long one upstream gets to answer before the next is tried. */
  readonly timeoutMs: number;
  /** Queries being forwarded at once; more are refused at once (REFUSED), never queued. */
  readonly maxInFlight: number;
  /** Upstreams tried per query, in resolv.conf order (the C library's MAXNS is 3). */
  readonly maxAttempts: number;
}

export type ForwardOutcome =
  | { readonly kind: "answer"; readonly response: Buffer }
  | { readonly kind: "busy" }
  | { readonly kind: "failed"; readonly reason: string };

const BUSY: ForwardOutcome = { kind: "busy" };
const QR_BIT = 0x80;
const TC_BIT = 0x02; // in the header's third byte
const RCODE_MASK = 0x0f; // in the header's fourth byte
const SERVFAIL = 2;
const REFUSED = 5;

export class DnsForwarder {
  #inFlight = 0;
  #closed = false;
  /** Sockets of exchanges under way, so close() can end them. */
  readonly #open = new Set<{ destroy(): void }>();

  constructor(readonly options: DnsForwarderOptions) {}

  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Forwards `query` (a client's bytes; `question` its decoded question) and returns the upstream's
   * answer with the client's id, "busy" when too many are in flight, or "failed" when no upstream
   * answered in time. Never throws.
   */
  async forward(query: Buffer, question: Question, transport: "udp" | "tcp"): Promise<ForwardOutcome> {
    if (this.#closed) return { kind: "failed", reason: "the DNS server is closing" };
    if (this.options.upstreams.length === 0) return { kind: "failed", reason: "no upstream resolvers" };
    if (this.#inFlight >= this.options.maxInFlight) return BUSY;
    this.#inFlight += 1;
    try {
      let lastAnswer: Buffer | undefined;
      for (const upstream of this.options.upstreams.slice(0, this.options.maxAttempts)) {
        const id = randomInt(0x10000);
        const request = Buffer.from(query);
        request.writeUInt16BE(id, 0);
        let response = await this.#exchangeUdp(upstream, request, id, question);
        if (response !== undefined && transport === "tcp" && (response[2]! & TC_BIT) !== 0) {
          response = (await this.#exchangeTcp(upstream, request, id, question)) ?? response;
        }
        if (this.#closed) break;
        if (response === undefined) continue;
        const answer = Buffer.from(response);
        answer.writeUInt16BE(query.readUInt16BE(0), 0);
        const rcode = answer[3]! & RCODE_MASK;
        // A resolver that fails or refuses: another may do better; its answer stands if none does.
        if (rcode === SERVFAIL || rcode === REFUSED) {
          lastAnswer = answer;
          continue;
        }
        return { kind: "answer", response: answer };
      }
      if (lastAnswer !== undefined) return { kind: "answer", response: lastAnswer };
      return { kind: "failed", reason: `no answer from ${this.options.upstreams.slice(0, this.options.maxAttempts).map(show).join(", ")}` };
    } finally {
      this.#inFlight -= 1;
    }
  }

  /** Ends every exchange under way; later forward() calls fail at once. */
  close(): void {
    this.#closed = true;
    for (const socket of this.#open) socket.destroy();
    this.#open.clear();
  }

  #exchangeUdp(upstream: Upstream, request: Buffer, id: number, question: Question): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const socket = dgram.createSocket(upstream.family === 6 ? "udp6" : "udp4");
      const handle = { destroy: () => finish(undefined) };
      let finished = false;
      const finish = (response: Buffer | undefined): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        this.#open.delete(handle);
        try {
          socket.close();
        } catch {
          // already closed
        }
        resolve(response);
      };
      const timer = setTimeout(() => finish(undefined), this.options.timeoutMs);
      this.#open.add(handle);
      socket.on("error", () => finish(undefined));
      socket.on("message", (message) => {
        if (answers(message, id, question)) finish(message);
      });
      socket.connect(upstream.port, upstream.host, () => {
        if (!finished) socket.send(request, (err) => err && finish(undefined));
      });
    });
  }

  #exchangeTcp(upstream: Upstream, request: Buffer, id: number, question: Question): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const socket = net.connect({ host: upstream.host, port: upstream.port });
      const handle = { destroy: () => finish(undefined) };
      const frames = new TcpFrameReader();
      let finished = false;
      const finish = (response: Buffer | undefined): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        this.#open.delete(handle);
        socket.destroy();
        resolve(response);
      };
      const timer = setTimeout(() => finish(undefined), this.options.timeoutMs);
      this.#open.add(handle);
      socket.on("error", () => finish(undefined));
      socket.on("close", () => finish(undefined));
      socket.on("connect", () => socket.write(tcpFrame(request)));
      socket.on("data", (chunk: Buffer) => {
        for (const message of frames.push(chunk)) if (answers(message, id, question)) return finish(message);
      });
    });
  }
}

/** Whether `message` is the response to our query: our id, the QR bit, the same question. */
function answers(message: Buffer, id: number, question: Question): boolean {
  if (message.length < 12 || message.readUInt16BE(0) !== id || (message[2]! & QR_BIT) === 0) return false;
  try {
    const asked = dnsPacket.decode(message).questions?.[0];
    return (
      asked !== undefined &&
      asked.name.toLowerCase() === question.name.toLowerCase() &&
      asked.type === question.type &&
      (asked.class ?? "IN") === (question.class ?? "IN")
    );
  } catch {
    return false;
  }
}

function show(upstream: Upstream): string {
  return upstream.family === 6 ? `[${upstream.host}]:${upstream.port}` : `${upstream.host}:${upstream.port}`;
}
