// From the table weft last wrote to the one it wants: nothing, the changed objects alone, or the whole
// table. Pure. The changed objects are written in one transaction that never leaves a reference
// dangling: new counters, sets and chains first, then rules, then elements (vmap elements point at chains), then
// the removed chains (flushed, so the sets they use are free) and last the removed sets and counters. nft has no
// in-place element update: a changed element is deleted and added again in the same transaction.
import { renderEntries, renderObject, renderTable, type NftChain, type NftElements, type NftObject, type NftSet, type NftTable } from "./nft-table.js";
import type { AddressSetChange, SlotMapChange } from "./nft-slot-writer.js";
import { FIREWALL_FAMILY, FIREWALL_TABLE } from "./table-name.js";

/**
 * chainsChanged: whether chains were added, removed or rewritten (else only set elements changed).
 * slots: the same change as slot-map element changes alone, when that is all it is (a backend added or
 * removed): it can then be written without nft (nft-slot-writer.ts).
 */
export type TableChange =
  | { kind: "none" }
  | { kind: "full" | "incremental"; script: string; chainsChanged: boolean; slots?: SlotMapChange[]; addressSets?: AddressSetChange[] };

const AT = `${FIREWALL_FAMILY} ${FIREWALL_TABLE}`;

/**
 * The script that turns `written` into `wanted`. Whole (kind "full") when nothing was written yet or an
 * object that is not incremental changed (the firewall part, base chains, a set's declaration).
 */
export function diffTable(written: NftTable | undefined, wanted: NftTable, header: string): TableChange {
  const full = (): TableChange => ({ kind: "full", script: renderTable(wanted, header), chainsChanged: true });
  if (written === undefined) return full();
  const added: NftObject[] = [];
  const removed: NftObject[] = [];
  const changedChains: NftChain[] = [];
  const changedSets: Array<[NftSet, NftSet]> = [];
  for (const [name, before] of written.objects) {
    const after = wanted.objects.get(name);
    if (after === undefined) {
      if (!before.incremental) return full();
      removed.push(before);
    } else if (!sameObject(before, after)) {
      if (!before.incremental || !after.incremental || before.kind !== after.kind) return full();
      if (after.kind === "chain") {
        if ((before as NftChain).hook !== after.hook) return full();
        changedChains.push(after);
      } else if (after.kind === "set" || after.kind === "map") {
        if (!sameLines((before as NftSet).declaration, after.declaration)) return full();
        changedSets.push([before as NftSet, after]);
      }
    }
  }
  for (const [name, after] of wanted.objects) {
    if (written.objects.has(name)) continue;
    if (!after.incremental) return full();
    added.push(after);
  }
  if (added.length + removed.length + changedChains.length + changedSets.length === 0) return { kind: "none" };

  const lines: string[] = [header];
  for (const object of added) if (object.kind === "counter") lines.push(`add counter ${AT} ${object.name}`);
  for (const object of added) if (object.kind === "set" || object.kind === "map") lines.push(`add ${renderObject(object).replace(/^\t/, "").replace(/^(set|map) /, `$1 ${AT} `)}`);
  for (const object of added) if (object.kind === "chain") lines.push(`add chain ${AT} ${object.name}`);
  for (const chain of changedChains) lines.push(`flush chain ${AT} ${chain.name}`);
  for (const chain of [...added.filter((o): o is NftChain => o.kind === "chain"), ...changedChains]) {
    for (const rule of chain.rules) lines.push(`add rule ${AT} ${chain.name} ${rule}`);
  }
  for (const [before, after] of changedSets) {
    const { gone, come } = elementChanges(before.elements, after.elements);
    if (gone.length > 0) lines.push(`delete element ${AT} ${after.name} { ${gone.join(", ")} }`);
    if (come.length > 0) lines.push(`add element ${AT} ${after.name} { ${renderEntries(come)} }`);
  }
  for (const object of removed) {
    if (object.kind === "chain") lines.push(`flush chain ${AT} ${object.name}`, `delete chain ${AT} ${object.name}`);
  }
  for (const object of removed) if (object.kind !== "chain") lines.push(`delete ${object.kind} ${AT} ${object.name}`);
  const chainsChanged = changedChains.length > 0 || [...added, ...removed].some((o) => o.kind === "chain");
  const script = `${lines.join("\n")}\n`;
  const slotMaps = changedSets.filter(([b, a]) => Array.isArray(b.elements) && Array.isArray(a.elements));
  const addressSets = changedSets.filter(([b, a]) => b.addressSet === true && a.addressSet === true);
  const elementsOnly = added.length + removed.length + changedChains.length === 0 && slotMaps.length + addressSets.length === changedSets.length;
  if (!elementsOnly) return { kind: "incremental", script, chainsChanged };
  const slots = slotMaps.map(([before, after]): SlotMapChange => {
    const { gone, come } = elementChanges(before.elements, after.elements);
    return { map: after.name, remove: gone.map(Number), add: come.map(([slot, ip]) => [Number(slot), ip as string] as const) };
  });
  const addresses = addressSets.map(([before, after]): AddressSetChange => {
    const { gone, come } = elementChanges(before.elements, after.elements);
    return { set: after.name, remove: gone, add: come.map(([ip]) => ip) };
  });
  return { kind: "incremental", script, chainsChanged, slots, addressSets: addresses };
}

function sameObject(a: NftObject, b: NftObject): boolean {
  if (a.kind !== b.kind || a.incremental !== b.incremental) return false;
  if (a.kind === "counter") return true;
  if (a.kind === "chain") return a.hook === (b as NftChain).hook && sameLines(a.rules, (b as NftChain).rules);
  const other = b as NftSet;
  return sameLines(a.declaration, other.declaration) && sameElements(a.elements, other.elements);
}

function sameElements(a: NftElements, b: NftElements): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return sameLines(a, b);
  const x = asMap(a);
  const y = asMap(b);
  if (x.size !== y.size) return false;
  for (const [key, value] of x) if (!y.has(key) || y.get(key) !== value) return false;
  return true;
}

/** Keys to delete (gone, or with another value) and entries to add (new, or with another value). */
function elementChanges(before: NftElements, after: NftElements): { gone: string[]; come: Array<[string, string | undefined]> } {
  const gone: string[] = [];
  const come: Array<[string, string | undefined]> = [];
  if (Array.isArray(before) && Array.isArray(after)) {
    for (let slot = 0; slot < Math.max(before.length, after.length); slot++) {
      if (before[slot] === after[slot]) continue;
      if (slot < before.length) gone.push(String(slot));
      if (slot < after.length) come.push([String(slot), after[slot] as string]);
    }
    return { gone, come };
  }
  const x = asMap(before);
  const y = asMap(after);
  for (const [key, value] of x) if (!y.has(key) || y.get(key) !== value) gone.push(key);
  for (const [key, value] of y) if (!x.has(key) || x.get(key) !== value) come.push([key, value]);
  return { gone, come };
}

function asMap(elements: NftElements): ReadonlyMap<string, string | undefined> {
  if (!Array.isArray(elements)) return elements as ReadonlyMap<string, string | undefined>;
  return new Map((elements as readonly string[]).map((value, slot) => [String(slot), value]));
}

function sameLines(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((line, i) => line === b[i]);
}
