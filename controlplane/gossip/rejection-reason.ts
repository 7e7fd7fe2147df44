import type { PolicyRejection } from "./entry-policy.js";
import type { EntryRejection } from "./signed-entry.js";

/** Label values of weft_gossip_rejected_total{reason}. */
export type RejectionReason =
  | "malformed-frame"
  | "oversized-frame"
  | "too-many-entries"
  | "unsealed-frame"
  | "wrong-cluster-key"
  | "unexpected-seal"
  | "unknown-origin"
  | "bad-frame-signature"
  | "wrong-receiver"
  | "stale-frame"
  | "replayed-frame"
  | "unbound-reply"
  | "unexpected-responder"
  | "rate-limited"
  | "address-conflict"
  | "owner-quota"
  | "future-deletion"
  | EntryRejection
  | PolicyRejection;
