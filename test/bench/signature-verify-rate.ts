// ed25519 verifications per second: on the calling thread (as the gossip node verified before C5)
// and through workerSignatureVerifier with 1 and 2 threads, on the same batch of gossip-sized checks.
// `npx tsx test/bench/signature-verify-rate.ts [--checks N] [--runs N]` prints them alone.
import { parseArgs } from "node:util";
import nacl from "tweetnacl";
import { ed25519Signatures } from "../../controlplane/gossip/signature-scheme.js";
import type { SignatureCheck } from "../../controlplane/gossip/batch-signature-verifier.js";
import { workerSignatureVerifier } from "../../controlplane/gossip/worker-signature-verifier.js";

export interface SignatureVerifyRate {
  checks: number;
  runs: number;
  inProcessPerSec: number;
  oneWorkerPerSec: number;
  twoWorkersPerSec: number;
}

// About the size of a signed endpoint entry, from 50 owners (the verifier caches keys per owner).
const MESSAGE_BYTES = 160;
const OWNERS = 50;

function makeChecks(count: number): SignatureCheck[] {
  const owners = Array.from({ length: OWNERS }, () => nacl.sign.keyPair());
  return Array.from({ length: count }, (_, index) => {
    const owner = owners[index % OWNERS]!;
    const message = nacl.randomBytes(MESSAGE_BYTES);
    return { message, signature: ed25519Signatures.sign(message, owner.secretKey), publicKey: owner.publicKey };
  });
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function measureSignatureVerifyRate(options: { checks: number; runs: number }): Promise<SignatureVerifyRate> {
  const checks = makeChecks(options.checks);
  const inProcess: number[] = [];
  const workers: Record<1 | 2, number[]> = { 1: [], 2: [] };
  for (let run = 0; run < options.runs; run++) {
    let started = performance.now();
    for (const check of checks) ed25519Signatures.verify(check.message, check.signature, check.publicKey);
    inProcess.push(checks.length / ((performance.now() - started) / 1000));
    for (const threads of [1, 2] as const) {
      const verifier = workerSignatureVerifier({ threads });
      try {
        await verifier.verify(checks.slice(0, 256)); // let the threads start and load their keys
        started = performance.now();
        const valid = await verifier.verify(checks);
        const perSec = checks.length / ((performance.now() - started) / 1000);
        if (valid.some((ok) => !ok)) throw new Error("a valid signature was refused");
        workers[threads].push(perSec);
      } finally {
        await verifier.close();
      }
    }
  }
  return {
    checks: options.checks,
    runs: options.runs,
    inProcessPerSec: Math.round(median(inProcess)),
    oneWorkerPerSec: Math.round(median(workers[1])),
    twoWorkersPerSec: Math.round(median(workers[2])),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { checks: { type: "string", default: "50000" }, runs: { type: "string", default: "3" } } });
  const result = await measureSignatureVerifyRate({ checks: Number(values.checks), runs: Number(values.runs) });
  process.stdout.write(JSON.stringify(result) + "\n");
}
