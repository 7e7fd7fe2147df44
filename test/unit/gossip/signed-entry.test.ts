import nacl from "tweetnacl";
import { describe, expect, it } from "vitest";
import {
  decodeEntry,
  ed25519Signatures,
  encodeAndSignEntry,
  verifyAndDecodeEntry,
  type EndpointRecord,
} from "../../../controlplane/gossip/index.js";

const owner = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(3));
const other = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(4));
const record: EndpointRecord = {
  network: "blue", endpointId: "c1", owner: "n1", version: 7, tombstone: false, ip: "10.40.1.2",
  mac: "02:42:0a:28:01:02", vtep: "192.168.0.1", name: "web", aliases: [], labels: { app: "web" }, deletedAtMs: 0,
};

describe("entry signing", () => {
  it("produces tweetnacl-compatible ed25519 signatures", () => {
    const message = new TextEncoder().encode("weft");
    const signature = ed25519Signatures.sign(message, owner.secretKey);
    expect(signature).toEqual(nacl.sign.detached(message, owner.secretKey));
    expect(ed25519Signatures.verify(message, signature, owner.publicKey)).toBe(true);
    expect(ed25519Signatures.verify(message, signature, other.publicKey)).toBe(false);
    expect(ed25519Signatures.verify(message, signature, new Uint8Array(32).fill(0xff))).toBe(false);
  });

  it("round-trips a record and verifies it against the owner's key only", () => {
    const { signed } = encodeAndSignEntry(record, owner.secretKey);
    const keys = new Map([["n1", owner.publicKey], ["n2", other.publicKey]]);
    const verified = verifyAndDecodeEntry(signed, (name) => keys.get(name));
    expect(verified.ok && verified.entry.record).toEqual(record);
    const forged = encodeAndSignEntry(record, other.secretKey).signed;
    expect(verifyAndDecodeEntry(forged, (name) => keys.get(name))).toMatchObject({ ok: false, reason: "bad-entry-signature" });
    expect(verifyAndDecodeEntry(signed, () => undefined)).toMatchObject({ ok: false, reason: "unknown-owner" });
  });

  it("strips address fields from tombstones and rejects malformed entries with the field named", () => {
    const tomb = encodeAndSignEntry({ ...record, tombstone: true, deletedAtMs: 5 }, owner.secretKey);
    expect(tomb.record).toMatchObject({ tombstone: true, ip: "", mac: "", labels: {} });
    const bad = encodeAndSignEntry({ ...record, mac: "02:00:00:00:01" }, owner.secretKey).signed;
    expect(decodeEntry(bad)).toMatchObject({ ok: false, reason: "malformed-entry", detail: expect.stringContaining("mac") });
    const badIp = encodeAndSignEntry({ ...record, ip: "10.40.1" }, owner.secretKey).signed;
    expect(decodeEntry(badIp)).toMatchObject({ ok: false, detail: expect.stringContaining("ip") });
    expect(decodeEntry({ ...bad, entry: new Uint8Array([0xff, 0xff]) } as never)).toMatchObject({ ok: false, reason: "malformed-entry" });
  });

  // Issue 6, items 1 and 2: an entry carries the MAC its IP implies and IPv4 addresses only.
  it("refuses another endpoint's MAC, IPv6 addresses and non-canonical spellings", () => {
    const problem = (changes: Partial<EndpointRecord>) => {
      const decoded = decodeEntry(encodeAndSignEntry({ ...record, ...changes }, owner.secretKey).signed);
      return decoded.ok ? undefined : decoded.detail;
    };
    expect(problem({})).toBeUndefined();
    expect(problem({ mac: "02:42:0a:28:01:03" })).toMatch(/^mac: .* is not the MAC of 10\.40\.1\.2/);
    expect(problem({ vtep: "::1" })).toMatch(/^vtep: "::1" is not an IPv4 address/);
    expect(problem({ ip: "fd00::2" })).toMatch(/^ip: /);
    expect(problem({ vtep: "192.168.000.1" })).toMatch(/^vtep: /);
    expect(problem({ name: "bad\nname" })).toMatch(/^name: /);
  });
});
