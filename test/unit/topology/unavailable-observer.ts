// A fake observer that answers every question with a clear error: the page must show it where the
// trace or the counters would be.
import { WeftError } from "../../../proto/values/index.js";
import type { ClusterObserver } from "../../../agent/trace/trace-report.js";

export const TRACE_NOT_AVAILABLE = "trace not available: this weftd has no cluster observer (weft trace is not built in)";
export const TRAFFIC_NOT_AVAILABLE = "traffic counters not available: this weftd has no cluster observer";

export const unavailableObserver: ClusterObserver = {
  trace: () => Promise.reject(new WeftError("unavailable", TRACE_NOT_AVAILABLE)),
  traffic: () => Promise.reject(new WeftError("unavailable", TRAFFIC_NOT_AVAILABLE)),
};
