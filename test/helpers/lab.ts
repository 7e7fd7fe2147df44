// A lab for one test file: a unique prefix (`weft` + 4 random [a-z0-9]) and a down() for afterAll.
import { randomInt } from "node:crypto";
import { labDown, labUp, type CheckResult, type LabOptions, type LabState } from "../../agent/lab/index.js";

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

export function uniqueLabPrefix(): string {
  return "weft" + Array.from({ length: 4 }, () => ALPHABET[randomInt(ALPHABET.length)]).join("");
}

export interface TestLab {
  prefix: string;
  state: LabState;
  checks: CheckResult[];
  down(): Promise<void>;
}

/** Builds a lab with a unique prefix. labUp removes what it built when it fails, so there is nothing to leak. */
export async function withLab(options: Omit<LabOptions, "prefix"> & { prefix?: string }): Promise<TestLab> {
  const prefix = options.prefix ?? uniqueLabPrefix();
  const lines: string[] = [];
  const log = options.log ?? ((line: string) => lines.push(line));
  const { state, checks } = await labUp({ ...options, prefix, log });
  return { prefix, state, checks, down: () => labDown({ prefix }) };
}

/** Polls `probe` until it returns true or the deadline passes; returns the last value seen. */
export async function pollUntil<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, intervalMs));
    value = await probe();
  }
  return value;
}
