// weft's nftables table as a value: its sets, maps, counters and chains, in the order they are written.
// The renderers build it (pure), renderTable() turns it into the script that replaces the table whole,
// and diffTable() into the script that changes only what differs (nft-table-diff.ts).
import { FIREWALL_FAMILY, FIREWALL_TABLE } from "./table-name.js";

export interface NftSet {
  kind: "set" | "map";
  name: string;
  /** "typeof ...", "type ...", "flags ...", "auto-merge": the lines before the elements. */
  declaration: string[];
  elements: NftElements;
  /** Whether a change to its elements may be written alone (else the table is rewritten whole). */
  incremental: boolean;
  /** A set of IPv4 addresses (type ipv4_addr): its element changes can be written without nft too. */
  addressSet?: true;
}

/**
 * Element key (as nft reads it) -> value for a map, undefined for a set; or, for a map keyed by slot
 * number (a Maglev table), the values in slot order: compared and diffed as an array, which at a
 * million slots is many times cheaper than a Map of strings.
 */
export type NftElements = ReadonlyMap<string, string | undefined> | readonly string[];

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
  /** Whether it may be added or deleted alone (else the table is rewritten whole). */
  incremental: boolean;
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

export function renderElements(elements: NftElements): string {
  if (!Array.isArray(elements)) return renderEntries(elements as ReadonlyMap<string, string | undefined>);
  const parts: string[] = [];
  for (let slot = 0; slot < elements.length; slot++) parts.push(`${slot} : ${elements[slot] as string}`);
  return parts.join(", ");
}

/** Elements as key -> value entries (value undefined for a set). */
export function renderEntries(entries: Iterable<[string, string | undefined]>): string {
  const parts: string[] = [];
  for (const [key, value] of entries) parts.push(value === undefined ? key : `${key} : ${value}`);
  return parts.join(", ");
}

export function elementsSize(elements: NftElements): number {
  return Array.isArray(elements) ? elements.length : (elements as ReadonlyMap<string, string | undefined>).size;
}

export function elementCount(table: NftTable): number {
  let count = 0;
  for (const object of table.objects.values()) if (object.kind === "set" || object.kind === "map") count += elementsSize(object.elements);
  return count;
}
