/**
 * A token bucket: `burst` tokens at most, refilled at `perSecond`. take() spends tokens only when all
 * of them are there, so a request is admitted whole or not at all.
 */
export class TokenBucket {
  #tokens: number;
  #updatedMs: number;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    nowMs: number,
  ) {
    this.#tokens = burst;
    this.#updatedMs = nowMs;
  }

  take(count: number, nowMs: number): boolean {
    const elapsed = Math.max(0, nowMs - this.#updatedMs);
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsed * this.perSecond) / 1000);
    this.#updatedMs = nowMs;
    if (count > this.#tokens) return false;
    this.#tokens -= count;
    return true;
  }
}
