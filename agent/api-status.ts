// The one place where errors become the local API's gRPC statuses: a WeftError's code picks the
// status (its message, "FIELD: REASON", is kept); anything else is a bug or an environment failure
// and becomes INTERNAL.
import * as grpc from "@grpc/grpc-js";
import { errorText, WeftError, type ErrorCode } from "../proto/values/index.js";
import { StatusError } from "../proto/grpc-binding.js";

const STATUS_BY_CODE: Record<ErrorCode, grpc.status> = {
  "invalid-argument": grpc.status.INVALID_ARGUMENT,
  "not-found": grpc.status.NOT_FOUND,
  "already-exists": grpc.status.ALREADY_EXISTS,
  "failed-precondition": grpc.status.FAILED_PRECONDITION,
  "resource-exhausted": grpc.status.RESOURCE_EXHAUSTED,
  unavailable: grpc.status.UNAVAILABLE,
  internal: grpc.status.INTERNAL,
};

export function toStatusError(err: unknown): StatusError {
  if (err instanceof StatusError) return err;
  if (err instanceof WeftError) return new StatusError(STATUS_BY_CODE[err.code], err.message, { cause: err });
  return new StatusError(grpc.status.INTERNAL, errorText(err), { cause: err });
}
