// `weft lab trace [FROM TO]`: a trace between two of the lab's containers, asked of FROM's host's
// agent; by default the first container on h1 to the first on h2.
import { createUnaryClient } from "../../proto/grpc-binding.js";
import { WeftService } from "../../proto/gen/weft/v1/api_pb.js";
import type { TraceReport, TraceRequest } from "../trace/trace-report.js";
import { LabError } from "./lab-error.js";
import { DEFAULT_LAB_PREFIX, labDir, validateLabPrefix } from "./lab-names.js";
import { readLabState } from "./lab-state.js";

export interface LabTraceOptions extends Partial<TraceRequest> {
  prefix?: string;
}

export async function labTrace(options: LabTraceOptions = {}): Promise<TraceReport> {
  const prefix = validateLabPrefix(options.prefix ?? DEFAULT_LAB_PREFIX);
  const state = await readLabState(prefix);
  if (!state) throw new LabError("prefix", `no lab named ${prefix} is running (no ${labDir(prefix)}/state.json): start one with 'weft lab up'`);
  const all = [...state.containers, ...(state.isolated ?? []), ...(state.web?.backends ?? [])];
  const from = options.from ?? state.containers.find((c) => c.host === "h1")?.name;
  const to = options.to ?? state.containers.find((c) => c.host === "h2")?.name;
  if (from === undefined || to === undefined) throw new LabError("from", "the lab needs a container on h1 and one on h2 for the default trace: name FROM and TO");
  const source = all.find((c) => c.name === from || c.ip === from || c.endpointId === from);
  const host = state.hosts.find((h) => h.name === (source?.host ?? "h1")) ?? state.hosts[0];
  if (host === undefined) throw new LabError("prefix", `lab ${prefix} has no hosts`);
  const api = createUnaryClient(WeftService, `unix:${host.apiSocket}`);
  try {
    const res = await api.trace(
      { from, to, port: options.port ?? 0, proto: options.proto ?? "", probe: options.probe === true, sourcePort: options.sourcePort ?? 0 },
      { deadlineMs: 30_000 },
    );
    return JSON.parse(res.reportJson) as TraceReport;
  } finally {
    api.close();
  }
}
