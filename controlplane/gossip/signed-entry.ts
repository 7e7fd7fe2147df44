import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { isIPv4, parseIPv4 } from "../../proto/values/index.js";
import { EndpointEntrySchema, SignedEntrySchema, type SignedEntry } from "../../proto/gen/weft/v1/gossip_pb.js";
import { endpointKey, endpointRecordProblem, freezeRecord, type EndpointKey, type EndpointRecord } from "./endpoint-record.js";
import { encodeSignedEntry, readSignedEntry, repeatedEntrySize, type SignedEntryBytes } from "./gossip-wire.js";
import { entryHash } from "./owner-digest.js";
import { ed25519Signatures, type SignatureScheme } from "./signature-scheme.js";

/** Largest serialized EndpointEntry accepted. */
export const MAX_ENTRY_BYTES = 16 * 1024;

/**
 * A decoded entry together with the exact bytes its owner signed. Shareable: nothing in it changes
 * but the verification memo.
 *
 * Kept small, because an agent holds one per endpoint in the cluster: the signed bytes live once, as
 * the SignedEntry encoding (in Node's shared buffer pool, not an ArrayBuffer of their own), and the
 * record's repeated strings (network, owner, VTEP) and empty labels are shared between entries.
 */
export class DecodedEntry {
  /** The public key this entry's signature last verified against (see SignedEntryCache.remember). */
  verifiedWith: Uint8Array | undefined = undefined;

  constructor(
    readonly key: EndpointKey,
    readonly record: EndpointRecord,
    /** The SignedEntry encoding, spliced as is into every message that carries the entry. */
    readonly wire: Uint8Array,
    /** entryHash(key, version), for digests. */
    readonly hash: number,
    /** The IP as a number (0 on a tombstone): parsed once, checked against slices on every node. */
    readonly address: number,
  ) {}

  /** Size on the wire as one element of a repeated field. */
  get wireBytes(): number {
    return repeatedEntrySize(this.wire);
  }

  /** The signed bytes and the signature: views into `wire`. */
  parts(): SignedEntryBytes {
    return readSignedEntry(this.wire);
  }

  /** As a protobuf message, built on each call (tests assemble frames from these). */
  get signed(): SignedEntry {
    const { entry, signature } = this.parts();
    return create(SignedEntrySchema, { entry, signature });
  }
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
    ? { ...record, ip: "", mac: "", vtep: "", name: "", aliases: [], labels: {} }
    : { ...record, aliases: [...record.aliases], labels: { ...record.labels }, deletedAtMs: 0 };
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
      aliases: [...clean.aliases],
      labels: clean.labels,
      deletedAtMs: BigInt(clean.deletedAtMs),
    }),
  );
  return toDecoded(freezeRecord(clean), { entry: bytes, signature: scheme.sign(bytes, secretKey) });
}

/** Decodes an entry's bytes and checks its fields; does not check the signature. */
export function decodeEntry(signed: SignedEntryBytes): VerifiedEntry {
  if (signed.entry.length === 0 || signed.entry.length > MAX_ENTRY_BYTES)
    return { ok: false, reason: "malformed-entry", detail: `entry of ${signed.entry.length} bytes` };
  let record: EndpointRecord;
  try {
    const entry = fromBinary(EndpointEntrySchema, signed.entry);
    if (entry.version > BigInt(Number.MAX_SAFE_INTEGER) || entry.deletedAtMs > BigInt(Number.MAX_SAFE_INTEGER))
      return { ok: false, reason: "malformed-entry", detail: "version or deletedAtMs out of range" };
    record = {
      network: shared(entry.network),
      endpointId: entry.endpointId,
      owner: shared(entry.owner),
      version: Number(entry.version),
      tombstone: entry.tombstone,
      ip: entry.ip,
      mac: entry.mac,
      vtep: shared(entry.vtep),
      name: entry.name,
      aliases: entry.aliases.length === 0 ? NO_ALIASES : entry.aliases,
      labels: Object.keys(entry.labels).length === 0 ? NO_LABELS : { ...entry.labels },
      deletedAtMs: Number(entry.deletedAtMs),
    };
  } catch (err) {
    return { ok: false, reason: "malformed-entry", detail: err instanceof Error ? err.message : String(err) };
  }
  const problem = endpointRecordProblem(record);
  if (problem !== undefined) return { ok: false, reason: "malformed-entry", detail: problem };
  // toDecoded copies the bytes: the ones given may be a view into a large frame buffer.
  return { ok: true, entry: toDecoded(freezeRecord(record), signed) };
}

