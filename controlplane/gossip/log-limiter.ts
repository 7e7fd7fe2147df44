import type { Clock } from "../clock.js";

/**
 * Writes a line at most once per (key, reason) per interval. The key is an authenticated peer's name
 * (or one shared key for unauthenticated input), never a name a frame merely claims, so nobody can
 * spend another peer's budget or grow the map at will; it is bounded all the same.
 */
export class LogLimiter {
  readonly #last = new Map<string, number>();

  constructor(
    readonly write: (line: string) => void,
    readonly clock: Clock,
    readonly everyMs = 60_000,
    readonly maxKeys = 4096,
  ) {}

  /** `text` may be a function: then the line is only built when it is written. */
  line(key: string, reason: string, text: string | (() => string)): void {
    const id = `${key}\n${reason}`;
    const now = this.clock.now();
    const last = this.#last.get(id);
    if (last !== undefined && now - last < this.everyMs) return;
    this.#last.delete(id);
    if (this.#last.size >= this.maxKeys) this.#last.delete(this.#last.keys().next().value!);
    this.#last.set(id, now);
    this.write(typeof text === "string" ? text : text());
  }
}
