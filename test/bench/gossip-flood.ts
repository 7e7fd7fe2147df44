// STUB, in the tooling branch only: the gossip helper's test/bench/gossip-flood.ts replaces this file
// at merge (take theirs whole). It declares the same exports so main.ts type-checks here.
export interface FloodOptions {
  durationMs?: number;
  /** Frames in flight at once. */
  concurrency?: number;
}

export interface FloodResult {
  maxStallMs: number;
  p99StallMs: number;
  idleMaxStallMs: number;
  loadAverage: number;
  framesSent: number;
  sentByKind: Record<string, number>;
  rejected: Record<string, number>;
  durationMs: number;
}

export async function measureFloodStall(_options: FloodOptions = {}): Promise<FloodResult> {
  throw new Error("test/bench/gossip-flood.ts is the tooling branch's stub: merge the gossip helper's file over it");
}
