// What a GossipNode is built from, and the checks on it before anything starts.
import type { Registry } from "prom-client";
import { invalidArgument, parseName } from "../../proto/values/index.js";
import type { Clock } from "../clock.js";
import type { BatchSignatureVerifier } from "./batch-signature-verifier.js";
import type { EntryPolicy } from "./entry-policy.js";
import type { GossipConfig } from "./gossip-config.js";
import { CLUSTER_KEY_BYTES } from "./gossip-frame.js";
import { ed25519Signatures, type SignatureScheme } from "./signature-scheme.js";
import type { SignedEntryCache } from "./signed-entry.js";
import type { GossipTransport } from "./transport.js";

export interface GossipNodeOptions {
  name: string;
  keyPair: { publicKey: Uint8Array; secretKey: Uint8Array };
  transport: GossipTransport;
  policy: EntryPolicy;
  clock?: Clock;
  /** 32 bytes; when set every frame is sealed with it and unsealed frames are refused. */
  clusterKey?: Uint8Array;
  /** The last version() of a previous run; own versions start above it. */
  versionFloor?: number;
  config?: Partial<GossipConfig>;
  log?: (line: string) => void;
  metrics?: Registry;
  random?: () => number;
  /** Signature scheme; ed25519 unless a simulator swaps it. */
  signatures?: SignatureScheme;
  /** Verifies incoming entries' signatures in batches; default: in-process with `signatures`. */
  verifier?: BatchSignatureVerifier;
  /** Decoded/verified entry cache; the simulator shares one between nodes. */
  entryCache?: SignedEntryCache;
  /**
   * Awaited (at most 100 ms) after a push brought something new, before it is acknowledged: the
   * agent passes "reconcile the kernel", so an acknowledged push means the entry is programmed here.
   */
  beforeAck?: () => Promise<unknown>;
}

/** The node's name, signature scheme and version floor; throws a WeftError naming the bad field. */
export function checkNodeOptions(options: GossipNodeOptions): { name: string; scheme: SignatureScheme; ed25519: boolean; floor: number } {
  const name = parseName(options.name, "name");
  const scheme = options.signatures ?? ed25519Signatures;
  const ed25519 = scheme === ed25519Signatures;
  if (ed25519 && options.keyPair?.publicKey?.length !== 32) throw invalidArgument("keyPair.publicKey", "must be 32 bytes (ed25519)");
  if (ed25519 && options.keyPair.secretKey?.length !== 64) throw invalidArgument("keyPair.secretKey", "must be 64 bytes (ed25519)");
  if (options.clusterKey !== undefined && options.clusterKey.length !== CLUSTER_KEY_BYTES)
    throw invalidArgument("clusterKey", `must be ${CLUSTER_KEY_BYTES} bytes, got ${options.clusterKey.length}`);
  const floor = options.versionFloor ?? 0;
  if (!Number.isSafeInteger(floor) || floor < 0) throw invalidArgument("versionFloor", "must be a non-negative safe integer");
  return { name, scheme, ed25519, floor };
}
