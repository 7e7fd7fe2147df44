// From the table weft last wrote to the one it wants: nothing, the changed objects alone, or the whole
// table. Pure. The changed objects are written in one transaction that never leaves a reference
// dangling: new sets and chains first, then rules, then elements (vmap elements point at chains), then
// the removed chains (flushed, so the sets they use are free) and last the removed sets. nft has no
// in-place element update: a changed element is deleted and added again in the same transaction.
import { renderElements, renderObject, renderTable, type NftChain, type NftObject, type NftSet, type NftTable } from "./nft-table.js";
import { FIREWALL_FAMILY, FIREWALL_TABLE } from "./table-name.js";

export type TableChange = { kind: "none" } | { kind: "full" | "incremental"; script: string };

const AT = `${FIREWALL_FAMILY} ${FIREWALL_TABLE}`;

/**
 * The script that turns `written` into `wanted`. Whole (kind "full") when nothing was written yet or an
 * object that is not incremental changed (the firewall part, base chains, a set's declaration).
 */
export function diffTable(written: NftTable | undefined, wanted: NftTable, header: string): TableChange {
  const full = (): TableChange => ({ kind: "full", script: renderTable(wanted, header) });
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
  for (const object of added) if (object.kind !== "chain") lines.push(`add ${renderObject(object).replace(/^\t/, "").replace(/^(set|map) /, `$1 ${AT} `)}`);
  for (const object of added) if (object.kind === "chain") lines.push(`add chain ${AT} ${object.name}`);
  for (const chain of changedChains) lines.push(`flush chain ${AT} ${chain.name}`);
  for (const chain of [...added.filter((o): o is NftChain => o.kind === "chain"), ...changedChains]) {
    for (const rule of chain.rules) lines.push(`add rule ${AT} ${chain.name} ${rule}`);
  }
  for (const [before, after] of changedSets) {
    const gone: string[] = [];
    const come: Array<[string, string | undefined]> = [];
    for (const [key, value] of before.elements) {
      if (!after.elements.has(key) || after.elements.get(key) !== value) gone.push(key);
    }
    for (const [key, value] of after.elements) {
      if (!before.elements.has(key) || before.elements.get(key) !== value) come.push([key, value]);
    }
    if (gone.length > 0) lines.push(`delete element ${AT} ${after.name} { ${gone.join(", ")} }`);
    if (come.length > 0) lines.push(`add element ${AT} ${after.name} { ${renderElements(come)} }`);
  }
  for (const object of removed) {
    if (object.kind === "chain") lines.push(`flush chain ${AT} ${object.name}`, `delete chain ${AT} ${object.name}`);
  }
  for (const object of removed) if (object.kind !== "chain") lines.push(`delete ${object.kind} ${AT} ${object.name}`);
  return { kind: "incremental", script: `${lines.join("\n")}\n` };
}

function sameObject(a: NftObject, b: NftObject): boolean {
  if (a.kind !== b.kind || a.incremental !== b.incremental) return false;
  if (a.kind === "counter") return true;
  if (a.kind === "chain") return a.hook === (b as NftChain).hook && sameLines(a.rules, (b as NftChain).rules);
  const other = b as NftSet;
  if (!sameLines(a.declaration, other.declaration) || a.elements.size !== other.elements.size) return false;
  for (const [key, value] of a.elements) if (!other.elements.has(key) || other.elements.get(key) !== value) return false;
  return true;
}

function sameLines(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((line, i) => line === b[i]);
}
