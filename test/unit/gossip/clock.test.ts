import { describe, expect, it } from "vitest";
import { FakeClock } from "../../../controlplane/clock.js";

describe("FakeClock", () => {
  it("runs due timers in (time, creation) order, skips cancelled ones and settles promise chains per instant", async () => {
    const clock = new FakeClock(1000);
    const seen: string[] = [];
    clock.setTimeout(() => seen.push("b@20"), 20);
    clock.setTimeout(() => seen.push("a@10"), 10);
    const cancelled = clock.setTimeout(() => seen.push("never"), 15);
    clock.setTimeout(() => {
      seen.push("c@10");
      void Promise.resolve().then(() => Promise.resolve()).then(() => {
        seen.push(`chain@${clock.now()}`);
        clock.setTimeout(() => seen.push("d@10+0"), 0);
      });
    }, 10);
    clock.clearTimeout(cancelled);
    await clock.advance(15);
    expect(clock.now()).toBe(1015);
    expect(seen).toEqual(["a@10", "c@10", "chain@1010", "d@10+0"]);
    await clock.advance(5);
    expect(seen.at(-1)).toBe("b@20");
    expect(clock.pendingTimers()).toBe(0);
  });
});
