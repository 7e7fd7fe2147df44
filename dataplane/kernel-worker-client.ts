// The parent's side of kernel-worker.ts: spawns it inside a named network namespace and sends requests.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { DesiredState } from "./desired-state.js";
import type { ApplyResult, KernelPlan, ObservedState } from "./kernel.js";
import type { ReconcileReport } from "./reconcile-report.js";
import type { KernelWorkerResponse } from "./kernel-worker.js";

const WORKER = fileURLToPath(new URL("./kernel-worker.ts", import.meta.url));
const TSX = fileURLToPath(new URL("../node_modules/.bin/tsx", import.meta.url));

export class KernelWorkerClient {
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private stderr = "";
  private exited: Error | undefined;

  /** Starts the worker inside `netns` (a name under /run/netns). */
  constructor(netns: string) {
    this.child = spawn("ip", ["netns", "exec", netns, TSX, WORKER], { stdio: ["pipe", "pipe", "pipe"] });
    this.child.stderr!.on("data", (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    createInterface({ input: this.child.stdout! }).on("line", (line) => {
      const response = JSON.parse(line) as KernelWorkerResponse;
      const waiter = this.waiting.get(response.id);
      if (waiter === undefined) return;
      this.waiting.delete(response.id);
      if (response.ok) waiter.resolve(response.value);
      else waiter.reject(new Error(response.error));
    });
    this.child.on("exit", (code, signal) => {
      this.exited = new Error(`kernel worker in ${netns} exited (${code ?? signal}): ${this.stderr.trim()}`);
      for (const waiter of this.waiting.values()) waiter.reject(this.exited);
      this.waiting.clear();
    });
  }

  reconcile(desired: DesiredState, options?: { prune?: boolean }): Promise<ReconcileReport> {
    return this.request({ op: "reconcile", desired, ...(options === undefined ? {} : { options }) }) as Promise<ReconcileReport>;
  }

  observe(): Promise<ObservedState> {
    return this.request({ op: "observe" }) as Promise<ObservedState>;
  }

  apply(plan: KernelPlan): Promise<{ result: ApplyResult; elapsedMs: number }> {
    return this.request({ op: "apply", plan }) as Promise<{ result: ApplyResult; elapsedMs: number }>;
  }

  /** Closes stdin and waits for the worker to exit. */
  async close(): Promise<void> {
    if (this.exited !== undefined || this.child.exitCode !== null) return;
    const done = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.stdin!.end();
    await done;
  }

  private request(body: object): Promise<unknown> {
    if (this.exited !== undefined) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.stdin!.write(`${JSON.stringify({ id, ...body })}\n`);
    });
  }
}
