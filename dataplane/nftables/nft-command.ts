// Running nft: a child process in the agent's own (the host's) network namespace, the script on stdin.
import { spawn } from "node:child_process";
import { printable } from "../../proto/values/index.js";
import { KernelError } from "../kernel-error.js";

/** Runs nft with `args`, `input` on stdin; resolves with stdout, rejects with a KernelError naming nft's message. */
export type NftRunner = (args: readonly string[], input?: string) => Promise<string>;

/**
 * An NftRunner for `command` (["nft"] by default; tests use ["ip", "netns", "exec", NS, "nft"]).
 * The KernelError's message is the command, then nft's own error text.
 */
export function nftRunner(command: readonly string[] = ["nft"]): NftRunner {
  const [program, ...prefix] = command;
  if (program === undefined) throw new KernelError("nft: no command given");
  return (args, input) =>
    new Promise((resolve, reject) => {
      const child = spawn(program, [...prefix, ...args], { stdio: ["pipe", "pipe", "pipe"] });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
      // A child that died early closes its stdin; the exit status says why.
      child.stdin.on("error", () => undefined);
      child.on("error", (error: NodeJS.ErrnoException) => {
        const message =
          error.code === "ENOENT" ? `${program} is not installed: install it with 'apt-get install -y nftables'` : `${program}: ${error.message}`;
        reject(new KernelError(message, { cause: error }));
      });
      child.on("close", (code, signal) => {
        if (code === 0) {
          resolve(Buffer.concat(stdout).toString("utf8"));
          return;
        }
        const said = Buffer.concat(stderr).toString("utf8").trim().split("\n").map((l) => l.trim()).filter((l) => l !== "").join(" | ");
        const text = printable(said || `exited with ${signal ?? `status ${String(code)}`}`, 2000);
        reject(new KernelError(`nft ${args.join(" ")}: ${text}`, { kernelMessage: text, errno: errnoFromText(text) }));
      });
      child.stdin.end(input ?? "");
    });
}

function errnoFromText(text: string): number | undefined {
  if (/No such file or directory/.test(text)) return 2;
  if (/Operation not permitted/.test(text)) return 1;
  return undefined;
}
