// Time behind a seam: the real clock for the daemon, a fake one that tests and the simulator advance
// by hand so that seconds of protocol time run in milliseconds and never depend on luck.

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, ms);
    // Protocol timers must never be the only thing keeping a process alive.
    handle.unref();
    return handle;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

interface FakeTimer {
  readonly id: number;
  readonly due: number;
  readonly fn: () => void;
}

/**
 * A clock that only moves when told to. `advance` runs every timer that falls due, in (due time,
 * creation) order, and lets promise chains started by them settle before the next instant, so a
 * request/response over an in-memory transport completes within the instant it was sent.
 */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  // Binary min-heap on (due, id); cancelled timers stay in it and are skipped lazily.
  readonly #heap: FakeTimer[] = [];
  readonly #pending = new Set<number>();

  constructor(startMs = 1_700_000_000_000) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const timer: FakeTimer = { id: this.#nextId++, due: this.#now + delay, fn };
    this.#push(timer);
    this.#pending.add(timer.id);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    if (typeof handle === "number") this.#pending.delete(handle);
  }

  /** Number of timers still waiting. */
  pendingTimers(): number {
    return this.#pending.size;
  }

  /** Due time of the earliest pending timer, if any. */
  nextDue(): number | undefined {
    this.#dropCancelledTop();
    return this.#heap[0]?.due;
  }

  /** Moves time forward by `ms`, running due timers in order and settling microtasks after each instant. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + Math.max(0, ms);
    await settle();
    for (;;) {
      this.#dropCancelledTop();
      const first = this.#heap[0];
      if (first === undefined || first.due > target) break;
      this.#now = Math.max(this.#now, first.due);
      // Run everything due at this instant, then let the promise chains they started settle.
      while (this.#heap.length > 0) {
        this.#dropCancelledTop();
        const top = this.#heap[0];
        if (top === undefined || top.due > this.#now) break;
        this.#pop();
        this.#pending.delete(top.id);
        top.fn();
      }
      await settle();
    }
    this.#now = target;
  }

  #dropCancelledTop(): void {
    while (this.#heap.length > 0 && !this.#pending.has(this.#heap[0]!.id)) this.#pop();
  }

  #push(timer: FakeTimer): void {
    const heap = this.#heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): FakeTimer | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
        i = smallest;
      }
    }
    return top;
  }
}

function before(a: FakeTimer, b: FakeTimer): boolean {
  return a.due < b.due || (a.due === b.due && a.id < b.id);
}

// A macrotask boundary: every queued microtask (and the ones they queue) has run once it resolves.
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
