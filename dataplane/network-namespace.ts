// Container network namespaces: opening one safely, knowing which one it is, and running a few
// synchronous calls inside it on the calling thread.
// setns(CLONE_NEWNET) changes only the calling thread's namespace (libuv's pool threads and workers keep
// theirs); sockets opened meanwhile stay bound to the namespace they were made in, so a caller opens its
// sockets inside and uses them after the thread is back home.
import { closeSync, constants, fstatSync, openSync, statSync, statfsSync } from "node:fs";
import koffi from "koffi";
import { WeftError, errorText } from "../proto/values/index.js";
import { KernelError, NamespaceChangedError, errnoText } from "./kernel-error.js";
import { sameNamespace, type NetworkNamespaceId } from "./namespace-identity.js";

export type { NetworkNamespaceId };

const CLONE_NEWNET = 0x40000000;
const NSFS_MAGIC = 0x6e736673;
/** ioctl on a namespace file: which kind of namespace it is (a CLONE_NEW* value). linux/nsfs.h */
const NS_GET_NSTYPE = 0xb703;

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0x80000;
const SOL_SOCKET = 1;
const SO_NETNS_COOKIE = 71;

interface NamespaceCalls {
  setns: (fd: number, nstype: number) => number;
  ioctl: (fd: number, request: number) => number;
  socket: (domain: number, type: number, protocol: number) => number;
  getsockopt: (fd: number, level: number, name: number, value: Buffer, length: Buffer) => number;
  close: (fd: number) => number;
}

let calls: NamespaceCalls | undefined;

function libc(): NamespaceCalls {
  if (calls === undefined) {
    const lib = koffi.load("libc.so.6");
    calls = {
      setns: lib.func("int setns(int, int)"),
      ioctl: lib.func("int ioctl(int, unsigned long, ...)"),
      socket: lib.func("int socket(int, int, int)"),
      getsockopt: lib.func("int getsockopt(int, int, int, void *, void *)"),
      close: lib.func("int close(int)"),
    };
  }
  return calls;
}

function setns(fd: number): number {
  return libc().setns(fd, CLONE_NEWNET);
}

/** A name means /run/netns/NAME; an absolute path (e.g. /proc/PID/ns/net) is used as is. */
export function netnsPath(netns: string): string {
  return netns.startsWith("/") ? netns : `/run/netns/${netns}`;
}

/**
 * The identity of the network namespace at `path` (a name means /run/netns/NAME). Refuses anything
 * that is not a network namespace (without blocking on a FIFO or opening a device) and the agent's
 * own namespace: an endpoint there would put an overlay interface on the host.
 */
export function inspectNetworkNamespace(path: string): NetworkNamespaceId {
  const opened = openNetworkNamespace(path);
  try {
    if (sameNamespace(opened.id, identityOf("/proc/self/ns/net"))) {
      throw new WeftError("invalid-argument", `netns: ${netnsPath(path)} is the agent's own network namespace`, { field: "netns" });
    }
    const cookie = namespaceCookie(opened.fd);
    return cookie === undefined ? opened.id : { ...opened.id, cookie };
  } finally {
    closeSync(opened.fd);
  }
}

/**
 * Opens the network namespace at `netns` for IFLA_NET_NS_FD or setns, checking on the opened file
 * itself (so nothing can be swapped in between) that it is a network namespace. The caller closes fd.
 */
