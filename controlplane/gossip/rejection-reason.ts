import type { PolicyRejection } from "./entry-policy.js";
import type { EntryRejection } from "./signed-entry.js";

/** Label values of weft_gossip_rejected_total{reason}. */
export type RejectionReason =
  | "malformed-frame"
  | "oversized-frame"
  | "unsealed-frame"
  | "wrong-cluster-key"
  | "unexpected-seal"
  | "unknown-origin"
  | "bad-frame-signature"
  | "unexpected-responder"
  | "owner-conflict"
  | EntryRejection
  | PolicyRejection;
