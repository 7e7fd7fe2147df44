import { describe, expect, it } from "vitest";
import { GRPCUnavailableError, GRPCInvalidArgumentError } from "etcd3";
import { isRetryable, retry } from "../../../controlplane/retryable.js";
import { WeftError } from "../../../proto/values/index.js";

describe("WeftError", () => {
  it("carries code, field and cause", () => {
    const cause = new Error("low level");
    const err = new WeftError("invalid-argument", "subnet: bad", { field: "subnet", cause });
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ name: "WeftError", code: "invalid-argument", field: "subnet", message: "subnet: bad" });
    expect(err.cause).toBe(cause);
    expect(new WeftError("internal", "x").field).toBeUndefined();
  });
});

describe("isRetryable", () => {
  it("is true for etcd being unreachable", () => {
    expect(isRetryable(new GRPCUnavailableError("down"))).toBe(true);
    expect(isRetryable(new WeftError("unavailable", "etcd: down"))).toBe(true);
  });

  it("is false for everything else", () => {
    expect(isRetryable(new GRPCInvalidArgumentError("bad"))).toBe(false);
    expect(isRetryable(new WeftError("already-exists", "name: taken"))).toBe(false);
    expect(isRetryable(new Error("boom"))).toBe(false);
    expect(isRetryable("string")).toBe(false);
  });
});

describe("retry", () => {
  it("retries until the attempt succeeds, telling of each failure", async () => {
    const failures: number[] = [];
    const result = await retry(
      async (attempt) => {
        if (attempt < 3) throw new WeftError("unavailable", "etcd: down");
        return attempt;
      },
      { minDelayMs: 1, maxDelayMs: 2, onFailure: (_err, attempt) => failures.push(attempt) },
    );
    expect(result).toBe(3);
    expect(failures).toEqual([1, 2]);
  });

  it("gives up at once on an error it should not retry, and after the allowed retries otherwise", async () => {
    let calls = 0;
    const fatal = new WeftError("invalid-argument", "name: bad", { field: "name" });
    await expect(retry(async () => (calls++, Promise.reject(fatal)), { minDelayMs: 1, maxDelayMs: 1, shouldRetry: isRetryable })).rejects.toBe(fatal);
    expect(calls).toBe(1);
    calls = 0;
    await expect(retry(async () => (calls++, Promise.reject(new WeftError("unavailable", "down"))), { retries: 2, minDelayMs: 1, maxDelayMs: 1 })).rejects.toMatchObject({ code: "unavailable" });
    expect(calls).toBe(3);
  });

  it("stops when its signal aborts", async () => {
    const stop = new AbortController();
    let calls = 0;
    const running = retry(
      async () => {
        if (++calls === 2) stop.abort(new Error("closed"));
        throw new Error("still down");
      },
      { minDelayMs: 1, maxDelayMs: 1, signal: stop.signal },
    );
    await expect(running).rejects.toThrow("closed");
    expect(calls).toBe(2);
  });
});
