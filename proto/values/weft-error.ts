// The one error type every layer throws for a request it cannot carry out. `code` says what kind of
// failure it is (named after gRPC's status codes; agent/api-status.ts maps each onto the API in one
// place), `field` names the input that was wrong, and `cause` keeps the underlying error.
export type ErrorCode =
  | "invalid-argument"
  | "not-found"
  | "already-exists"
  | "failed-precondition"
  | "resource-exhausted"
  | "unavailable"
  | "internal";

export class WeftError extends Error {
  readonly code: ErrorCode;
  readonly field?: string;

  constructor(code: ErrorCode, message: string, options?: { field?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "WeftError";
    this.code = code;
    if (options?.field !== undefined) this.field = options.field;
  }
}

/** An input that cannot be used: "FIELD: REASON", as every layer reports bad input. */
export function invalidArgument(field: string, reason: string): WeftError {
  return new WeftError("invalid-argument", `${field}: ${reason}`, { field });
}

/** The message of anything thrown, for logs and error texts. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
