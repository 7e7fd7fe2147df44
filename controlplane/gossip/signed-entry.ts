import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { EndpointEntrySchema, SignedEntrySchema, type SignedEntry } from "../../proto/gen/weft/v1/gossip_pb.js";
import { endpointKey, endpointRecordProblem, freezeRecord, type EndpointKey, type EndpointRecord } from "./endpoint-record.js";
import { entryHash } from "./owner-digest.js";
import { ed25519Signatures, type SignatureScheme } from "./signature-scheme.js";

/** Largest serialized EndpointEntry accepted. */
export const MAX_ENTRY_BYTES = 16 * 1024;

/** A decoded entry together with the exact bytes its owner signed. Immutable and shareable. */
export interface DecodedEntry {
  readonly key: EndpointKey;
  readonly record: EndpointRecord;
  readonly signed: SignedEntry;
  /** entryHash(key, version), for digests. */
  readonly hash: number;
  /** Approximate size on the wire. */
  readonly wireBytes: number;
}

export type EntryRejection = "malformed-entry" | "unknown-owner" | "bad-entry-signature";

export type VerifiedEntry =
  | { readonly ok: true; readonly entry: DecodedEntry }
  | { readonly ok: false; readonly reason: EntryRejection; readonly detail: string };

/** Serializes a record and signs the bytes with the owner's secret key. Tombstones drop address fields. */
export function encodeAndSignEntry(
  record: EndpointRecord,
  secretKey: Uint8Array,
  scheme: SignatureScheme = ed25519Signatures,
): DecodedEntry {
  const clean: EndpointRecord = record.tombstone
    ? { ...record, ip: "", mac: "", vtep: "", name: "", labels: {} }
    : { ...record, labels: { ...record.labels }, deletedAtMs: 0 };
  const bytes = toBinary(
    EndpointEntrySchema,
    create(EndpointEntrySchema, {
      network: clean.network,
      endpointId: clean.endpointId,
      owner: clean.owner,
      version: BigInt(clean.version),
      tombstone: clean.tombstone,
      ip: clean.ip,
      mac: clean.mac,
      vtep: clean.vtep,
      name: clean.name,
      labels: clean.labels,
      deletedAtMs: BigInt(clean.deletedAtMs),
    }),
  );
  const signed = create(SignedEntrySchema, { entry: bytes, signature: scheme.sign(bytes, secretKey) });
  return toDecoded(freezeRecord(clean), signed);
}

/** Decodes an entry's bytes and checks its fields; does not check the signature. */
export function decodeEntry(signed: SignedEntry): VerifiedEntry {
  if (signed.entry.length === 0 || signed.entry.length > MAX_ENTRY_BYTES)
    return { ok: false, reason: "malformed-entry", detail: `entry of ${signed.entry.length} bytes` };
  let record: EndpointRecord;
  try {
    const entry = fromBinary(EndpointEntrySchema, signed.entry);
    if (entry.version > BigInt(Number.MAX_SAFE_INTEGER) || entry.deletedAtMs > BigInt(Number.MAX_SAFE_INTEGER))
      return { ok: false, reason: "malformed-entry", detail: "version or deletedAtMs out of range" };
    record = {
      network: entry.network,
      endpointId: entry.endpointId,
      owner: entry.owner,
      version: Number(entry.version),
      tombstone: entry.tombstone,
      ip: entry.ip,
      mac: entry.mac,
      vtep: entry.vtep,
      name: entry.name,
      labels: { ...entry.labels },
      deletedAtMs: Number(entry.deletedAtMs),
    };
  } catch (err) {
    return { ok: false, reason: "malformed-entry", detail: err instanceof Error ? err.message : String(err) };
  }
  const problem = endpointRecordProblem(record);
  if (problem !== undefined) return { ok: false, reason: "malformed-entry", detail: problem };
  // Keep our own copy: the decoded bytes may be a view into a large frame buffer.
  const own = create(SignedEntrySchema, { entry: signed.entry.slice(), signature: signed.signature.slice() });
  return { ok: true, entry: toDecoded(freezeRecord(record), own) };
}

/** Decodes an entry and checks it is signed by its owner's key (looked up by the owner's name). */
export function verifyAndDecodeEntry(
  signed: SignedEntry,
  publicKeyOf: (owner: string) => Uint8Array | undefined,
  scheme: SignatureScheme = ed25519Signatures,
): VerifiedEntry {
  const decoded = decodeEntry(signed);
  if (!decoded.ok) return decoded;
  const owner = decoded.entry.record.owner;
  const publicKey = publicKeyOf(owner);
  if (publicKey === undefined) return { ok: false, reason: "unknown-owner", detail: `owner ${owner} is not a known node` };
  if (!scheme.verify(signed.entry, signed.signature, publicKey))
    return { ok: false, reason: "bad-entry-signature", detail: `entry ${decoded.entry.key} is not signed by ${owner}` };
  return decoded;
}

/**
 * Remembers decoded entries and the keys they verified against, by signature, so a node that hears
 * the same entry from several peers decodes and verifies it once. Bounded; oldest forgotten first.
 * The simulator shares one cache between all its nodes.
 */
export class SignedEntryCache {
  readonly #entries = new Map<string, { entry: DecodedEntry; verifiedWith?: Uint8Array }>();

  constructor(readonly capacity = 65_536) {}

  decode(signed: SignedEntry): VerifiedEntry {
    const id = cacheId(signed.signature);
    const hit = this.#entries.get(id);
    if (hit !== undefined && sameBytes(hit.entry.signed.entry, signed.entry)) return { ok: true, entry: hit.entry };
    const decoded = decodeEntry(signed);
    if (decoded.ok) {
      if (this.#entries.size >= this.capacity) this.#entries.delete(this.#entries.keys().next().value!);
      this.#entries.set(id, { entry: decoded.entry });
    }
    return decoded;
  }

  verify(entry: DecodedEntry, publicKey: Uint8Array, scheme: SignatureScheme): boolean {
    const id = cacheId(entry.signed.signature);
    const hit = this.#entries.get(id);
    if (hit !== undefined && hit.entry === entry && hit.verifiedWith !== undefined && sameBytes(hit.verifiedWith, publicKey)) return true;
    const ok = scheme.verify(entry.signed.entry, entry.signed.signature, publicKey);
    if (ok && hit !== undefined && hit.entry === entry) hit.verifiedWith = publicKey;
    return ok;
  }
}

function toDecoded(record: EndpointRecord, signed: SignedEntry): DecodedEntry {
  const key = endpointKey(record);
  return Object.freeze({
    key,
    record,
    signed,
    hash: entryHash(key, record.version),
    wireBytes: signed.entry.length + signed.signature.length + 6,
  });
}

function cacheId(signature: Uint8Array): string {
  return Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength).toString("latin1");
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
