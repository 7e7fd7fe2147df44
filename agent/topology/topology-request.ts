// What the topology server accepts, checked before anything is asked of the agent (pure):
// the query of /api/trace, and the Host header of every request.
import { invalidArgument, isIPv4, printable } from "../../proto/values/index.js";
import type { TraceProto, TraceRequest } from "../trace/trace-report.js";

const TRACE_PARAMETERS = ["from", "to", "port", "proto"] as const;
const PROTOS: readonly TraceProto[] = ["tcp", "udp", "icmp"];
/** Longer than any endpoint name, ID, IP, service name or HOST:PORT can be. */
const MAX_REFERENCE = 253;

/**
 * `from` and `to` (an endpoint name, ID or IP; `to` also a service or HOST:PORT), optional `port`
 * (1-65535) and `proto` (tcp, udp, icmp). Bad input -> WeftError naming the parameter. No `probe`:
 * the page is read-only, and a probe sends packets from a container (that is `weft trace --probe`).
 */
export function parseTraceQuery(query: URLSearchParams): TraceRequest {
  for (const name of new Set(query.keys())) {
    if (name === "probe") throw invalidArgument("probe", "the page is read-only and sends no probes: run 'weft trace --probe' for that");
    if (!(TRACE_PARAMETERS as readonly string[]).includes(name)) {
      throw invalidArgument(printable(name).slice(0, 64), `unknown parameter (known: ${TRACE_PARAMETERS.join(", ")})`);
    }
    if (query.getAll(name).length > 1) throw invalidArgument(name, "is given more than once");
  }
  const request: TraceRequest = { from: reference(query, "from"), to: reference(query, "to") };
  const port = query.get("port");
  if (port !== null) {
    if (!/^[0-9]{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw invalidArgument("port", `"${printable(port).slice(0, 16)}" must be a whole number from 1 to 65535`);
    request.port = Number(port);
  }
  const proto = query.get("proto");
  if (proto !== null) {
    if (!(PROTOS as readonly string[]).includes(proto)) throw invalidArgument("proto", `"${printable(proto).slice(0, 16)}" must be one of ${PROTOS.join(", ")}`);
    request.proto = proto as TraceProto;
  }
  if (request.port !== undefined && request.proto === "icmp") throw invalidArgument("port", "icmp has no ports");
  return request;
}

function reference(query: URLSearchParams, name: "from" | "to"): string {
  const value = query.get(name);
  if (value === null || value.trim() === "") throw invalidArgument(name, "is required (an endpoint name, ID or IP)");
  if (value.length > MAX_REFERENCE) throw invalidArgument(name, `is longer than ${MAX_REFERENCE} characters`);
  if (/[\u0000-\u001f\u007f-\u009f\s]/.test(value)) throw invalidArgument(name, `"${printable(value)}" contains spaces or control characters`);
  return value;
}

/**
 * Whether a request's Host header names this server by address (an IPv4 or IPv6 literal, or
 * localhost), with an optional port. A page on loopback is otherwise readable by any web site the
 * browser visits, through a DNS name that resolves to 127.0.0.1 (DNS rebinding).
 */
export function isAddressHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::([0-9]{1,5}))?$/.exec(host);
  if (!match) return false;
  const name = match[1]!;
  return name.startsWith("[") || name.toLowerCase() === "localhost" || isIPv4(name);
}
