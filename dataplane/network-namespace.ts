// Running a few synchronous calls inside another network namespace on the calling thread.
// setns(CLONE_NEWNET) changes only the calling thread's namespace (libuv's pool threads and workers keep
// theirs); sockets opened meanwhile stay bound to the namespace they were made in, so a caller opens its
// sockets inside and uses them after the thread is back home.
import { closeSync, openSync, readlinkSync } from "node:fs";
import koffi from "koffi";
import { KernelError, errnoText } from "./kernel-error.js";

const CLONE_NEWNET = 0x40000000;

let setnsCall: ((fd: number, nstype: number) => number) | undefined;

function setns(fd: number): number {
  setnsCall ??= koffi.load("libc.so.6").func("int setns(int, int)") as (fd: number, nstype: number) => number;
  return setnsCall(fd, CLONE_NEWNET);
}

/** A name means /run/netns/NAME; an absolute path (e.g. /proc/PID/ns/net) is used as is. */
export function netnsPath(netns: string): string {
  return netns.startsWith("/") ? netns : `/run/netns/${netns}`;
}

/** Opens a namespace for IFLA_NET_NS_FD or setns; the error names the namespace and what went wrong. */
export function openNetns(netns: string): number {
  const path = netnsPath(netns);
  try {
    return openSync(path, "r");
  } catch (error) {
    const { code, errno, message } = error as NodeJS.ErrnoException;
    const reason = code === "ENOENT" ? "no such namespace" : message;
    throw new KernelError(`netns ${path}: ${reason}`, { ...(errno === undefined ? {} : { errno: -errno }), cause: error });
  }
}

/**
 * Runs `work` synchronously with the calling thread inside `netns` and always switches back before
 * returning or throwing. If switching back fails the process cannot safely go on (its main thread would
 * program a container's namespace), so it aborts.
 */
export function inNetworkNamespace<T>(netns: string, work: () => T): T {
  const home = openSync("/proc/thread-self/ns/net", "r"); // before switching: afterwards it names the other one
  try {
    const target = openNetns(netns);
    try {
      if (setns(target) !== 0) {
        const errno = koffi.errno();
        throw new KernelError(`setns ${netnsPath(netns)}: ${errnoText(errno)}`, { errno });
      }
    } finally {
      closeSync(target);
    }
    try {
      const result = work();
      // Anything after an await would run back home (or, worse, interleaved): refuse async work.
      if (result instanceof Promise) throw new TypeError("inNetworkNamespace: work must be synchronous, not return a Promise");
      return result;
    } finally {
      if (setns(home) !== 0) {
        process.stderr.write(`weft dataplane: cannot return to the agent's network namespace (${errnoText(koffi.errno())}); aborting\n`);
        process.abort();
      }
    }
  } finally {
    closeSync(home);
  }
}

/** The namespace identity of the calling thread, like `readlink /proc/thread-self/ns/net` ("net:[4026531840]"). */
export function currentNetnsId(): string {
  return readlinkSync("/proc/thread-self/ns/net");
}
