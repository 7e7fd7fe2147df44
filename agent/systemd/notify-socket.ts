// Sends one datagram to systemd's notify socket. Node has no AF_UNIX datagram sockets
// (nodejs/node#29339), so this goes through libc with koffi, already the dataplane's FFI: the
// message then carries weftd's own PID, which is what NotifyAccess=main accepts.
import koffi from "koffi";
import { WeftError } from "../../proto/values/index.js";

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0x80000;
const MSG_NOSIGNAL = 0x4000;

interface Libc {
  socket: (domain: number, type: number, protocol: number) => number;
  sendto: (fd: number, buffer: Buffer, length: number, flags: number, address: Buffer, addressLength: number) => number;
  close: (fd: number) => number;
  strerror: (errno: number) => string;
}

let libc: Libc | undefined;

function loadLibc(): Libc {
  if (libc !== undefined) return libc;
  const lib = koffi.load("libc.so.6");
  libc = {
    socket: lib.func("int socket(int, int, int)"),
    sendto: lib.func("intptr_t sendto(int, void *, uintptr_t, int, void *, uint32_t)"),
    close: lib.func("int close(int)"),
    strerror: lib.func("const char *strerror(int)"),
  };
  return libc;
}

/** `address`: a sockaddr_un from notifySocketAddress(). Throws a WeftError when the send fails. */
export function sendNotifyDatagram(address: Buffer, message: string): void {
  const c = loadLibc();
  const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new WeftError("unavailable", `NOTIFY_SOCKET: socket(AF_UNIX, SOCK_DGRAM): ${c.strerror(koffi.errno())}`, { field: "NOTIFY_SOCKET" });
  try {
    const payload = Buffer.from(message, "utf8");
    if (c.sendto(fd, payload, payload.length, MSG_NOSIGNAL, address, address.length) < 0) {
      throw new WeftError("unavailable", `NOTIFY_SOCKET: sendto: ${c.strerror(koffi.errno())}`, { field: "NOTIFY_SOCKET" });
    }
  } finally {
    c.close(fd);
  }
}
