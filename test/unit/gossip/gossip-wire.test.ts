import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import nacl from "tweetnacl";
import { describe, expect, it } from "vitest";
import { macForAddress } from "../../../proto/values/index.js";
import {
  GossipMessageSchema,
  OwnerDigestSchema,
  PongSchema,
  PushDeltaSchema,
  SignedEntrySchema,
  SyncReplySchema,
} from "../../../proto/gen/weft/v1/gossip_pb.js";
import { encodeAndSignEntry, SignedEntryCache, type EndpointRecord } from "../../../controlplane/gossip/index.js";
import { EntryLimitExceeded, encodeGossipMessage, readGossipMessage, readSignedEntry } from "../../../controlplane/gossip/gossip-wire.js";

const key = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(5));
const record = (i: number): EndpointRecord => ({
  network: "blue", endpointId: `c${i}`, owner: "n1", version: i + 1, tombstone: false, ip: `10.40.1.${i + 2}`,
  mac: macForAddress(`10.40.1.${i + 2}`), vtep: "192.168.0.1", name: `web${i}`, aliases: [], labels: i % 2 ? { app: "web" } : {}, deletedAtMs: 0,
});
const entries = Array.from({ length: 3 }, (_, i) => encodeAndSignEntry(record(i), key.secretKey));
const head = (origin: string, sentAtMs: number) => ({ origin, receiver: "", sentAtMs, messageId: 0n, inReplyTo: 0n });

describe("gossip wire", () => {
  it("splices cached entry bytes into a push that protobuf decodes as the same message", () => {
    const bytes = encodeGossipMessage(head("n1", 42), { case: "push", entries: entries.map((e) => e.wire) });
    const expected = toBinary(GossipMessageSchema, create(GossipMessageSchema, {
      origin: "n1", sentAtMs: 42n, body: { case: "push", value: create(PushDeltaSchema, { entries: entries.map((e) => e.signed) }) },
    }));
    expect(bytes).toEqual(expected);
    const read = readGossipMessage(bytes);
    expect(read.origin).toBe("n1");
    expect(read.body.case).toBe("push");
    if (read.body.case !== "push") return;
    expect(read.body.entries.map((e) => [...e])).toEqual(entries.map((e) => [...e.wire]));
    const first = readSignedEntry(read.body.entries[0]!);
    expect([...first.entry]).toEqual([...entries[0]!.signed.entry]);
    expect([...first.signature]).toEqual([...entries[0]!.signed.signature]);
  });

  it("carries a push's confirm flag both ways, through the spliced writer and through protobuf-es", () => {
    const bytes = encodeGossipMessage(head("n1", 7), { case: "push", entries: [entries[0]!.wire], confirm: true });
    const decoded = fromBinary(GossipMessageSchema, bytes);
    expect(decoded.body.case).toBe("push");
    if (decoded.body.case !== "push") return;
    expect(decoded.body.value.confirm).toBe(true);
    expect(decoded.body.value.entries).toHaveLength(1);
    const read = readGossipMessage(bytes);
    expect(read.body.case === "push" && read.body.confirm).toBe(true);
    const generic = toBinary(GossipMessageSchema, create(GossipMessageSchema, {
      origin: "n1", body: { case: "push", value: create(PushDeltaSchema, { entries: [entries[0]!.signed], confirm: true }) },
    }));
    const fromGeneric = readGossipMessage(generic);
    expect(fromGeneric.body.case === "push" && fromGeneric.body.confirm).toBe(true);
    const plain = readGossipMessage(encodeGossipMessage(head("n1", 7), { case: "push", entries: [entries[0]!.wire] }));
    expect(plain.body.case === "push" && plain.body.confirm).toBe(false);
  });

  it("writes sync replies with owners and the truncated flag, and reads protobuf-es's encoding of them", () => {
    const owners = [create(OwnerDigestSchema, { owner: "n1", maxVersion: 3n, count: 3, hash: 99 })];
    const bytes = encodeGossipMessage(head("n2", 7), { case: "syncReply", entries: entries.map((e) => e.wire), owners, truncated: true });
    const decoded = fromBinary(GossipMessageSchema, bytes);
    expect(decoded.body.case).toBe("syncReply");
    if (decoded.body.case !== "syncReply") return;
    expect(decoded.body.value.entries.map((e) => [...e.entry])).toEqual(entries.map((e) => [...e.signed.entry]));
    expect(decoded.body.value.owners[0]).toMatchObject({ owner: "n1", maxVersion: 3n, count: 3, hash: 99 });
    expect(decoded.body.value.truncated).toBe(true);
    const theirs = toBinary(GossipMessageSchema, create(GossipMessageSchema, {
      origin: "n2", body: { case: "syncReply", value: create(SyncReplySchema, { entries: entries.map((e) => e.signed), owners, truncated: true }) },
    }));
    const read = readGossipMessage(theirs);
    expect(read.body).toMatchObject({ case: "syncReply", truncated: true, owners: [{ owner: "n1", count: 3 }] });
    if (read.body.case === "syncReply") expect(read.body.entries).toHaveLength(3);
  });

  it("carries receiver, send time, message id and the request a reply answers", () => {
    const bytes = encodeGossipMessage({ origin: "n1", receiver: "n2", sentAtMs: 1234, messageId: 77n, inReplyTo: 5n }, { case: "push", entries: [entries[0]!.wire] });
    expect(readGossipMessage(bytes)).toMatchObject({ origin: "n1", receiver: "n2", sentAtMs: 1234, messageId: 77n, inReplyTo: 5n });
    const pong = encodeGossipMessage({ origin: "n2", receiver: "n1", sentAtMs: 99, messageId: 8n, inReplyTo: 77n }, { case: "pong", value: create(PongSchema, { nonce: 1n }) });
    expect(readGossipMessage(pong)).toMatchObject({ receiver: "n1", messageId: 8n, inReplyTo: 77n, body: { case: "pong" } });
  });

  it("stops reading at the entry limit, on the spliced and on the generic path", () => {
    const push = encodeGossipMessage(head("n1", 1), { case: "push", entries: entries.map((e) => e.wire) });
    expect(() => readGossipMessage(push, 2)).toThrow(EntryLimitExceeded);
    expect(readGossipMessage(push, 3).body).toMatchObject({ case: "push" });
    const generic = toBinary(GossipMessageSchema, create(GossipMessageSchema, {
      origin: "n2", body: { case: "syncReply", value: create(SyncReplySchema, { entries: entries.map((e) => e.signed), owners: [], truncated: false }) },
    }));
    expect(() => readGossipMessage(generic, 2)).toThrow(EntryLimitExceeded);
  });

  it("reads other bodies through protobuf-es and throws on truncated entries", () => {
    const ping = toBinary(GossipMessageSchema, create(GossipMessageSchema, { origin: "n3", body: { case: "ping", value: { nonce: 9n } } }));
    expect(readGossipMessage(ping)).toMatchObject({ origin: "n3", body: { case: "ping", value: { nonce: 9n } } });
    const push = encodeGossipMessage(head("n1", 1), { case: "push", entries: [entries[0]!.wire] });
    // Lengths that run past the end must fail, not read neighbouring memory.
    const cut = push.slice(0, push.length - 10);
    expect(() => readGossipMessage(cut)).toThrow();
  });
});

