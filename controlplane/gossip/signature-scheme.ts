import nacl from "tweetnacl";

/**
 * How entries and frames are signed. Production uses ed25519; the simulator may swap in a cheap
 * scheme with the same shape, because tweetnacl needs milliseconds per signature.
 */
export interface SignatureScheme {
  readonly name: string;
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean;
}

export const ed25519Signatures: SignatureScheme = {
  name: "ed25519",
  sign: (message, secretKey) => nacl.sign.detached(message, secretKey),
  verify(message, signature, publicKey) {
    if (signature.length !== nacl.sign.signatureLength || publicKey.length !== nacl.sign.publicKeyLength) return false;
    return nacl.sign.detached.verify(message, signature, publicKey);
  },
};
