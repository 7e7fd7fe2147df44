import { describe, expect, it } from "vitest";
import { GRPCUnavailableError, GRPCInvalidArgumentError } from "etcd3";
import { isRetryable } from "../../../controlplane/retryable.js";
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
