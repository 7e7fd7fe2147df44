// Stands in for systemd's notify socket: python3 binds an AF_UNIX datagram socket with SO_PASSCRED
// and prints each datagram with its sender's PID (from SCM_CREDENTIALS) as one JSON line.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

export interface Notification {
  pid: number;
  message: string;
  /** Fields of the message, e.g. { READY: "1", STATUS: "..." }. */
  fields: Record<string, string>;
}

export interface NotifyListener {
  /** The NOTIFY_SOCKET value: a path, or "@name" for an abstract socket. */
  readonly socket: string;
  readonly received: Notification[];
  /** Resolves with the first notification (already received or to come) that `match` accepts. */
  next(match: (n: Notification) => boolean, timeoutMs: number): Promise<Notification>;
  close(): void;
}

const LISTENER = String.raw`
import json, socket, struct, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind("\0" + path[1:] if path.startswith("@") else path)
print(json.dumps({"bound": True}), flush=True)
while True:
    data, anc, flags, addr = s.recvmsg(4096, socket.CMSG_SPACE(12))
    pid = 0
    for level, kind, value in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", value[:12])[0]
    print(json.dumps({"pid": pid, "message": data.decode()}), flush=True)
`;

export async function startNotifyListener(socket: string): Promise<NotifyListener> {
  const child: ChildProcess = spawn("python3", ["-c", LISTENER, socket], { stdio: ["ignore", "pipe", "inherit"] });
  const received: Notification[] = [];
  const waiters = new Set<() => void>();
  let bound: () => void = () => undefined;
  const isBound = new Promise<void>((resolve, reject) => {
    bound = resolve;
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`notify listener exited (${code}) before binding ${socket}`)));
  });
  createInterface({ input: child.stdout! }).on("line", (line) => {
    const parsed = JSON.parse(line) as { bound?: boolean; pid: number; message: string };
    if (parsed.bound) return bound();
    const fields = Object.fromEntries(parsed.message.split("\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    received.push({ pid: parsed.pid, message: parsed.message, fields });
    for (const wake of waiters) wake();
  });
  await isBound;
  return {
    socket,
    received,
    next(match, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = received.find(match);
          if (found === undefined) return false;
          cleanup();
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no matching notification within ${timeoutMs} ms; received: ${JSON.stringify(received.map((n) => n.message))}`));
        }, timeoutMs);
        const wake = (): void => void check();
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(wake);
        };
        waiters.add(wake);
        check();
      });
    },
    close() {
      child.kill("SIGTERM");
    },
  };
}
