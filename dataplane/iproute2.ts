// Running iproute2 for the rare link changes (bridge and vxlan create/set); veths, link observation and
// entries go through rtnetlink instead.
import { execFile } from "node:child_process";
import { KernelError } from "./kernel-error.js";

export interface CommandOutput {
  stdout: string;
  stderr: string;
}

/** Runs a program and resolves with its output; rejects with a KernelError carrying stderr otherwise. */
export function runCommand(program: string, args: readonly string[]): Promise<CommandOutput> {
  return new Promise((resolve, reject) => {
    execFile(program, args, { maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error === null) {
        resolve({ stdout, stderr });
        return;
      }
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") {
        reject(new KernelError(`${program} is not installed: install it with 'apt-get install -y iproute2'`, { cause: error }));
        return;
      }
      const text = stderr.trim() || error.message;
      reject(new KernelError(`${[program, ...args].join(" ")}: ${text}`, { kernelMessage: text, errno: errnoFromText(text), cause: error }));
    });
  });
}

export function ip(...args: string[]): Promise<CommandOutput> {
  return runCommand("ip", args);
}

function errnoFromText(text: string): number | undefined {
  if (/File exists/.test(text)) return 17;
  if (/No such file or directory/.test(text)) return 2;
  if (/Cannot find device|No such device/.test(text)) return 19;
  if (/Operation not permitted/.test(text)) return 1;
  if (/Invalid argument/.test(text)) return 22;
  if (/Device or resource busy/.test(text)) return 16;
  return undefined;
}
