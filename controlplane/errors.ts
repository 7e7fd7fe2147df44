// The one error type the control plane throws. `code` says what kind of failure it is (modelled on
// gRPC status codes so the agent can map it onto its API), `field` names the input that was wrong.
export type ErrorCode =
  | "invalid-argument"
  | "not-found"
  | "already-exists"
  | "failed-precondition"
  | "resource-exhausted"
  | "unavailable"
  | "internal";

export class ControlplaneError extends Error {
  readonly code: ErrorCode;
  readonly field?: string;

  constructor(code: ErrorCode, message: string, options?: { field?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ControlplaneError";
    this.code = code;
    if (options?.field !== undefined) this.field = options.field;
  }
}

/** etcd3's error names for "the server could not be reached" (its classes are matched by name so
 * that this file does not depend on the etcd client). */
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

/** True for failures worth retrying: etcd unreachable, or a transaction that lost a race. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof ControlplaneError) return err.code === "unavailable";
  if (err instanceof Error) {
    if (UNAVAILABLE_ERROR_NAMES.has(err.name) || UNAVAILABLE_ERROR_NAMES.has(err.constructor.name)) return true;
    if (err instanceof TxnConflictError) return true;
  }
  return false;
}

/** A compare-and-swap transaction whose comparison failed because someone else wrote first. */
export class TxnConflictError extends Error {
  constructor(message = "etcd transaction conflict") {
    super(message);
    this.name = "TxnConflictError";
  }
}
