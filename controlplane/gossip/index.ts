// The endpoint gossip: what the agent and the simulator may use. Test doubles (memory-network.ts)
// are imported by path, never from here.
export type { Clock } from "../clock.js";
export { FakeClock, systemClock } from "../clock.js";
export {
  endpointKey,
  endpointRecordProblem,
  type EndpointAnnouncement,
  type EndpointKey,
  type EndpointRecord,
} from "./endpoint-record.js";
export { ipInAnySlice, policyProblem, sliceCapacity, type EntryPolicy, type PolicyRejection } from "./entry-policy.js";
export { applyEntry, decideMerge, mergeEntry, type MergeResult } from "./merge-entry.js";
export { ed25519Signatures, type SignatureScheme } from "./signature-scheme.js";
export { inProcessVerifier, type BatchSignatureVerifier, type SignatureCheck } from "./batch-signature-verifier.js";
export { workerSignatureVerifier, type WorkerSignatureVerifierOptions } from "./worker-signature-verifier.js";
export {
  decodeEntry,
  encodeAndSignEntry,
  MAX_ENTRY_BYTES,
  SignedEntryCache,
  verifyAndDecodeEntry,
  type DecodedEntry,
  type EntryRejection,
  type VerifiedEntry,
} from "./signed-entry.js";
export { entryHash, type OwnerSummary } from "./owner-digest.js";
export { CLUSTER_KEY_BYTES, encodeFrame } from "./gossip-frame.js";
export { FRAME_OVERHEAD_BYTES } from "./frame-channel.js";
export type { RejectionReason } from "./rejection-reason.js";
export { TransportError, type GossipTransport } from "./transport.js";
export { createGrpcTransport, type GrpcGossipTransport, type GrpcTransportOptions } from "./grpc-transport.js";
export { defaultGossipConfig, resolveGossipConfig, type GossipConfig } from "./gossip-config.js";
export {
  GossipNode,
  type ObserveHandler,
  type EndpointChange,
  type GossipNodeOptions,
  type GossipPeer,
  type PeerState,
  type PeerStatus,
} from "./gossip-node.js";
