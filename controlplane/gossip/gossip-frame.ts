import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { errorText } from "../../proto/values/index.js";
import nacl from "tweetnacl";
import { FrameSchema, GossipMessageSchema, type GossipMessage } from "../../proto/gen/weft/v1/gossip_pb.js";
import { EntryLimitExceeded, encodeFrameFields, readGossipMessage, type WireMessage } from "./gossip-wire.js";
import type { RejectionReason } from "./rejection-reason.js";
import type { SignatureScheme } from "./signature-scheme.js";

export const CLUSTER_KEY_BYTES = nacl.secretbox.keyLength;

export interface FrameSecrets {
  readonly secretKey: Uint8Array;
  readonly scheme: SignatureScheme;
  /** When set, payloads are sealed with secretbox under this 32-byte key. */
  readonly clusterKey?: Uint8Array;
}

/**
 * Signs a message (or its encoding, see encodeGossipMessage) with the origin's key and seals it when
 * a cluster key is set.
 */
export function encodeFrame(message: GossipMessage | Uint8Array, secrets: FrameSecrets): Uint8Array {
  const bytes = message instanceof Uint8Array ? message : toBinary(GossipMessageSchema, message);
  const signature = secrets.scheme.sign(bytes, secrets.secretKey);
  if (secrets.clusterKey === undefined) return encodeFrameFields(new Uint8Array(), bytes, signature);
  const nonce = nacl.randomBytes(nacl.secretbox.nonceLength);
  const payload = nacl.secretbox(bytes, nonce, secrets.clusterKey);
  return encodeFrameFields(nonce, payload, signature);
}

export interface FrameCheck {
  readonly scheme: SignatureScheme;
  readonly clusterKey?: Uint8Array;
  readonly maxFrameBytes: number;
  /** Entries one push or sync reply may carry. */
  readonly maxEntries: number;
  publicKeyOf(origin: string): Uint8Array | undefined;
}

export type OpenedFrame =
  | { readonly ok: true; readonly message: WireMessage }
  | { readonly ok: false; readonly reason: RejectionReason; readonly origin: string; readonly detail: string };

/**
 * Opens and authenticates a frame, leaving the entries of pushes and sync replies as undecoded byte
 * ranges. Never throws: garbage comes back as a rejection with a reason and, when it could be read,
 * the claimed origin (unauthenticated: for logs only; otherwise "unknown"). Checks are ordered from
 * cheapest to dearest: size, structure and entry count before the signature.
 */
export function openFrame(bytes: Uint8Array, check: FrameCheck): OpenedFrame {
  const opened = openFrameBytes(bytes, check);
  return opened.ok ? { ok: true, message: opened.message } : opened;
}

type FrameBytes =
  | { readonly ok: true; readonly plain: Uint8Array; readonly message: WireMessage }
  | { readonly ok: false; readonly reason: RejectionReason; readonly origin: string; readonly detail: string };

function openFrameBytes(bytes: Uint8Array, check: FrameCheck): FrameBytes {
  const fail = (reason: RejectionReason, detail: string, origin = "unknown"): FrameBytes => ({ ok: false, reason, origin, detail });
  if (bytes.length > check.maxFrameBytes) return fail("oversized-frame", `frame of ${bytes.length} bytes exceeds ${check.maxFrameBytes}`);
  let nonce: Uint8Array;
  let payload: Uint8Array;
  let signature: Uint8Array;
  try {
    ({ nonce, payload, signature } = fromBinary(FrameSchema, bytes));
  } catch (err) {
    return fail("malformed-frame", `undecodable frame: ${errorText(err)}`);
  }
  let plain: Uint8Array;
  if (check.clusterKey !== undefined) {
    if (nonce.length === 0)
      return fail("unsealed-frame", "frame not sealed with the cluster key (sent without one)", claimedOrigin(payload));
    if (nonce.length !== nacl.secretbox.nonceLength) return fail("malformed-frame", `nonce of ${nonce.length} bytes`);
    const opened = nacl.secretbox.open(payload, nonce, check.clusterKey);
    if (opened === null) return fail("wrong-cluster-key", "frame not sealed with the cluster key (wrong key or tampered)");
    plain = opened;
  } else {
    if (nonce.length !== 0) return fail("unexpected-seal", "frame is sealed but this node has no cluster key");
    plain = payload;
  }
  let message: WireMessage;
  try {
    message = readGossipMessage(plain, check.maxEntries);
  } catch (err) {
    if (err instanceof EntryLimitExceeded) return fail("too-many-entries", err.message);
    return fail("malformed-frame", `undecodable message: ${errorText(err)}`);
  }
  const publicKey = check.publicKeyOf(message.origin);
  if (publicKey === undefined) return fail("unknown-origin", `origin ${JSON.stringify(message.origin.slice(0, 64))} is not a known node`, message.origin.slice(0, 64));
  if (!check.scheme.verify(plain, signature, publicKey))
    return fail("bad-frame-signature", "frame signature does not match the origin's key", message.origin);
  return { ok: true, plain, message };
}

// For the log line only: the origin an unsealed frame claims, unauthenticated.
function claimedOrigin(payload: Uint8Array): string {
  try {
    return fromBinary(GossipMessageSchema, payload).origin.slice(0, 64) || "unknown";
  } catch {
    return "unknown";
  }
}
