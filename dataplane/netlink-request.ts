// Single rtnetlink requests that ask for an ACK: a refusal becomes a KernelError with the kernel's text.
import { ENODEV, ENOENT, KernelError, errnoText } from "./kernel-error.js";
import { encodeDeleteLink } from "./link-message.js";
import type { NetlinkSocket } from "./netlink-socket.js";

/** Sends one message that asks for an ACK; a refusal becomes a KernelError with the kernel's text. */
export function request(socket: NetlinkSocket, what: string, encode: (seq: number) => Buffer): void {
  const seq = socket.allocateSeqs(1);
  const ack = socket.sendBatch(encode(seq), seq, seq).get(seq);
  if (ack === undefined) return;
  const text = ack.message ?? errnoText(ack.errno);
  throw new KernelError(`${what}: ${text}`, { errno: ack.errno, kernelMessage: text });
}

/** Like `ip link del NAME`; returns false when there was nothing to delete. */
export function deleteLink(socket: NetlinkSocket, name: string): boolean {
  try {
    request(socket, `delete link ${name}`, (seq) => encodeDeleteLink(name, seq));
    return true;
  } catch (error) {
    if (error instanceof KernelError && (error.errno === ENODEV || error.errno === ENOENT)) return false;
    throw error;
  }
}
