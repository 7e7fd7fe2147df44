import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import nacl from "tweetnacl";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";
import { ed25519Signatures } from "../../../controlplane/gossip/signature-scheme.js";
import type { SignatureCheck } from "../../../controlplane/gossip/batch-signature-verifier.js";
import { workerSignatureVerifier } from "../../../controlplane/gossip/worker-signature-verifier.js";
import { WeftError } from "../../../proto/values/weft-error.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "../../..");
const encoder = new TextEncoder();
const alice = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(1));
const bob = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(2));

function signed(text: string, keys = alice): SignatureCheck {
  const message = encoder.encode(text);
  return { message, signature: ed25519Signatures.sign(message, keys.secretKey), publicKey: keys.publicKey };
}

function flipped(bytes: Uint8Array, index: number): Uint8Array {
  const copy = bytes.slice();
  copy[index]! ^= 1;
  return copy;
}

/** Valid, invalid and malformed checks, with what ed25519 says of each (malformed: false). */
function mixedChecks(): { checks: SignatureCheck[]; expected: boolean[] } {
  const good = signed("endpoint a");
  const notACurvePoint = new Uint8Array(32).fill(0xff);
  const checks: unknown[] = [
    good,
    signed("endpoint b", bob),
    { ...good, message: encoder.encode("endpoint A") },
    { ...good, signature: flipped(good.signature, 10) },
    { ...good, publicKey: bob.publicKey },
    { ...good, publicKey: notACurvePoint },
    { ...good, signature: good.signature.subarray(0, 63) },
    { ...good, publicKey: new Uint8Array(33) },
    { message: good.message, signature: good.signature },
    { ...good, signature: Array.from(good.signature) },
    null,
    "not a check",
    signed(""),
  ];
  const expected = checks.map((check) => {
    const candidate = check as Partial<SignatureCheck> | null;
    const wellFormed =
      candidate?.message instanceof Uint8Array && candidate.signature instanceof Uint8Array && candidate.publicKey instanceof Uint8Array;
    return wellFormed && ed25519Signatures.verify(candidate.message!, candidate.signature!, candidate.publicKey!);
  });
  expect(expected).toEqual([true, true, false, false, false, false, false, false, false, false, false, false, true]);
  return { checks: checks as SignatureCheck[], expected };
}

/** n checks, every third one broken, so any reordering shows. */
function orderedChecks(n: number): { checks: SignatureCheck[]; expected: boolean[] } {
  const checks = Array.from({ length: n }, (_, index) => {
    const check = signed(`endpoint ${index}`, index % 2 === 0 ? alice : bob);
    return index % 3 === 0 ? { ...check, message: encoder.encode(`forged ${index}`) } : check;
  });
  return { checks, expected: checks.map((_, index) => index % 3 !== 0) };
}

describe("workerSignatureVerifier", () => {
  it("answers valid, invalid and malformed checks as ed25519 does, malformed as false", async () => {
    const errors: Error[] = [];
    const verifier = workerSignatureVerifier({ threads: 2, onWorkerError: (error) => errors.push(error) });
    try {
      const { checks, expected } = mixedChecks();
      expect(await verifier.verify(checks)).toEqual(expected);
      expect(await verifier.verify([])).toEqual([]);
    } finally {
      await verifier.close();
    }
    expect(errors).toEqual([]);
  });

  it("keeps the order of a batch split across threads, and of concurrent batches", async () => {
    const errors: Error[] = [];
    const verifier = workerSignatureVerifier({ threads: 2, onWorkerError: (error) => errors.push(error) });
    try {
      const big = orderedChecks(1000);
      const small = orderedChecks(7);
      const [bigAnswer, smallAnswer] = await Promise.all([verifier.verify(big.checks), verifier.verify(small.checks)]);
      expect(bigAnswer).toEqual(big.expected);
      expect(smallAnswer).toEqual(small.expected);
    } finally {
      await verifier.close();
    }
    expect(errors).toEqual([]);
  });

  it("close() ends its threads; a later verify still answers rather than rejecting", async () => {
    const errors: Error[] = [];
    const verifier = workerSignatureVerifier({ threads: 1, onWorkerError: (error) => errors.push(error) });
    const { checks, expected } = orderedChecks(200);
    expect(await verifier.verify(checks)).toEqual(expected);
    await verifier.close();
    expect(await verifier.verify(checks)).toEqual(expected);
    expect(errors, "closing is not a worker failure").toEqual([]);
  });

  it("refuses a thread count that is not a small positive integer, naming the field", () => {
    for (const threads of [0, -1, 1.5, Number.NaN, 1000]) {
      let thrown: unknown;
      try {
        workerSignatureVerifier({ threads });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(WeftError);
      expect(thrown).toMatchObject({ code: "invalid-argument", field: "threads" });
    }
  });

  describe("compiled to JavaScript, as under dist/", () => {
    const compiled = mkdtempSync(join(tmpdir(), "weft-verifier-"));
    afterAll(() => rmSync(compiled, { recursive: true, force: true }));

    it("starts its worker from the compiled .js file and answers as from the sources", async () => {
      const sources = [
        "controlplane/gossip/worker-signature-verifier.ts",
        "controlplane/gossip/signature-verify-worker.ts",
        "controlplane/gossip/signature-check-batch.ts",
        "controlplane/gossip/signature-scheme.ts",
        "proto/values/weft-error.ts",
      ];
      for (const source of sources) {
        const output = ts.transpileModule(readFileSync(join(root, source), "utf8"), {
          compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
        }).outputText;
        const target = join(compiled, source.replace(/\.ts$/, ".js"));
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, output);
      }
      writeFileSync(join(compiled, "package.json"), JSON.stringify({ type: "module" }));
      symlinkSync(join(root, "node_modules"), join(compiled, "node_modules"));

      const url = pathToFileURL(join(compiled, "controlplane/gossip/worker-signature-verifier.js")).href;
      const module = (await import(/* @vite-ignore */ url)) as typeof import("../../../controlplane/gossip/worker-signature-verifier.js");
      const errors: Error[] = [];
      const verifier = module.workerSignatureVerifier({ threads: 2, onWorkerError: (error) => errors.push(error) });
      try {
        const { checks, expected } = mixedChecks();
        expect(await verifier.verify(checks)).toEqual(expected);
        const ordered = orderedChecks(300);
        expect(await verifier.verify(ordered.checks)).toEqual(ordered.expected);
      } finally {
        await verifier.close();
      }
      expect(errors, "the compiled worker started").toEqual([]);
    });
  });
});
