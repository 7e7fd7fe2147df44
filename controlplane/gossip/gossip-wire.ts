import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import {
  GossipMessageSchema,
  OwnerDigestSchema,
  PushDeltaSchema,
  SyncReplySchema,
  type GossipMessage,
  type OwnerDigest,
} from "../../proto/gen/weft/v1/gossip_pb.js";

// Hand-built protobuf for the two messages that carry entries (PushDelta, SyncReply). A node keeps
// each entry's SignedEntry bytes once and splices them into every message that carries the entry,
// and a receiver reads entries as byte ranges, decoding only the ones it has not seen. The bytes
// are ordinary proto3 of gossip.proto: a repeated message field is `tag len bytes` per
// element, and a message field that appears twice is merged, so spliced parts decode as one.

/** The two byte strings of a SignedEntry; views into a frame when read from the wire. */
export interface SignedEntryBytes {
  readonly entry: Uint8Array;
  readonly signature: Uint8Array;
}

/** The fields every GossipMessage carries besides its body. */
export interface MessageHead {
  readonly origin: string;
  /** The node the message is for. */
  readonly receiver: string;
  readonly sentAtMs: number;
  readonly messageId: bigint;
  /** The request's messageId on a reply; 0n on a request. */
  readonly inReplyTo: bigint;
}

/**
 * A GossipMessage whose entries, if any, are still undecoded: each is the encoding of one SignedEntry
 * (a view into the received bytes; see readSignedEntry).
 */
export interface WireMessage extends MessageHead {
  readonly body:
    | { readonly case: "push"; readonly entries: readonly Uint8Array[]; readonly confirm: boolean }
    | {
        readonly case: "syncReply";
        readonly entries: readonly Uint8Array[];
        readonly owners: readonly OwnerDigest[];
        readonly truncated: boolean;
      }
    | Exclude<GossipMessage["body"], { case: "push" } | { case: "syncReply" }>;
}

/** What a node sends: entries as their SignedEntry encodings, everything else as messages. */
export type OutgoingBody =
  | { readonly case: "push"; readonly entries: readonly Uint8Array[]; readonly confirm?: boolean }
  | { readonly case: "syncReply"; readonly entries: readonly Uint8Array[]; readonly owners: OwnerDigest[]; readonly truncated: boolean }
  | Exclude<GossipMessage["body"], { case: "push" } | { case: "syncReply" } | { case: undefined }>;

/** A message carries more entries than the receiver accepts in one frame. */
export class EntryLimitExceeded extends Error {
  constructor(readonly limit: number) {
    super(`more than ${limit} entries in one message`);
    this.name = "EntryLimitExceeded";
  }
}

const LEN = WireType.LengthDelimited;
const TAG_ENTRIES = tag(1, LEN);
const TAG_CONFIRM = tag(2, WireType.Varint);
const FIELD_PUSH = 10;
const FIELD_SYNC_REPLY = 13;

/**
 * SignedEntry { entry = 1; signature = 2 } encoded. Small results come from Node's shared buffer
 * pool: a table of tens of thousands of entries then holds their bytes in a few large buffers rather
 * than one ArrayBuffer (and its bookkeeping) each.
 */
export function encodeSignedEntry(entry: Uint8Array, signature: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(fieldSize(entry.length) + fieldSize(signature.length));
  let pos = writeField(out, 0, tag(1, LEN), entry);
  pos = writeField(out, pos, tag(2, LEN), signature);
  return out;
}

/** Frame { nonce = 1; payload = 2; signature = 3 } encoded (an empty nonce is left out, as proto3 does). */
export function encodeFrameFields(nonce: Uint8Array, payload: Uint8Array, signature: Uint8Array): Uint8Array {
  const nonceSize = nonce.length > 0 ? fieldSize(nonce.length) : 0;
  const out = new Uint8Array(nonceSize + fieldSize(payload.length) + fieldSize(signature.length));
  let pos = nonce.length > 0 ? writeField(out, 0, tag(1, LEN), nonce) : 0;
  pos = writeField(out, pos, tag(2, LEN), payload);
  writeField(out, pos, tag(3, LEN), signature);
  return out;
}

/** Bytes a SignedEntry encoding adds to a message as one element of a repeated field. */
export function repeatedEntrySize(encoded: Uint8Array): number {
  return fieldSize(encoded.length);
}

