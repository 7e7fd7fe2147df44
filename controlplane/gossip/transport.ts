/**
 * Carries opaque frames between gossip nodes: one request, one response. The gRPC transport and
 * the in-memory network move exactly the same bytes, so tests exercise the real codec.
 */
export interface GossipTransport {
  serve(handler: (frame: Uint8Array) => Promise<Uint8Array>): Promise<void>;
  call(address: string, frame: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  /**
   * Drops whatever connection is held to `address`, so the next call dials afresh. Called for peers
   * that leave or join: one coming back from a partition must not wait on a connection attempt made
   * while it was cut off (the kernel retries those seconds apart).
   */
  forget(address: string): void;
  close(): Promise<void>;
}

/** A call that could not reach its peer (unreachable, partitioned, dropped, timed out). */
export class TransportError extends Error {
  constructor(
    readonly address: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${address}: ${message}`, options);
    this.name = "TransportError";
  }
}
