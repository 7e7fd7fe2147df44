import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import nacl from "tweetnacl";

/**
 * How entries and frames are signed. Production uses ed25519; the simulator may swap in a cheap
 * scheme with the same shape.
 */
export interface SignatureScheme {
  readonly name: string;
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean;
}

// DER prefixes that wrap raw ed25519 keys as PKCS#8 (private seed) and SPKI (public key).
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const KEY_CACHE_LIMIT = 4096;
const privateKeys = new Map<string, KeyObject>();
const publicKeys = new Map<string, KeyObject>();

/**
 * ed25519 with tweetnacl's key format (64-byte secret key = seed + public key, 32-byte public key)
 * and byte-identical signatures, computed by node:crypto (OpenSSL): tweetnacl's pure-JS verify
 * takes ~14 ms here, OpenSSL's ~0.2 ms, which decides whether pings and pushes are affordable.
 */
export const ed25519Signatures: SignatureScheme = {
  name: "ed25519",
  sign(message, secretKey) {
    if (secretKey.length !== nacl.sign.secretKeyLength) throw new Error(`ed25519 secret key must be 64 bytes, got ${secretKey.length}`);
    const key = cached(privateKeys, secretKey, () =>
      createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey.subarray(0, 32)]), format: "der", type: "pkcs8" }),
    );
    return new Uint8Array(sign(null, message, key));
  },
  verify(message, signature, publicKey) {
    if (signature.length !== nacl.sign.signatureLength || publicKey.length !== nacl.sign.publicKeyLength) return false;
    try {
      const key = cached(publicKeys, publicKey, () =>
        createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: "der", type: "spki" }),
      );
      return verify(null, message, key, signature);
    } catch {
      // A 32-byte string that is not a valid curve point verifies nothing.
      return false;
    }
  },
};

function cached(cache: Map<string, KeyObject>, bytes: Uint8Array, make: () => KeyObject): KeyObject {
  const id = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
  let key = cache.get(id);
  if (key === undefined) {
    key = make();
    if (cache.size >= KEY_CACHE_LIMIT) cache.delete(cache.keys().next().value!);
    cache.set(id, key);
  }
  return key;
}