export function encodeGossipMessage(head: Omit<MessageHead, "sentAtMs"> & { sentAtMs: number }, body: OutgoingBody): Uint8Array {
  const headFields = {
    origin: head.origin,
    receiver: head.receiver,
    sentAtMs: BigInt(Math.max(0, Math.floor(head.sentAtMs))),
    messageId: head.messageId,
    inReplyTo: head.inReplyTo,
  };
  if (body.case !== "push" && body.case !== "syncReply") return toBinary(GossipMessageSchema, create(GossipMessageSchema, { ...headFields, body }));
  const headBytes = toBinary(GossipMessageSchema, create(GossipMessageSchema, headFields));
  const rest =
    body.case === "syncReply"
      ? toBinary(SyncReplySchema, create(SyncReplySchema, { owners: body.owners, truncated: body.truncated }))
      : body.confirm
        ? toBinary(PushDeltaSchema, create(PushDeltaSchema, { confirm: true }))
        : new Uint8Array();
  let inner = rest.length;
  for (const entry of body.entries) inner += fieldSize(entry.length);
  const fieldTag = tag(body.case === "push" ? FIELD_PUSH : FIELD_SYNC_REPLY, LEN);
  const out = new Uint8Array(headBytes.length + varintSize(fieldTag) + varintSize(inner) + inner);
  out.set(headBytes, 0);
  let pos = writeVarint(out, headBytes.length, fieldTag);
  pos = writeVarint(out, pos, inner);
  for (const entry of body.entries) pos = writeField(out, pos, TAG_ENTRIES, entry);
  out.set(rest, pos);
  return out;
}

/**
 * Reads a GossipMessage, leaving pushed and synced entries as views into `bytes`. Throws on
 * malformed input, like fromBinary, and EntryLimitExceeded as soon as more than `maxEntries` entries
 * are seen (before reading the rest).
 */
export function readGossipMessage(bytes: Uint8Array, maxEntries = Number.POSITIVE_INFINITY): WireMessage {
  const reader = new BinaryReader(bytes);
  const head = { origin: "", receiver: "", sentAtMs: 0, messageId: 0n, inReplyTo: 0n };
  let bodyField = 0;
  const parts: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === LEN) head.origin = reader.string();
    else if (field === 2 && wireType === WireType.Varint) head.sentAtMs = Number(reader.uint64());
    else if (field === 3 && wireType === LEN) head.receiver = reader.string();
    else if (field === 4 && wireType === WireType.Varint) head.messageId = BigInt(reader.uint64());
    else if (field === 5 && wireType === WireType.Varint) head.inReplyTo = BigInt(reader.uint64());
    else if ((field === FIELD_PUSH || field === FIELD_SYNC_REPLY) && wireType === LEN && (bodyField === 0 || bodyField === field)) {
      bodyField = field;
      parts.push(reader.bytes());
    } else return fromGeneric(fromBinary(GossipMessageSchema, bytes), maxEntries);
  }
  if (bodyField === FIELD_PUSH) {
    const entries: Uint8Array[] = [];
    let confirm = false;
    for (const part of parts) confirm = readPushDelta(part, entries, maxEntries) || confirm;
    return { ...head, body: { case: "push", entries, confirm } };
  }
  if (bodyField === FIELD_SYNC_REPLY) {
    const entries: Uint8Array[] = [];
    const owners: OwnerDigest[] = [];
    let truncated = false;
    for (const part of parts) truncated = readSyncReply(part, entries, owners, maxEntries) ?? truncated;
    return { ...head, body: { case: "syncReply", entries, owners, truncated } };
  }
  return fromGeneric(fromBinary(GossipMessageSchema, bytes), maxEntries);
}

function fromGeneric(message: GossipMessage, maxEntries: number): WireMessage {
  const head: MessageHead = {
    origin: message.origin,
    receiver: message.receiver,
    sentAtMs: Number(message.sentAtMs),
    messageId: message.messageId,
    inReplyTo: message.inReplyTo,
  };
  const body = message.body;
  const encode = (entries: readonly SignedEntryBytes[]) => {
    if (entries.length > maxEntries) throw new EntryLimitExceeded(maxEntries);
    return entries.map((e) => encodeSignedEntry(e.entry, e.signature));
  };
  if (body.case === "push") return { ...head, body: { case: "push", entries: encode(body.value.entries), confirm: body.value.confirm } };
  if (body.case === "syncReply") {
    const { entries, owners, truncated } = body.value;
    return { ...head, body: { case: "syncReply", entries: encode(entries), owners, truncated } };
  }
  return { ...head, body };
}

