// The dataplane as a child process: run it inside a network namespace (`ip netns exec NS tsx
// dataplane/kernel-worker.ts`) and drive it with JSON lines on stdin (KernelWorkerClient). Node cannot
// setns() its main thread for long, so the e2e tests and the kernel-rate benchmark reach other
// namespaces' kernels this way; the agent itself runs the dataplane in-process.
//   request:  {"id":1,"op":"reconcile","desired":{...},"options":{"prune":false}} | {"id":2,"op":"observe"} | {"id":3,"op":"apply","plan":{...}}
//   response: {"id":1,"ok":true,"value":...} | {"id":1,"ok":false,"error":"..."}
import { createInterface } from "node:readline";
import { errorText } from "../proto/values/index.js";
import { createLinuxKernel } from "./linux-kernel.js";
import { Reconciler } from "./reconciler.js";
import type { DesiredState } from "./desired-state.js";
import type { KernelPlan } from "./kernel.js";

export type KernelWorkerRequest =
  | { id: number; op: "reconcile"; desired: DesiredState; options?: { prune?: boolean } }
  | { id: number; op: "observe" }
  | { id: number; op: "apply"; plan: KernelPlan };

export type KernelWorkerResponse = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

async function serve(): Promise<void> {
  const kernel = createLinuxKernel();
  const reconciler = new Reconciler(kernel);
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  const reply = (response: KernelWorkerResponse) => process.stdout.write(`${JSON.stringify(response)}\n`);
  for await (const line of lines) {
    if (line.trim() === "") continue;
    let request: KernelWorkerRequest;
    try {
      request = JSON.parse(line) as KernelWorkerRequest;
    } catch (error) {
      reply({ id: -1, ok: false, error: `bad request line: ${(error as Error).message}` });
      continue;
    }
    try {
      switch (request.op) {
        case "reconcile":
          reply({ id: request.id, ok: true, value: await reconciler.reconcile(request.desired, request.options) });
          break;
        case "observe":
          reply({ id: request.id, ok: true, value: await kernel.observe() });
          break;
        case "apply": {
          const started = performance.now();
          const result = await kernel.apply(request.plan);
          reply({ id: request.id, ok: true, value: { result, elapsedMs: performance.now() - started } });
          break;
        }
        default:
          reply({ id: (request as { id: number }).id, ok: false, error: `unknown op ${(request as { op: unknown }).op}` });
      }
    } catch (error) {
      reply({ id: request.id, ok: false, error: errorText(error) });
    }
  }
  kernel.close();
}

await serve();
