// A TraceReport as text for a terminal: one block per hop (host, layer, kernel object, expected vs
// actual, counters, and for a broken hop the problem and its likely cause), then the verdict. Pure.
import { printable } from "../../proto/values/index.js";
import type { HopCounters, TraceReport } from "./trace-report.js";

export function formatTrace(report: TraceReport, options: { see?: boolean } = {}): string {
  const lines: string[] = [];
  const end = (e: TraceReport["from"]): string => `${e.kind} ${e.name} ${e.ip}${e.host ? ` on ${e.host}` : ""}${e.network ? ` (${e.network})` : ""}`;
  const port = report.port !== undefined ? ` port ${report.port}` : "";
  const source = report.sourcePort !== undefined ? `, source port ${report.sourcePort}` : "";
  lines.push(`trace ${report.proto}${port}${source}: ${end(report.from)} -> ${end(report.to)}`, "");
  report.hops.forEach((hop, i) => {
    const mark = hop.ok ? "ok  " : "FAIL";
    lines.push(`${String(i + 1).padStart(2)}. ${mark} ${hop.host.padEnd(8)} ${hop.layer.padEnd(9)} ${printable(hop.object)}`);
    lines.push(`      expected: ${printable(hop.expected)}`);
    lines.push(`      actual:   ${printable(hop.actual)}${hop.counters ? `   [${counters(hop.counters)}]` : ""}`);
    if (!hop.ok) {
      if (hop.problem) lines.push(`      problem:  ${printable(hop.problem, 1000)}`);
      if (hop.cause) lines.push(`      cause:    ${printable(hop.cause, 1000)}`);
    }
    if (options.see && hop.see?.length) lines.push(`      see:      ${hop.see.map((s) => printable(s)).join("; ")}`);
  });
  lines.push("");
  if (report.probe) lines.push(`probe: ${report.probe.sent ? (report.probe.answered ? "answered" : "no answer") : "not sent"} (${printable(report.probe.detail)})`);
  lines.push(`${report.ok ? "OK" : "BROKEN"}: ${printable(report.summary, 2000)}`);
  return lines.join("\n") + "\n";
}

function counters(c: HopCounters): string {
  const delta = c.packetsDelta !== undefined ? ` (+${c.packetsDelta} pkts, +${c.bytesDelta ?? 0} B during the probe)` : "";
  return `${c.packets ?? 0} pkts, ${c.bytes ?? 0} B${delta}`;
}
