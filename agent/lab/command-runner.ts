// Runs a host command and returns its stdout; a failure carries the command line and its stderr.
import { execFile } from "node:child_process";

export interface CommandResult {
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly commandLine: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`'${commandLine}' failed (exit ${exitCode ?? "signal"}): ${stderr.trim() || "no output"}`);
    this.name = "CommandError";
  }
}

export function runCommand(command: string, args: readonly string[], options: { timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args as string[],
      { timeout: options.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          const code = typeof err.code === "number" ? err.code : null;
          // No exit code: killed (by the timeout, or a signal) or never started; say which.
          const how = code === null ? ` [${err.killed ? "killed after the timeout" : (err.signal ?? err.code ?? "no exit code")}]` : "";
          reject(new CommandError([command, ...args].join(" "), code, String(stderr || err.message) + how));
        } else {
          resolve({ stdout: String(stdout), stderr: String(stderr) });
        }
      },
    );
  });
}

/** Runs `fn` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapConcurrent<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
