// Which failures of the etcd client are worth retrying, and the one way weft retries: p-retry's
// exponential backoff, stopped by an AbortSignal. etcd3's error classes are matched by name, so that
// this file does not depend on the etcd client.
import pRetry from "p-retry";
import { WeftError } from "../proto/values/index.js";

const UNAVAILABLE_ERROR_NAMES = new Set([
  "GRPCUnavailableError",
  "GRPCConnectFailedError",
  "GRPCDeadlineExceededError",
  "GRPCCancelledError",
  "GRPCInternalError",
  "GRPCAbortedError",
  "GRPCResourceExhaustedError",
  "ClientRuntimeError",
  "ClientClosedError",
  "BrokenCircuitError",
]);

/** True for failures worth retrying: etcd unreachable (or a WeftError saying so). */
export function isRetryable(err: unknown): boolean {
  if (err instanceof WeftError) return err.code === "unavailable";
  if (err instanceof Error) return UNAVAILABLE_ERROR_NAMES.has(err.name) || UNAVAILABLE_ERROR_NAMES.has(err.constructor.name);
  return false;
}

export interface RetryOptions {
  /** Retries after the first attempt; default: until `signal` aborts. */
  retries?: number;
  /** First delay in ms, doubling up to `maxDelayMs`. */
  minDelayMs: number;
  maxDelayMs: number;
  /** Spread the delays randomly (1-2x), so that racing clients do not retry in step. */
  jitter?: boolean;
  /** Default: every error is retried. */
  shouldRetry?: (err: unknown) => boolean;
  /** Told of each failed attempt. */
  onFailure?: (err: unknown, attempt: number) => void;
  /** Stops retrying: the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Runs `attempt` until it resolves, retrying as `options` say; rejects with the last error. */
export function retry<T>(attempt: (attemptNumber: number) => Promise<T>, options: RetryOptions): Promise<T> {
  return pRetry(attempt, {
    retries: options.retries ?? Number.POSITIVE_INFINITY,
    minTimeout: options.minDelayMs,
    maxTimeout: options.maxDelayMs,
    factor: 2,
    randomize: options.jitter ?? false,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.shouldRetry ? { shouldRetry: ({ error }) => options.shouldRetry!(error) } : {}),
    ...(options.onFailure ? { onFailedAttempt: ({ error, attemptNumber }) => options.onFailure!(error, attemptNumber) } : {}),
  });
}