export function openNetworkNamespace(netns: string): { fd: number; id: NetworkNamespaceId } {
  const path = netnsPath(netns);
  const notANamespace = (what: string) =>
    new WeftError("invalid-argument", `netns: ${path} is not a network namespace (${what})`, { field: "netns" });
  let fd: number;
  try {
    // A FIFO, socket or device is refused before it is opened; O_NONBLOCK covers a swap after this check.
    // (libuv opens every file with O_CLOEXEC.)
    if (!statSync(path).isFile()) throw notANamespace("not a namespace file");
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    if (error instanceof WeftError) throw error;
    const { code, errno } = error as NodeJS.ErrnoException;
    if (code === "ENOENT") throw new KernelError(`netns: ${path} does not exist`, { errno: 2, field: "netns", cause: error });
    throw new KernelError(`netns: cannot open ${path}: ${errorText(error)}`, { ...(errno === undefined ? {} : { errno: -errno }), field: "netns", cause: error });
  }
  try {
    const stat = fstatSync(fd);
    // statfs through /proc/self/fd/N reaches the very file that is open, as fstatfs would.
    if (!stat.isFile() || statfsSync(`/proc/self/fd/${fd}`).type !== NSFS_MAGIC) throw notANamespace("not on nsfs");
    const type = libc().ioctl(fd, NS_GET_NSTYPE);
    if (type !== CLONE_NEWNET) throw notANamespace(type < 0 ? `NS_GET_NSTYPE: ${errnoText(koffi.errno())}` : "another kind of namespace");
    return { fd, id: { dev: stat.dev, ino: stat.ino } };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/**
 * Opens an endpoint's namespace to make its container end there: never this thread's own namespace
 * (the host end's), and, when the identity recorded at attach is given, only that very namespace:
 * otherwise a NamespaceChangedError, whatever is at the path now.
 */
export function openEndpointNamespace(netns: string, recorded: NetworkNamespaceId | undefined): { fd: number; id: NetworkNamespaceId } {
  const path = netnsPath(netns);
  let opened: { fd: number; id: NetworkNamespaceId };
  try {
    opened = openNetworkNamespace(netns);
  } catch (error) {
    if (recorded === undefined) throw error;
    throw new NamespaceChangedError(`netns: ${path}: the namespace recorded at attach is gone (${errorText(error)})`, error);
  }
  try {
    if (recorded !== undefined) {
      const cookie = recorded.cookie === undefined ? undefined : namespaceCookie(opened.fd);
      const now = cookie === undefined ? opened.id : { ...opened.id, cookie };
      if (!sameNamespace(now, recorded)) {
        throw new NamespaceChangedError(`netns: ${path}: another namespace is there now (${describe(now)}; attached to ${describe(recorded)})`);
      }
    }
    if (sameNamespace(opened.id, identityOf("/proc/thread-self/ns/net"))) {
      throw new WeftError("invalid-argument", `netns: ${path} is this host's own network namespace`, { field: "netns" });
    }
    return opened;
  } catch (error) {
    closeSync(opened.fd);
    throw error;
  }
}

/** The identity of the namespace a path names now, without the checks of openNetworkNamespace. */
function identityOf(path: string): NetworkNamespaceId {
  const stat = statSync(path);
  return { dev: stat.dev, ino: stat.ino };
}

/** The cookie of the namespace open at `fd`, read from a socket made inside it; undefined before Linux 5.14. */
function namespaceCookie(fd: number): string | undefined {
  const calls = libc();
  return inNetworkNamespace(fd, () => {
    const socket = calls.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (socket < 0) return undefined;
    try {
      const value = Buffer.alloc(8);
      const length = Buffer.alloc(4);
      length.writeUInt32LE(8, 0);
      if (calls.getsockopt(socket, SOL_SOCKET, SO_NETNS_COOKIE, value, length) !== 0) return undefined;
      return value.readBigUInt64LE(0).toString();
    } finally {
      calls.close(socket);
    }
  });
}

function describe(id: NetworkNamespaceId): string {
  return `inode ${id.ino}${id.cookie === undefined ? "" : `, cookie ${id.cookie}`}`;
}

/**
 * Runs `work` synchronously with the calling thread inside the namespace open at `fd` and always
 * switches back before returning or throwing. If switching back fails the process cannot safely go on
 * (its main thread would program a container's namespace), so it aborts.
 */
export function inNetworkNamespace<T>(fd: number, work: () => T): T {
  const home = openSync("/proc/thread-self/ns/net", "r"); // before switching: afterwards it names the other one
  try {
    if (setns(fd) !== 0) {
      const errno = koffi.errno();
      throw new KernelError(`setns: ${errnoText(errno)}`, { errno });
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
