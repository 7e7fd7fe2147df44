import { create } from "@bufbuild/protobuf";
import { OwnerDigestSchema, type OwnerDigest } from "../../proto/gen/weft/v1/gossip_pb.js";
import type { EndpointKey } from "./endpoint-record.js";

/** Summary of one owner's entries on one node (tombstones included). */
export interface OwnerSummary {
  maxVersion: number;
  count: number;
  /** Sum modulo 2^32 of entryHash over the entries: independent of order, updatable in O(1). */
  hash: number;
}

/** FNV-1a 32 of `${key}#${version}`. */
export function entryHash(key: EndpointKey, version: number): number {
  const text = `${key}#${version}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function emptySummary(): OwnerSummary {
  return { maxVersion: 0, count: 0, hash: 0 };
}

export function summaryAdd(summary: OwnerSummary, version: number, hash: number): void {
  summary.count += 1;
  summary.hash = (summary.hash + hash) >>> 0;
  if (version > summary.maxVersion) summary.maxVersion = version;
}

/** Removes an entry; maxVersion is kept as a high-water mark (it only ever grows). */
export function summaryRemove(summary: OwnerSummary, hash: number): void {
  summary.count -= 1;
  summary.hash = (summary.hash - hash) >>> 0;
}

/** Whether two nodes hold the same set of (key, version) for an owner, as far as a digest can tell. */
export function sameSummary(a: OwnerSummary | undefined, b: OwnerSummary | undefined): boolean {
  const countA = a?.count ?? 0;
  const countB = b?.count ?? 0;
  if (countA === 0 && countB === 0) return true;
  return countA === countB && a!.hash === b!.hash;
}

export function toOwnerDigest(owner: string, summary: OwnerSummary): OwnerDigest {
  return create(OwnerDigestSchema, {
    owner,
    maxVersion: BigInt(summary.maxVersion),
    count: summary.count,
    hash: summary.hash,
  });
}

export function fromOwnerDigest(digest: OwnerDigest): OwnerSummary {
  return { maxVersion: Number(digest.maxVersion), count: digest.count, hash: digest.hash >>> 0 };
}
