import { endpointKey, type EndpointKey, type EndpointRecord } from "./endpoint-record.js";

/**
 * What to do with an incoming entry given the one held under the same key (the key names the owner,
 * so both come from the same owner):
 * - accepted: newer version (or a new key); `previous` is what it replaces;
 * - duplicate: same version as held (equal versions never replace each other, whatever the bytes);
 * - stale: older than held; the sender is behind.
 */
export type MergeResult =
  | { readonly kind: "accepted"; readonly previous?: EndpointRecord }
  | { readonly kind: "duplicate"; readonly held: EndpointRecord }
  | { readonly kind: "stale"; readonly held: EndpointRecord };

/** The merge rule on one key. Pure. */
export function decideMerge(held: EndpointRecord | undefined, incoming: EndpointRecord): MergeResult {
  if (held === undefined) return { kind: "accepted" };
  if (incoming.version > held.version) return { kind: "accepted", previous: held };
  if (incoming.version === held.version) return { kind: "duplicate", held };
  return { kind: "stale", held };
}

/** The merge rule against a table. Pure: the caller applies an accepted result. */
export function mergeEntry(table: ReadonlyMap<EndpointKey, EndpointRecord>, incoming: EndpointRecord): MergeResult {
  return decideMerge(table.get(endpointKey(incoming)), incoming);
}

/** Applies `incoming` to a copy of `table` when the merge rule accepts it. Pure; used by tests and tools. */
export function applyEntry(
  table: ReadonlyMap<EndpointKey, EndpointRecord>,
  incoming: EndpointRecord,
): { table: Map<EndpointKey, EndpointRecord>; result: MergeResult } {
  const result = mergeEntry(table, incoming);
  const next = new Map(table);
  if (result.kind === "accepted") next.set(endpointKey(incoming), incoming);
  return { table: next, result };
}
