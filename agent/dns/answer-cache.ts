// Responses kept by the query that asked them, so a name asked again costs a copy instead of a decode
// and an encode. A response depends on the query's bytes after its ID (question, flags, EDNS size),
// the network, the transport and the records; the key holds the first three, and the whole cache is
// dropped when the records' revision moves.
import type { DnsResult } from "./answer-query.js";

export interface CachedResponse {
  readonly result: DnsResult;
  readonly response: Buffer;
}

/** Queries longer than this are not kept (a plain question with EDNS is well under 300 bytes). */
const MAX_KEPT_QUERY_BYTES = 300;
const ID_BYTES = 2;

export class AnswerCache {
  readonly #entries = new Map<string, CachedResponse>();
  readonly #maxEntries: number;
  #revision: number | undefined;

  /** maxEntries bounds memory against clients that vary their queries (random EDNS cookies, 0x20 case). */
  constructor(maxEntries = 4096) {
    this.#maxEntries = maxEntries;
  }

  /** The key for a query, or undefined when it is not one to keep. */
  key(request: Buffer, network: string, transport: "udp" | "tcp"): string | undefined {
    if (request.length > MAX_KEPT_QUERY_BYTES) return undefined;
    return `${transport === "udp" ? "u" : "t"}${network}\0${request.toString("latin1", ID_BYTES)}`;
  }

  /** The response kept under `key` for records at `revision`, with the request's ID written in. */
  get(key: string, revision: number, request: Buffer): CachedResponse | undefined {
    if (revision !== this.#revision) {
      this.#entries.clear();
      this.#revision = revision;
      return undefined;
    }
    const kept = this.#entries.get(key);
    if (kept === undefined) return undefined;
    const response = Buffer.allocUnsafe(kept.response.length);
    kept.response.copy(response);
    response[0] = request[0]!;
    response[1] = request[1]!;
    return { result: kept.result, response };
  }

  set(key: string, revision: number, kept: CachedResponse): void {
    if (revision !== this.#revision) {
      this.#entries.clear();
      this.#revision = revision;
    }
    if (this.#entries.size >= this.#maxEntries) this.#entries.clear();
    // A copy: the caller sends (and may reuse) its own buffer.
    this.#entries.set(key, { result: kept.result, response: Buffer.from(kept.response) });
  }

  clear(): void {
    this.#entries.clear();
  }
}
