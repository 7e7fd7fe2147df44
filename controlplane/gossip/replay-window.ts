/**
 * The message ids one origin used recently, so a frame seen before is refused. Frames older than the
 * clock-skew window are refused by their send time anyway, so ids are kept only that long. Bounded:
 * when full, the oldest id is forgotten and its send time becomes a floor at or below which every
 * frame is refused, so a forgotten id can never be replayed (a legitimate late frame is refused
 * too, and its sender tries again with a new one).
 */
export class ReplayWindow {
  readonly #seen = new Map<bigint, number>();
  #floorMs = Number.NEGATIVE_INFINITY;

  constructor(
    readonly spanMs: number,
    readonly capacity = 4096,
  ) {}

  /** Records the id; false when it was seen before (or may have been: at or below the floor). */
  admit(messageId: bigint, sentAtMs: number, nowMs: number): boolean {
    for (const [id, sent] of this.#seen) {
      if (sent >= nowMs - this.spanMs) break;
      this.#seen.delete(id);
    }
    if (sentAtMs <= this.#floorMs || this.#seen.has(messageId)) return false;
    if (this.#seen.size >= this.capacity) {
      const [oldestId, oldestSent] = this.#seen.entries().next().value!;
      this.#seen.delete(oldestId);
      this.#floorMs = Math.max(this.#floorMs, oldestSent);
      if (sentAtMs <= this.#floorMs) return false;
    }
    this.#seen.set(messageId, sentAtMs);
    return true;
  }
}
