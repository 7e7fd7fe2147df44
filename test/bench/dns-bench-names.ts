// The names the DNS bench serves and asks: endpoint eN of network "bench" at 10.40.x.y.
import type { DnsEndpoint } from "../../agent/dns/index.js";

export const BENCH_NETWORK = "bench";

export function benchEndpoints(count: number): DnsEndpoint[] {
  return Array.from({ length: count }, (_, i) => ({ name: `e${i}`, aliases: [], ip: `10.40.${1 + (i >> 8)}.${1 + (i & 255)}` }));
}
