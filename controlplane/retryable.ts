// Which failures of the etcd client are worth retrying. etcd3's error classes are matched by name, so
// that this file does not depend on the etcd client.
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
