// Reading the fields of a JSON record stored in etcd: each failure is a WeftError naming the field and
// the key it came from (shared by every record parser).
import { WeftError } from "../../proto/values/index.js";

export function fail(key: string, field: string, reason: string, cause?: unknown): never {
  const where = key ? ` (key ${key})` : "";
  throw new WeftError("invalid-argument", `${field}: ${reason}${where}`, { field, cause });
}

export function objectOf(key: string, value: unknown): Record<string, unknown> {
  let parsed = value;
  if (typeof value === "string" || value instanceof Uint8Array) {
    try {
      parsed = JSON.parse(typeof value === "string" ? value : Buffer.from(value).toString("utf8"));
    } catch (err) {
      fail(key, "value", "is not valid JSON", err);
    }
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) fail(key, "value", "must be a JSON object");
  return parsed as Record<string, unknown>;
}

export function str(key: string, obj: Record<string, unknown>, field: string): string {
  const v = obj[field];
  if (typeof v !== "string" || v.length === 0) fail(key, field, v === undefined ? "is missing" : "must be a non-empty string");
  return v;
}

/** Runs a validator of `field`, re-throwing its failure with the key. */
export function rethrowAs(key: string, field: string, fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    const reason = err instanceof WeftError ? err.message.replace(/^[^:]*: /, "") : String(err);
    fail(key, field, reason, err);
  }
}

export function timestamp(key: string, obj: Record<string, unknown>, field: string): string {
  const v = str(key, obj, field);
  if (Number.isNaN(Date.parse(v))) fail(key, field, `${JSON.stringify(v)} is not an ISO 8601 timestamp`);
  return v;
}

/** The last `n` segments of `key`, or undefined when there is no key (a record not from etcd). */
export function lastSegments(key: string, n: number): string[] | undefined {
  if (!key) return undefined;
  const parts = key.split("/");
  return parts.length >= n ? parts.slice(parts.length - n) : undefined;
}
