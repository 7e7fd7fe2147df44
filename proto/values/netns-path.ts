// How a caller names a container's network namespace: a name under /run/netns (ip netns add NAME)
// or a /proc/PID/ns/net path. Nothing else: an arbitrary path could name a FIFO, a file, or the
// host's own namespace through a symlink.
import { WeftError } from "./weft-error.js";

export type NetnsReference =
  | { kind: "named"; name: string; path: string }
  | { kind: "process"; pid: number; path: string };

const NETNS_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const PROC_PATH = /^\/proc\/([1-9][0-9]{0,9})\/ns\/net$/;
const RUN_NETNS_PATH = /^\/run\/netns\/([A-Za-z0-9_.-]{1,64})$/;

export function parseNetnsReference(text: unknown, field = "netns"): NetnsReference {
  const bad = (reason: string) => new WeftError("invalid-argument", `${field}: ${JSON.stringify(text)} ${reason}`, { field });
  if (typeof text !== "string" || text.length === 0) throw new WeftError("invalid-argument", `${field}: is required (a name under /run/netns or /proc/PID/ns/net)`, { field });
  const named = RUN_NETNS_PATH.exec(text)?.[1] ?? (NETNS_NAME.test(text) ? text : undefined);
  if (named !== undefined) {
    if (named === "." || named === "..") throw bad("is not a namespace name");
    return { kind: "named", name: named, path: `/run/netns/${named}` };
  }
  const pid = PROC_PATH.exec(text)?.[1];
  if (pid !== undefined) return { kind: "process", pid: Number(pid), path: text };
  throw bad("is neither a namespace name (ip netns add NAME) nor a /proc/PID/ns/net path");
}
