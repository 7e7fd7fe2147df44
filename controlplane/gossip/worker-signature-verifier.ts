// ed25519 verification of gossip entries in worker threads (contract C5): a burst of 50,000 remote
// endpoints costs ~50,000 verifications, which on the event loop would stall everything else the
// agent does (etcd keepalive, pings, the API) for seconds.
//
// Plain worker_threads rather than a pool library: the work is one kind of job, split evenly, and
// a pool's queueing and task objects would only add to it.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { invalidArgument } from "../../proto/values/weft-error.js";
import type { BatchSignatureVerifier, SignatureCheck } from "./batch-signature-verifier.js";
import { isWellFormedCheck, packChecks } from "./signature-check-batch.js";
import { ed25519Signatures } from "./signature-scheme.js";
import type { VerifyAnswer, VerifyRequest } from "./signature-verify-worker.js";

export interface WorkerSignatureVerifierOptions {
  /** Worker threads; default: the machine's cores (at least 1, at most 8). */
  threads?: number;
  /**
   * Told when a worker thread fails or exits on its own. Its pending checks are then verified on the
   * calling thread, and later batches go to the remaining workers (or the calling thread when none is left).
   */
  onWorkerError?: (error: Error) => void;
}

const MAX_THREADS = 64;
// Below this many checks per thread, a split costs more in messages than it saves in parallel work.
const MIN_CHECKS_PER_THREAD = 64;

interface PendingBatch {
  readonly checks: readonly SignatureCheck[];
  readonly resolve: (valid: boolean[]) => void;
}

class VerifyThread {
  readonly pending = new Map<number, PendingBatch>();
  queued = 0;
  alive = true;

  constructor(
    readonly worker: Worker,
    private readonly failed: (thread: VerifyThread, error: Error) => void,
  ) {
    worker.unref();
    worker.on("message", (answer: VerifyAnswer) => this.#answered(answer));
    worker.on("error", (error) => this.failed(this, error));
    worker.on("messageerror", (error) => this.failed(this, error));
    worker.on("exit", (code) => this.failed(this, new Error(`signature verification worker exited with code ${code}`)));
  }

  send(id: number, checks: readonly SignatureCheck[]): Promise<boolean[]> {
    return new Promise((resolve) => {
      const packed = packChecks(checks);
      const request: VerifyRequest = { id, layout: packed.layout, bytes: packed.bytes };
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { checks, resolve });
      this.queued += checks.length;
      this.worker.postMessage(request, [packed.layout.buffer as ArrayBuffer, packed.bytes.buffer as ArrayBuffer]);
    });
  }

  /** Hands every pending batch back (for verification elsewhere) and forgets them. */
  takePending(): PendingBatch[] {
    const batches = [...this.pending.values()];
    this.pending.clear();
    this.queued = 0;
    return batches;
  }

  #answered(answer: VerifyAnswer): void {
    const batch = this.pending.get(answer.id);
    if (batch === undefined) return;
    this.pending.delete(answer.id);
    this.queued -= batch.checks.length;
    if (this.pending.size === 0) this.worker.unref();
    batch.resolve(Array.from(answer.valid, (byte) => byte === 1));
  }
}

/** Verifies ed25519 signatures (as ed25519Signatures does) in worker threads, each batch split across them. */
export function workerSignatureVerifier(options: WorkerSignatureVerifierOptions = {}): BatchSignatureVerifier {
  const threads = options.threads ?? Math.max(1, Math.min(8, availableParallelism()));
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS)
    throw invalidArgument("threads", `must be an integer from 1 to ${MAX_THREADS}, got ${String(threads)}`);

  let closed = false;
  let nextId = 0;
  const pool: VerifyThread[] = [];
  const failed = (thread: VerifyThread, error: Error): void => {
    if (!thread.alive) return;
    thread.alive = false;
    pool.splice(pool.indexOf(thread), 1);
    for (const batch of thread.takePending()) batch.resolve(verifyHere(batch.checks));
    if (!closed) options.onWorkerError?.(error);
  };
  for (let index = 0; index < threads; index++) pool.push(new VerifyThread(startWorker(), failed));

  return {
    async verify(checks) {
      const valid: boolean[] = new Array<boolean>(checks.length).fill(false);
      const indices: number[] = [];
      const wellFormed: SignatureCheck[] = [];
      checks.forEach((check, index) => {
        if (!isWellFormedCheck(check)) return;
        indices.push(index);
        wellFormed.push(check);
      });
      const answers = await verifyAcross(pool, wellFormed, () => nextId++);
      answers.forEach((answer, position) => (valid[indices[position]!] = answer));
      return valid;
    },
    async close() {
      closed = true;
      await Promise.all(pool.map((thread) => thread.worker.terminate()));
    },
  };
}

async function verifyAcross(pool: readonly VerifyThread[], checks: SignatureCheck[], newId: () => number): Promise<boolean[]> {
  if (checks.length === 0) return [];
  if (pool.length === 0) return verifyHere(checks);
  const parts = Math.max(1, Math.min(pool.length, Math.floor(checks.length / MIN_CHECKS_PER_THREAD)));
  const leastBusy = [...pool].sort((a, b) => a.queued - b.queued).slice(0, parts);
  const size = Math.ceil(checks.length / parts);
  const answers = await Promise.all(leastBusy.map((thread, part) => thread.send(newId(), checks.slice(part * size, (part + 1) * size))));
  return answers.flat();
}

function verifyHere(checks: readonly SignatureCheck[]): boolean[] {
  return checks.map((check) => ed25519Signatures.verify(check.message, check.signature, check.publicKey));
}

/**
 * The worker runs in the form this module runs in: compiled JavaScript next to it under dist/, or,
 * when this module is TypeScript (tsx, vitest), the TypeScript worker through tsx's loader, the way
 * agent/bin/launch.js runs the sources.
 */
function startWorker(): Worker {
  const self = import.meta.url;
  if (!self.endsWith(".ts")) return new Worker(new URL("./signature-verify-worker.js", self));
  // tsx's ESM API, found through its package.json: its CommonJS build cannot register the loader.
  const tsxPackage = createRequire(self).resolve("tsx/package.json");
  const { exports } = JSON.parse(readFileSync(tsxPackage, "utf8")) as { exports: Record<string, { import: { default: string } }> };
  const tsxApi = new URL(exports["./esm/api"]!.import.default, pathToFileURL(tsxPackage)).href;
  const entry = new URL("./signature-verify-worker.ts", self).href;
  return new Worker(`import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`, {
    eval: true,
  });
}
