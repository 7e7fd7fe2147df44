// Reading values of the desired state (parts of which come from peers) for validation and log lines.
import { parseMac, printable } from "../proto/values/index.js";

/** The MAC in lower case, or undefined when it is not one. */
export function macOf(text: unknown): string | undefined {
  try {
    return parseMac(text);
  } catch {
    return undefined;
  }
}

/** A value from the desired state (possibly from a peer) as it may appear in a log line. */
export function shown(value: unknown): string {
  return typeof value === "string" ? `"${printable(value, 64)}"` : printable(String(value), 64);
}
