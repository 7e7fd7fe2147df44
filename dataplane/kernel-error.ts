/** A failure reported by the kernel (or by iproute2 on its behalf), with its errno when there is one. */
export class KernelError extends Error {
  readonly errno: number | undefined;
  readonly code: string | undefined;
  readonly kernelMessage: string | undefined;

  constructor(message: string, details: { errno?: number; code?: string; kernelMessage?: string; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "KernelError";
    this.errno = details.errno;
    this.code = details.code ?? (details.errno === undefined ? undefined : ERRNO_NAMES[details.errno]);
    this.kernelMessage = details.kernelMessage;
  }
}

export const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM",
  2: "ENOENT",
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

export function errnoText(errno: number): string {
  const texts: Record<number, string> = {
    1: "Operation not permitted",
    2: "No such file or directory",
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
