// A blocking NETLINK_ROUTE socket through libc (koffi FFI). Thin: it sends prepared bytes and collects
// replies by sequence number; the encoding lives in netlink-message.ts and the message kinds beside it.
import koffi from "koffi";
import { KernelError, errnoText } from "./kernel-error.js";
import {
  NLMSG_DONE,
  NLMSG_ERROR,
  NLM_F_DUMP_INTR,
  parseNetlinkError,
  parseNetlinkHeaders,
  type NetlinkAck,
  type NetlinkHeader,
} from "./netlink-message.js";

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0x80000;
const NETLINK_ROUTE = 0;
const SOL_SOCKET = 1;
const SO_RCVTIMEO = 20;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const EINTR = 4;
const RECV_BUFFER = 1 << 20;

interface Libc {
  socket: (domain: number, type: number, protocol: number) => number;
  bind: (fd: number, addr: Buffer, length: number) => number;
  setsockopt: (fd: number, level: number, name: number, value: Buffer, length: number) => number;
  send: (fd: number, buffer: Buffer, length: number, flags: number) => number;
  recv: (fd: number, buffer: Buffer, length: number, flags: number) => number;
  close: (fd: number) => number;
  if_nametoindex: (name: string) => number;
}

let libc: Libc | undefined;

function loadLibc(): Libc {
  if (libc !== undefined) return libc;
  const lib = koffi.load("libc.so.6");
  libc = {
    socket: lib.func("int socket(int, int, int)"),
    bind: lib.func("int bind(int, void *, uint32_t)"),
    setsockopt: lib.func("int setsockopt(int, int, int, void *, uint32_t)"),
    send: lib.func("intptr_t send(int, void *, uintptr_t, int)"),
    recv: lib.func("intptr_t recv(int, void *, uintptr_t, int)"),
    close: lib.func("int close(int)"),
    if_nametoindex: lib.func("unsigned int if_nametoindex(const char *)"),
  };
  return libc;
}

function lastErrno(): number {
  return koffi.errno();
}

/** The ifindex of a link in the current network namespace, or undefined when there is none. */
export function interfaceIndex(name: string): number | undefined {
  const index = loadLibc().if_nametoindex(name);
  return index === 0 ? undefined : index;
}

export class NetlinkSocket {
  private readonly libc = loadLibc();
  private readonly fd: number;
  private readonly receiveBuffer: Buffer;
  private nextSeq = 1;

  /**
   * `receiveBufferSize`: bytes read per recv (a few KiB are enough for single requests). `protocol`:
   * NETLINK_ROUTE by default; NETLINK_NETFILTER (12) to read nftables objects.
   */
  constructor(options: { receiveBufferSize?: number; protocol?: number } = {}) {
    this.receiveBuffer = Buffer.alloc(options.receiveBufferSize ?? RECV_BUFFER);
    const fd = this.libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, options.protocol ?? NETLINK_ROUTE);
    if (fd < 0) throw this.errnoError("socket(AF_NETLINK)");
    this.fd = fd;
    try {
      // Large buffers so a chunk of thousands of messages and its error replies fit; FORCE needs
      // CAP_NET_ADMIN, which the agent has anyway; fall back silently to the default sizes without it.
      this.setIntOption(SOL_SOCKET, SO_SNDBUFFORCE, 8 << 20, false);
      this.setIntOption(SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20, false);
      this.setIntOption(SOL_NETLINK, NETLINK_CAP_ACK, 1, false);
      this.setIntOption(SOL_NETLINK, NETLINK_EXT_ACK, 1, false);
      const timeout = Buffer.alloc(16); // struct timeval { 10 s, 0 }: never hang forever on a lost reply
      timeout.writeBigInt64LE(10n, 0);
      this.libc.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeout, 16);
      const address = Buffer.alloc(12); // sockaddr_nl, pid 0: the kernel assigns one
      address.writeUInt16LE(AF_NETLINK, 0);
      if (this.libc.bind(fd, address, 12) !== 0) throw this.errnoError("bind(AF_NETLINK)");
    } catch (error) {
      this.libc.close(fd);
      throw error;
    }
  }

  /** Reserves `count` consecutive sequence numbers and returns the first. */
  allocateSeqs(count: number): number {
    const first = this.nextSeq;
    this.nextSeq += count;
    if (this.nextSeq > 0x7fff_0000) this.nextSeq = 1;
    return first;
  }

  /**
   * Sends a prepared batch whose last message asks for an ACK (sequence `lastSeq`), then reads until that
   * ACK arrives. Returns the errors the kernel reported, by sequence number (successes are absent).
   */
  sendBatch(batch: Buffer, firstSeq: number, lastSeq: number): Map<number, NetlinkAck> {
    this.sendAll(batch);
    const errors = new Map<number, NetlinkAck>();
    for (;;) {
      const length = this.receive();
      for (const header of parseNetlinkHeaders(this.receiveBuffer, length)) {
        if (header.type !== NLMSG_ERROR || header.seq < firstSeq || header.seq > lastSeq) continue;
        const ack = parseNetlinkError(this.receiveBuffer, header);
        if (ack.errno !== 0) errors.set(header.seq, ack);
        if (header.seq === lastSeq) return errors;
      }
    }
  }

  /**
   * Sends a dump request and hands every reply message to `onMessage`. Returns false when the kernel
   * flagged the dump as interrupted (the table changed under it); the caller should start over.
   */
  dump(request: Buffer, seq: number, onMessage: (buffer: Buffer, header: NetlinkHeader) => void): boolean {
    this.sendAll(request);
    let interrupted = false;
    for (;;) {
      const length = this.receive();
      for (const header of parseNetlinkHeaders(this.receiveBuffer, length)) {
        if (header.seq !== seq) continue;
        if ((header.flags & NLM_F_DUMP_INTR) !== 0) interrupted = true;
        if (header.type === NLMSG_DONE) return !interrupted;
        if (header.type === NLMSG_ERROR) {
          const ack = parseNetlinkError(this.receiveBuffer, header);
          throw new KernelError(`netlink dump: ${ack.message ?? errnoText(ack.errno)}`, {
            errno: ack.errno,
            ...(ack.message === undefined ? {} : { kernelMessage: ack.message }),
          });
        }
        onMessage(this.receiveBuffer, header);
      }
    }
  }

  close(): void {
    this.libc.close(this.fd);
  }

  private sendAll(buffer: Buffer): void {
    for (;;) {
      const sent = this.libc.send(this.fd, buffer, buffer.length, 0);
      if (sent >= 0) return;
      const errno = lastErrno();
      if (errno !== EINTR) throw this.errnoError("send(netlink)", errno);
    }
  }

  private receive(): number {
    for (;;) {
      const length = this.libc.recv(this.fd, this.receiveBuffer, this.receiveBuffer.length, 0);
      if (length >= 0) return length;
      const errno = lastErrno();
      if (errno !== EINTR) throw this.errnoError("recv(netlink)", errno);
    }
  }

  private setIntOption(level: number, name: number, value: number, required: boolean): void {
    const buffer = Buffer.alloc(4);
    buffer.writeInt32LE(value, 0);
    if (this.libc.setsockopt(this.fd, level, name, buffer, 4) !== 0 && required) throw this.errnoError("setsockopt");
  }

  private errnoError(call: string, errno = lastErrno()): KernelError {
    return new KernelError(`${call}: ${errnoText(errno)}`, { errno });
  }
}