describe("SignedEntryCache", () => {
  it("keeps only entries whose signature verified", () => {
    const cache = new SignedEntryCache(16);
    const signed = entries[0]!.signed;
    const a = cache.decode({ entry: signed.entry.slice(), signature: signed.signature.slice() });
    const b = cache.decode({ entry: signed.entry.slice(), signature: signed.signature.slice() });
    // Not verified yet: two decodes, nothing kept, nothing taken as verified.
    expect(a.ok && b.ok && a.entry !== b.entry).toBe(true);
    if (!a.ok) return;
    expect(cache.isVerifiedWith(a.entry, key.publicKey)).toBe(false);
    cache.remember(a.entry, key.publicKey);
    expect(cache.isVerifiedWith(a.entry, key.publicKey)).toBe(true);
  });

  it("hands out one decoded object per verified signed entry and misses when the bytes differ under the same signature", () => {
    const cache = new SignedEntryCache(16);
    const signed = entries[0]!.signed;
    const a = cache.decode({ entry: signed.entry.slice(), signature: signed.signature.slice() });
    if (a.ok) cache.remember(a.entry, key.publicKey);
    const b = cache.decode({ entry: signed.entry.slice(), signature: signed.signature.slice() });
    expect(a.ok && b.ok && a.entry === b.entry).toBe(true);
    // As received: the held encoding is a hit on the same object; another field order still decodes.
    const wire = cache.decodeWire(entries[0]!.wire.slice());
    expect(wire.ok && a.ok && wire.entry === a.entry).toBe(true);
    const other = entries[1]!.signed;
    const forged = cache.decode(create(SignedEntrySchema, { entry: other.entry, signature: signed.signature }));
    expect(forged.ok && forged.entry.record.endpointId).toBe("c1");
    if (!forged.ok) return;
    const reordered = toBinary(SignedEntrySchema, create(SignedEntrySchema, { signature: signed.signature, entry: signed.entry }));
    const swapped = new Uint8Array([...reordered.slice(reordered.length - 66), ...reordered.slice(0, reordered.length - 66)]);
    const decodedSwapped = cache.decodeWire(swapped);
    expect(decodedSwapped.ok && decodedSwapped.entry.record.endpointId).toBe("c0");
    expect(cache.decodeWire(new Uint8Array([0x0a, 0x7f, 1]))).toMatchObject({ ok: false, reason: "malformed-entry" });
    expect(cache.isVerifiedWith(forged.entry, key.publicKey)).toBe(false);
  });
});
