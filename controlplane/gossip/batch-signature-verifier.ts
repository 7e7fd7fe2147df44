import type { SignatureScheme } from "./signature-scheme.js";

export interface SignatureCheck { message: Uint8Array; signature: Uint8Array; publicKey: Uint8Array }
export interface BatchSignatureVerifier {
  /** One boolean per check, in order. Never rejects; a malformed check is false. */
  verify(checks: readonly SignatureCheck[]): Promise<boolean[]>;
  close(): Promise<void>;
}

/** Verifying this long without a break would hold up timers and I/O: yield to the event loop then. */
const SLICE_MS = 5;

/**
 * Verifies on the calling thread with `scheme`, yielding to the event loop every few milliseconds so a
 * large batch never stalls it. The default; the agent may plug in worker threads instead.
 */
export function inProcessVerifier(scheme: SignatureScheme): BatchSignatureVerifier {
  return {
    async verify(checks) {
      const results: boolean[] = [];
      let sliceStart = performance.now();
      for (const check of checks) {
        let ok = false;
        try {
          ok = scheme.verify(check.message, check.signature, check.publicKey);
        } catch {
          // malformed: false
        }
        results.push(ok);
        if (performance.now() - sliceStart >= SLICE_MS) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          sliceStart = performance.now();
        }
      }
      return results;
    },
    async close() {},
  };
}
