// A batch of signature checks packed into two transferable buffers, so handing 50,000 checks to a
// worker thread moves two buffers instead of structured-cloning 150,000 small arrays.
import nacl from "tweetnacl";

import type { SignatureCheck } from "./batch-signature-verifier.js";

/** Per check: the offset of its record in `bytes` and its message length. A record is signature, public key, message. */
export interface PackedChecks {
  readonly layout: Uint32Array;
  readonly bytes: Uint8Array;
}

const SIGNATURE_BYTES = nacl.sign.signatureLength;
const PUBLIC_KEY_BYTES = nacl.sign.publicKeyLength;

/** Whether a check has the shape ed25519 can verify at all; anything else verifies as false without work. */
export function isWellFormedCheck(check: unknown): check is SignatureCheck {
  if (typeof check !== "object" || check === null) return false;
  const { message, signature, publicKey } = check as Partial<Record<keyof SignatureCheck, unknown>>;
  return (
    message instanceof Uint8Array &&
    signature instanceof Uint8Array &&
    publicKey instanceof Uint8Array &&
    signature.length === SIGNATURE_BYTES &&
    publicKey.length === PUBLIC_KEY_BYTES
  );
}

/** Packs well-formed checks (see isWellFormedCheck). */
export function packChecks(checks: readonly SignatureCheck[]): PackedChecks {
  let total = 0;
  for (const check of checks) total += SIGNATURE_BYTES + PUBLIC_KEY_BYTES + check.message.length;
  const layout = new Uint32Array(checks.length * 2);
  const bytes = new Uint8Array(total);
  let offset = 0;
  checks.forEach((check, index) => {
    layout[index * 2] = offset;
    layout[index * 2 + 1] = check.message.length;
    bytes.set(check.signature, offset);
    bytes.set(check.publicKey, offset + SIGNATURE_BYTES);
    bytes.set(check.message, offset + SIGNATURE_BYTES + PUBLIC_KEY_BYTES);
    offset += SIGNATURE_BYTES + PUBLIC_KEY_BYTES + check.message.length;
  });
  return { layout, bytes };
}

export function packedCount(packed: PackedChecks): number {
  return packed.layout.length / 2;
}

/** The index-th check of a packed batch, as views into its buffer. */
export function unpackCheck(packed: PackedChecks, index: number): SignatureCheck {
  const offset = packed.layout[index * 2]!;
  const messageLength = packed.layout[index * 2 + 1]!;
  const keyStart = offset + SIGNATURE_BYTES;
  const messageStart = keyStart + PUBLIC_KEY_BYTES;
  return {
    signature: packed.bytes.subarray(offset, keyStart),
    publicKey: packed.bytes.subarray(keyStart, messageStart),
    message: packed.bytes.subarray(messageStart, messageStart + messageLength),
  };
}
