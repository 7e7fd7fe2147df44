// Pure parsers of `nft -j list counters table inet weft`, `nft -j list map inet weft NAME` and
// `nft -j list chain inet weft NAME`: weft's own table only, never the whole ruleset.
import type { NftCounterSnapshot, NftMapSnapshot, NftRuleSnapshot } from "./kernel-snapshot.js";

type Json = Record<string, unknown>;

const obj = (value: unknown): Json => (typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {});

function items(text: string): Json[] {
  if (text.trim() === "") return [];
  const top = obj(JSON.parse(text) as unknown)["nftables"];
  return Array.isArray(top) ? top.map(obj) : [];
}

export function parseNftCounters(text: string): NftCounterSnapshot[] {
  const counters: NftCounterSnapshot[] = [];
  for (const item of items(text)) {
    const counter = obj(item["counter"]);
    if (typeof counter["name"] !== "string") continue;
    counters.push({ name: counter["name"], packets: count(counter["packets"]), bytes: count(counter["bytes"]) });
  }
  return counters;
}

export function parseNftMap(text: string): NftMapSnapshot | undefined {
  for (const item of items(text)) {
    const map = obj(item["map"]);
    if (typeof map["name"] !== "string") continue;
    const elements: Array<[string, string]> = [];
    for (const element of Array.isArray(map["elem"]) ? map["elem"] : []) {
      if (Array.isArray(element) && element.length === 2) elements.push([scalar(element[0]), scalar(element[1])]);
    }
    return { name: map["name"], elements };
  }
  return undefined;
}

export function parseNftChain(text: string): NftRuleSnapshot[] {
  const rules: NftRuleSnapshot[] = [];
  for (const item of items(text)) {
    const rule = obj(item["rule"]);
    if (typeof rule["chain"] !== "string") continue;
    const exprs = Array.isArray(rule["expr"]) ? rule["expr"] : [];
    rules.push({ chain: rule["chain"], handle: count(rule["handle"]), text: exprs.map(statement).join(" ") });
  }
  return rules;
}

function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

function scalar(value: unknown): string {
  if (typeof value === "string" || typeof value === "number") return String(value);
  return JSON.stringify(value) ?? "";
}

/** One statement as nft would print it, for the common shapes; others as compact JSON. */
function statement(value: unknown): string {
  const s = obj(value);
  if ("match" in s) {
    const m = obj(s["match"]);
    const op = m["op"] === "==" || m["op"] === "in" ? "" : `${String(m["op"])} `;
    return `${expression(m["left"])} ${op}${expression(m["right"])}`;
  }
  for (const verdict of ["drop", "accept", "return", "jump", "goto", "counter", "masquerade", "reject"]) {
    if (verdict in s) {
      const target = obj(s[verdict])["target"];
      return typeof target === "string" ? `${verdict} ${target}` : verdict;
    }
  }
  return JSON.stringify(value);
}

function expression(value: unknown): string {
  if (typeof value === "string" || typeof value === "number") return String(value);
  const e = obj(value);
  if ("meta" in e) return `${String(obj(e["meta"])["key"])}`;
  if ("payload" in e) return `${String(obj(e["payload"])["protocol"])} ${String(obj(e["payload"])["field"])}`;
  if ("concat" in e && Array.isArray(e["concat"])) return e["concat"].map(expression).join(" . ");
  if ("set" in e && Array.isArray(e["set"])) return `{ ${e["set"].map(expression).join(", ")} }`;
  if ("ct" in e) return `ct ${String(obj(e["ct"])["key"])}`;
  return JSON.stringify(value);
}
