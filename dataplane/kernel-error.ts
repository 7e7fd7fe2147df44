// A failure reported by the kernel (or by iproute2 on its behalf): a WeftError that keeps the errno.
import { WeftError, type ErrorCode } from "../proto/values/index.js";

export class KernelError extends WeftError {
  readonly errno: number | undefined;
  /** The errno's symbolic name, e.g. "EEXIST". */
  readonly errnoName: string | undefined;
  readonly kernelMessage: string | undefined;

  constructor(message: string, details: { errno?: number; kernelMessage?: string; cause?: unknown; field?: string } = {}) {
    super(codeForErrno(details.errno), message, {
      ...(details.cause === undefined ? {} : { cause: details.cause }),
      ...(details.field === undefined ? {} : { field: details.field }),
    });
    this.name = "KernelError";
    this.errno = details.errno;
    this.errnoName = details.errno === undefined ? undefined : ERRNO_NAMES[details.errno];
    this.kernelMessage = details.kernelMessage;
  }
}

/** The namespace at a path is no longer the one an endpoint was attached to (or is gone). */
export class NamespaceChangedError extends WeftError {
  constructor(message: string, cause?: unknown) {
    super("failed-precondition", message, { field: "netns", ...(cause === undefined ? {} : { cause }) });
    this.name = "NamespaceChangedError";
  }
}

export const ENOENT = 2;
export const ESRCH = 3;
export const ENODEV = 19;

const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  11: "EAGAIN",
  12: "ENOMEM",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  22: "EINVAL",
  34: "ERANGE",
  95: "EOPNOTSUPP",
  105: "ENOBUFS",
};

function codeForErrno(errno: number | undefined): ErrorCode {
  switch (errno) {
    case 2:
    case 3:
    case 19:
      return "not-found";
    case 17:
      return "already-exists";
    case 22:
    case 34:
      return "invalid-argument";
    case 1:
      return "failed-precondition"; // EPERM: the agent lacks CAP_NET_ADMIN
    case 11:
    case 12:
    case 105:
      return "resource-exhausted";
    default:
      return "internal";
  }
}

export function errnoText(errno: number): string {
  const texts: Record<number, string> = {
    1: "Operation not permitted",
    2: "No such file or directory",
    3: "No such process",
    16: "Device or resource busy",
    17: "File exists",
    19: "No such device",
    22: "Invalid argument",
    34: "Numerical result out of range",
    95: "Operation not supported",
    105: "No buffer space available",
  };
  return texts[errno] ?? `errno ${errno}`;
}