/** Decodes an entry and checks it is signed by its owner's key (looked up by the owner's name). */
export function verifyAndDecodeEntry(
  signed: SignedEntryBytes,
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
 * Remembers recently verified entries, by signature, so a node that hears the same entry from several
 * peers decodes and verifies it once. Only entries whose signature verified are stored (remember), so
 * forged entries cannot push real ones out. Bounded; oldest forgotten first. The simulator shares one
 * cache between all its nodes. An agent's table holds the entries themselves: the cache only has to
 * span the time an entry takes to arrive from each of the peers that forward it, hence the modest
 * default.
 *
 * Slots are found by 30 bits of the signature's tail (a number: no string or buffer per lookup) and
 * confirmed by comparing the bytes in full, so a colliding or forged copy is a miss, never a wrong
 * hit. decodeWire takes a SignedEntry's encoding as received: for entries encoded the way this
 * module encodes them (signature last), its tail is the signature's, and one compare against the
 * held encoding confirms a hit; anything else is parsed and looked up by its signature.
 */
export class SignedEntryCache {
  readonly #slots = new Map<number, DecodedEntry>();
  /**
   * Entries whose signature is being checked right now, so a copy arriving meanwhile (a push and a
   * sync reply crossing) is the same object and is not decoded again. Apart from the verified ones:
   * nothing unverified ever displaces a verified entry.
   */
  readonly #verifying = new Map<number, DecodedEntry>();

  constructor(readonly capacity = 16_384) {}

  decodeWire(encoded: Uint8Array): VerifiedEntry {
    const slot = slotId(encoded);
    const hit = this.#slots.get(slot) ?? this.#verifying.get(slot);
    if (hit !== undefined && sameBytes(hit.wire, encoded)) return { ok: true, entry: hit };
    let signed: SignedEntryBytes;
    try {
      signed = readSignedEntry(encoded);
    } catch (err) {
      return { ok: false, reason: "malformed-entry", detail: `undecodable SignedEntry: ${err instanceof Error ? err.message : String(err)}` };
    }
    return this.decode(signed);
  }

  decode(signed: SignedEntryBytes): VerifiedEntry {
    const slot = slotId(signed.signature);
    for (const hit of [this.#slots.get(slot), this.#verifying.get(slot)]) {
      if (hit === undefined) continue;
      const held = hit.parts();
      if (sameBytes(held.signature, signed.signature) && sameBytes(held.entry, signed.entry)) return { ok: true, entry: hit };
    }
    return decodeEntry(signed);
  }

  /** Whether the entry's signature already verified against this key (no need to check it again). */
  isVerifiedWith(entry: DecodedEntry, publicKey: Uint8Array): boolean {
    return entry.verifiedWith !== undefined && sameBytes(entry.verifiedWith, publicKey);
  }

  /** The entry's signature is being checked: copies decoded meanwhile are this object. Bounded. */
  verifying(entry: DecodedEntry): void {
    if (this.#verifying.size >= this.capacity) this.#verifying.delete(this.#verifying.keys().next().value!);
    this.#verifying.set(slotId(entry.parts().signature), entry);
  }

  /** The check is over, whatever its outcome (remember() keeps an entry that passed). */
  verified(entry: DecodedEntry): void {
    const id = slotId(entry.parts().signature);
    if (this.#verifying.get(id) === entry) this.#verifying.delete(id);
  }

  /** Records that the entry's signature verified against `publicKey`, and keeps the entry. */
  remember(entry: DecodedEntry, publicKey: Uint8Array): void {
    entry.verifiedWith = publicKey;
    const id = slotId(entry.parts().signature);
    if (this.#slots.get(id) === entry) return;
    if (!this.#slots.has(id) && this.#slots.size >= this.capacity) this.#slots.delete(this.#slots.keys().next().value!);
    this.#slots.set(id, entry);
  }
}

function toDecoded(record: EndpointRecord, signed: SignedEntryBytes): DecodedEntry {
  const key = endpointKey(record);
  // encodeAndSignEntry signs whatever it is given (tests craft bad entries); decodeEntry has checked.
  const address = !record.tombstone && isIPv4(record.ip) ? parseIPv4(record.ip) : 0;
  return new DecodedEntry(key, record, encodeSignedEntry(signed.entry, signed.signature), entryHash(key, record.version), address);
}

const NO_LABELS: Record<string, string> = Object.freeze({});
const NO_ALIASES: readonly string[] = Object.freeze([]);

// Network names, owners and VTEP addresses repeat across thousands of entries; decoding makes a new
// string each time. Bounded: cleared when full, which only costs sharing.
const sharedStrings = new Map<string, string>();
const MAX_SHARED_STRINGS = 8192;

function shared(value: string): string {
  const held = sharedStrings.get(value);
  if (held !== undefined) return held;
  if (sharedStrings.size >= MAX_SHARED_STRINGS) sharedStrings.clear();
  sharedStrings.set(value, value);
  return value;
}

// 30 bits of the last four bytes, so the key stays a small integer (V8 hashes those fastest);
// collisions only cost a miss.
function slotId(bytes: Uint8Array): number {
  const n = bytes.length;
  if (n < 4) return -1 - n;
  return (bytes[n - 4]! << 22) | (bytes[n - 3]! << 14) | (bytes[n - 2]! << 6) | (bytes[n - 1]! >> 2);
}

const bufferEquals = Buffer.prototype.equals;

// Buffer's native compare works on any Uint8Array and is ~4x faster than a JS loop at entry sizes.
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && bufferEquals.call(a, b);
}
