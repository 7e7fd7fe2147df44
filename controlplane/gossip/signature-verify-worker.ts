// The worker thread behind workerSignatureVerifier: verifies packed batches of ed25519 checks and
// answers one byte per check (1 = valid), in order.
import { parentPort } from "node:worker_threads";
import { packedCount, unpackCheck, type PackedChecks } from "./signature-check-batch.js";
import { ed25519Signatures } from "./signature-scheme.js";

export interface VerifyRequest extends PackedChecks {
  readonly id: number;
}

export interface VerifyAnswer {
  readonly id: number;
  readonly valid: Uint8Array;
}

const port = parentPort;
if (port === null) throw new Error("signature-verify-worker runs only as a worker thread");

port.on("message", (request: VerifyRequest) => {
  const valid = new Uint8Array(packedCount(request));
  for (let index = 0; index < valid.length; index++) {
    const { message, signature, publicKey } = unpackCheck(request, index);
    valid[index] = ed25519Signatures.verify(message, signature, publicKey) ? 1 : 0;
  }
  const answer: VerifyAnswer = { id: request.id, valid };
  port.postMessage(answer, [valid.buffer]);
});
