// weft's nftables table as a value: its sets, maps, counters and chains, in the order they are written.
// The renderers build it (pure), renderTable() turns it into the script that replaces the table whole,
// and diffTable() into the script that changes only what differs (nft-table-diff.ts).
import { FIREWALL_FAMILY, FIREWALL_TABLE } from "./table-name.js";

export interface NftSet {
  kind: "set" | "map";
  name: string;
  /** "typeof ...", "type ...", "flags ...", "auto-merge": the lines before the elements. */
  declaration: string[];
  /** Element key (as nft reads it) -> value for a map, undefined for a set. */
  elements: ReadonlyMap<string, string | undefined>;
  /** Whether a change to its elements may be written alone (else the table is rewritten whole). */
  incremental: boolean;
}

export interface NftChain {
  kind: "chain";
  name: string;
  /** A base chain's "type ... hook ... priority ...; policy ...;" line. */
  hook?: string;
  rules: string[];
  /** Whether it may be added, changed or deleted alone (else the table is rewritten whole). */
  incremental: boolean;
}

export interface NftCounter {
  kind: "counter";
  name: string;
  incremental: false;
}

export type NftObject = NftSet | NftChain | NftCounter;

export interface NftTable {
  /** By name (sets, maps, chains and counters share one namespace here: weft never reuses a name). */
  objects: ReadonlyMap<string, NftObject>;
  /** Every service backend the mesh sends to: the ones that disappear get their conntrack entries deleted. */
  meshBackends: ReadonlySet<string>;
}

/** The script that replaces weft's table whole, in one transaction: create-if-absent, delete, write. */
export function renderTable(table: NftTable, header: string): string {
  const blocks = [...table.objects.values()].map(renderObject);
  return [
    header,
    `table ${FIREWALL_FAMILY} ${FIREWALL_TABLE}`,
    `delete table ${FIREWALL_FAMILY} ${FIREWALL_TABLE}`,
    `table ${FIREWALL_FAMILY} ${FIREWALL_TABLE} {`,
    blocks.join("\n\n"),
    "}",
    "",
  ].join("\n");
}

export function renderObject(object: NftObject): string {
  switch (object.kind) {
    case "counter":
      return `\tcounter ${object.name} {\n\t}`;
    case "chain":
      return [`\tchain ${object.name} {`, ...(object.hook === undefined ? [] : [`\t\t${object.hook}`]), ...object.rules.map((r) => `\t\t${r}`), "\t}"].join("\n");
    default: {
      const elements = renderElements(object.elements);
      return [
        `\t${object.kind} ${object.name} {`,
        ...object.declaration.map((d) => `\t\t${d}`),
        ...(elements === "" ? [] : [`\t\telements = { ${elements} }`]),
        "\t}",
      ].join("\n");
    }
  }
}

export function renderElements(elements: ReadonlyMap<string, string | undefined> | Iterable<[string, string | undefined]>): string {
  const parts: string[] = [];
  for (const [key, value] of elements) parts.push(value === undefined ? key : `${key} : ${value}`);
  return parts.join(", ");
}

export function elementCount(table: NftTable): number {
  let count = 0;
  for (const object of table.objects.values()) if (object.kind === "set" || object.kind === "map") count += object.elements.size;
  return count;
}
