import { describe, expect, it } from "vitest";
import { ReplayWindow } from "../../../controlplane/gossip/replay-window.js";
import { TokenBucket } from "../../../controlplane/gossip/token-bucket.js";

describe("replay window", () => {
  it("admits an id once within the window", () => {
    const window = new ReplayWindow(60_000);
    expect(window.admit(1n, 1000, 1000)).toBe(true);
    expect(window.admit(1n, 1000, 2000)).toBe(false);
    expect(window.admit(2n, 1500, 2000)).toBe(true);
  });

  it("forgets ids older than the window (the send-time check refuses those frames anyway)", () => {
    const window = new ReplayWindow(1000);
    window.admit(1n, 0, 0);
    window.admit(2n, 500, 500);
    // Pruning is what keeps it small; a frame that old fails the clock check before it gets here.
    expect(window.admit(3n, 2000, 2000)).toBe(true);
    expect(window.admit(2n, 2001, 2001)).toBe(true);
  });

  it("when full, refuses everything at or below the send time of the id it forgot, so that id cannot come back", () => {
    const window = new ReplayWindow(60_000, 3);
    for (const [id, at] of [[1n, 10], [2n, 20], [3n, 30]] as const) expect(window.admit(id, at, 100)).toBe(true);
    expect(window.admit(4n, 40, 100)).toBe(true); // forgets 1 (sent at 10)
    expect(window.admit(1n, 10, 100)).toBe(false);
    expect(window.admit(5n, 5, 100)).toBe(false);
    expect(window.admit(6n, 50, 100)).toBe(true);
  });
});

describe("token bucket", () => {
  it("admits a burst, then the refill rate, and takes a request whole or not at all", () => {
    const bucket = new TokenBucket(10, 20, 0);
    expect(bucket.take(15, 0)).toBe(true);
    expect(bucket.take(10, 0)).toBe(false);
    expect(bucket.take(5, 0)).toBe(true);
    expect(bucket.take(1, 50)).toBe(false);
    expect(bucket.take(1, 100)).toBe(true);
    expect(bucket.take(20, 10_000)).toBe(true);
  });
});
