// The observer weftd hands the topology page while it has no real one: every question is answered
// with a clear "not available", which the page shows where the trace or the counters would be.
import { WeftError } from "../../proto/values/index.js";
import type { ClusterObserver } from "../trace/trace-report.js";

export const TRACE_NOT_AVAILABLE = "trace not available: this weftd has no cluster observer (weft trace is not built in)";
export const TRAFFIC_NOT_AVAILABLE = "traffic counters not available: this weftd has no cluster observer";

export const unavailableObserver: ClusterObserver = {
  trace: () => Promise.reject(new WeftError("unavailable", TRACE_NOT_AVAILABLE)),
  traffic: () => Promise.reject(new WeftError("unavailable", TRAFFIC_NOT_AVAILABLE)),
};
