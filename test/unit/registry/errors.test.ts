import { describe, expect, it } from "vitest";
import { GRPCUnavailableError, GRPCInvalidArgumentError } from "etcd3";
import { ControlplaneError, TxnConflictError, isRetryable } from "../../../controlplane/errors.js";

describe("ControlplaneError", () => {
  it("carries code, field and cause", () => {
    const cause = new Error("low level");
    const err = new ControlplaneError("invalid-argument", "subnet: bad", { field: "subnet", cause });
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ name: "ControlplaneError", code: "invalid-argument", field: "subnet", message: "subnet: bad" });
    expect(err.cause).toBe(cause);
    expect(new ControlplaneError("internal", "x").field).toBeUndefined();
  });
});

describe("isRetryable", () => {
  it("is true for etcd being unreachable and for transaction conflicts", () => {
    expect(isRetryable(new GRPCUnavailableError("down"))).toBe(true);
    expect(isRetryable(new TxnConflictError())).toBe(true);
    expect(isRetryable(new ControlplaneError("unavailable", "etcd: down"))).toBe(true);
  });

  it("is false for everything else", () => {
    expect(isRetryable(new GRPCInvalidArgumentError("bad"))).toBe(false);
    expect(isRetryable(new ControlplaneError("already-exists", "name: taken"))).toBe(false);
    expect(isRetryable(new Error("boom"))).toBe(false);
    expect(isRetryable("string")).toBe(false);
  });
});