/** Reads one PushDelta part's entries into `into`; returns its confirm flag. */
function readPushDelta(bytes: Uint8Array, into: Uint8Array[], maxEntries: number): boolean {
  const cursor = { pos: 0 };
  let confirm = false;
  while (cursor.pos < bytes.length) {
    const fieldTag = readVarint(bytes, cursor);
    if (fieldTag === TAG_ENTRIES) {
      if (into.length >= maxEntries) throw new EntryLimitExceeded(maxEntries);
      into.push(readLengthDelimited(bytes, cursor));
    } else if (fieldTag === TAG_CONFIRM) confirm = readVarint(bytes, cursor) !== 0;
    else skipField(bytes, cursor, fieldTag);
  }
  return confirm;
}

/** Returns the truncated flag when the part sets it. */
function readSyncReply(bytes: Uint8Array, entries: Uint8Array[], owners: OwnerDigest[], maxEntries: number): boolean | undefined {
  const reader = new BinaryReader(bytes);
  let truncated: boolean | undefined;
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === LEN) {
      if (entries.length >= maxEntries) throw new EntryLimitExceeded(maxEntries);
      entries.push(reader.bytes());
    }
    else if (field === 2 && wireType === LEN) owners.push(fromBinary(OwnerDigestSchema, reader.bytes()));
    else if (field === 3 && wireType === WireType.Varint) truncated = reader.bool();
    else reader.skip(wireType, field);
  }
  return truncated;
}

const EMPTY: Uint8Array = new Uint8Array(0);
const TAG_SIGNATURE = tag(2, LEN);

/** The two fields of a SignedEntry encoding (views into it). Throws on malformed input. */
export function readSignedEntry(bytes: Uint8Array): SignedEntryBytes {
  const cursor = { pos: 0 };
  let entry = EMPTY;
  let signature = EMPTY;
  while (cursor.pos < bytes.length) {
    const fieldTag = readVarint(bytes, cursor);
    if (fieldTag === TAG_ENTRIES) entry = readLengthDelimited(bytes, cursor);
    else if (fieldTag === TAG_SIGNATURE) signature = readLengthDelimited(bytes, cursor);
    else skipField(bytes, cursor, fieldTag);
  }
  return { entry, signature };
}

// Entries are read without BinaryReader: one reader per entry was most of the garbage in a burst.
function readVarint(bytes: Uint8Array, cursor: { pos: number }): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (cursor.pos >= bytes.length) throw new Error("premature end of varint");
    const byte = bytes[cursor.pos++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return value;
    scale *= 128;
  }
  throw new Error("varint too long");
}

function readLengthDelimited(bytes: Uint8Array, cursor: { pos: number }): Uint8Array {
  const length = readVarint(bytes, cursor);
  const start = cursor.pos;
  if (length > bytes.length - start) throw new Error(`length ${length} runs past the end of the message`);
  cursor.pos = start + length;
  return bytes.subarray(start, cursor.pos);
}

function skipField(bytes: Uint8Array, cursor: { pos: number }, fieldTag: number): void {
  const wireType = fieldTag & 7;
  if (fieldTag < 8) throw new Error(`invalid field tag ${fieldTag}`);
  if (wireType === WireType.Varint) readVarint(bytes, cursor);
  else if (wireType === LEN) readLengthDelimited(bytes, cursor);
  else if (wireType === WireType.Bit64 || wireType === WireType.Bit32) {
    const size = wireType === WireType.Bit64 ? 8 : 4;
    if (size > bytes.length - cursor.pos) throw new Error("fixed-size field runs past the end of the message");
    cursor.pos += size;
  } else throw new Error(`unsupported wire type ${wireType}`);
}

function tag(field: number, wireType: WireType): number {
  return (field << 3) | wireType;
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size += 1;
  }
  return size;
}

function fieldSize(length: number): number {
  return 1 + varintSize(length) + length;
}

function writeVarint(out: Uint8Array, pos: number, value: number): number {
  while (value >= 0x80) {
    out[pos++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  out[pos++] = value;
  return pos;
}

function writeField(out: Uint8Array, pos: number, fieldTag: number, bytes: Uint8Array): number {
  pos = writeVarint(out, pos, fieldTag);
  pos = writeVarint(out, pos, bytes.length);
  out.set(bytes, pos);
  return pos + bytes.length;
}
