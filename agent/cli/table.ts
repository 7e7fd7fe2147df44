// Plain-text tables for humans; --json prints the data instead. Every cell goes through printable():
// names and origins come from other nodes, and must not reach the terminal as control sequences.
import { printable } from "../../proto/values/index.js";

export function renderTable(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = [headers.map(String), ...rows.map((r) => r.map((c) => (c === undefined || c === null ? "" : printable(String(c)))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd()).join("\n") + "\n";
}
