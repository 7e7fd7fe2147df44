// What the etcd registry's parts share: the client, the key layout, the value reader, and how a
// request runs (failures become WeftError "unavailable") and how a transaction that lost a race is
// run again (a bounded number of times, with jittered backoff).
import type { Etcd3 } from "etcd3";
import { WeftError, errorText } from "../../proto/values/index.js";
import { isRetryable, retry } from "../retryable.js";
import type { RegistryKeys } from "./keys.js";
import type { RegistryValueReader } from "./registry-values.js";

export const enc = (s: string): Buffer => Buffer.from(s, "utf8");

/** The first key after every key starting with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix, "utf8");
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** A prefix as an etcd range. */
export function prefixRange(prefix: string): { key: Buffer; range_end: Buffer } {
  return { key: enc(prefix), range_end: prefixEnd(prefix) };
}

export function toWeftError(err: unknown, context: string): WeftError {
  if (err instanceof WeftError) return err;
  const code = isRetryable(err) || (err instanceof Error && /circuit|unavailable|connect/i.test(err.message)) ? "unavailable" : "internal";
  return new WeftError(code, `${context}: ${errorText(err)}`, { cause: err });
}

/** A transaction's compares failed: someone changed what it read. Retried by `commit`. */
class TxnConflict extends Error {}

export class EtcdRequests {
  private closed = false;

  constructor(
    readonly client: Etcd3,
    readonly keys: RegistryKeys,
    readonly values: RegistryValueReader,
    readonly log: (line: string) => void,
    private readonly maxTxnAttempts: number,
  ) {}

  close(): void {
    this.closed = true;
  }

  /** Runs an etcd call, turning client failures into WeftError("unavailable"). */
  async call<T>(request: () => Promise<T>): Promise<T> {
    if (this.closed) throw new WeftError("unavailable", "etcd: the registry is closed");
    try {
      return await request();
    } catch (err) {
      throw toWeftError(err, "etcd: request failed");
    }
  }

  /**
   * Reads, decides and commits with compare-and-swap: `attempt` returns its result, or undefined when
   * its transaction's compares failed; then it runs again. Gives up with "unavailable" after
   * `maxTxnAttempts` conflicts (`what` says what was being done).
   */
  async commit<T>(what: string, attempt: () => Promise<T | undefined>): Promise<T> {
    try {
      return await retry(
        async () => {
          const result = await attempt();
          if (result === undefined) throw new TxnConflict();
          return result;
        },
        { retries: this.maxTxnAttempts - 1, minDelayMs: 5, maxDelayMs: 100, jitter: true, shouldRetry: (err) => err instanceof TxnConflict },
      );
    } catch (err) {
      if (err instanceof TxnConflict) throw new WeftError("unavailable", `etcd: ${what} kept conflicting; try again`);
      throw err;
    }
  }
}
