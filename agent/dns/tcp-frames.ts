/**
 * DNS over TCP frames each message with a two-byte length (RFC 1035 4.2.2). Collects a stream's
 * chunks and hands back whole messages; holds at most one partial message (at most 65,535 bytes).
 */
export class TcpFrameReader {
  #pending: Buffer = Buffer.alloc(0);

  /** Adds a chunk; returns the messages it completed, in order. */
  push(chunk: Buffer): Buffer[] {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const messages: Buffer[] = [];
    while (this.#pending.length >= 2) {
      const length = this.#pending.readUInt16BE(0);
      if (this.#pending.length < 2 + length) break;
      messages.push(this.#pending.subarray(2, 2 + length));
      this.#pending = this.#pending.subarray(2 + length);
    }
    return messages;
  }
}

/** One message with its two-byte length in front. Messages over 65,535 bytes cannot be framed. */
export function tcpFrame(message: Uint8Array): Buffer {
  if (message.length > 0xffff) throw new RangeError(`a DNS message of ${message.length} bytes does not fit a TCP frame`);
  const out = Buffer.allocUnsafe(2 + message.length);
  out.writeUInt16BE(message.length, 0);
  out.set(message, 2);
  return out;
}
