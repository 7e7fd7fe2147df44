// Bytes and packets per second of each link, from two successive samples of the kernel's counters.
// Pure: the feed keeps the previous sample and hands both in.
import type { LinkTraffic } from "../trace/trace-report.js";

/** One reading of every link's counters, and when it was taken. */
export interface TrafficSample {
  atMs: number;
  links: readonly LinkTraffic[];
}

export interface LinkRate {
  rxBytesPerSec: number;
  txBytesPerSec: number;
  rxPacketsPerSec: number;
  txPacketsPerSec: number;
}

/** What identifies a link across samples: the host, the kind, the kernel's name and, for peer links, the other node. */
export function linkKey(link: Pick<LinkTraffic, "host" | "kind" | "name" | "peer">): string {
  return [link.host, link.kind, link.name, link.peer ?? ""].join("\u0000");
}

/**
 * The rate of `current` since `previous`, or undefined when there is no earlier reading of the same
 * link, no time passed, or a counter went backwards (the interface was recreated: its counters
 * restarted from zero, and a negative rate would be a lie).
 */
export function linkRate(previous: LinkTraffic | undefined, current: LinkTraffic, elapsedMs: number): LinkRate | undefined {
  if (previous === undefined || !(elapsedMs > 0)) return undefined;
  const deltas = [
    current.rxBytes - previous.rxBytes,
    current.txBytes - previous.txBytes,
    current.rxPackets - previous.rxPackets,
    current.txPackets - previous.txPackets,
  ];
  if (deltas.some((d) => !Number.isFinite(d) || d < 0)) return undefined;
  const perSec = (delta: number): number => Math.round((delta * 1000) / elapsedMs);
  return { rxBytesPerSec: perSec(deltas[0]!), txBytesPerSec: perSec(deltas[1]!), rxPacketsPerSec: perSec(deltas[2]!), txPacketsPerSec: perSec(deltas[3]!) };
}

/** Each link of `current` with its rate since `previous` (keyed by linkKey). */
export function linkRates(previous: TrafficSample | undefined, current: TrafficSample): Map<string, LinkRate> {
  const rates = new Map<string, LinkRate>();
  if (previous === undefined) return rates;
  const before = new Map(previous.links.map((l) => [linkKey(l), l]));
  const elapsedMs = current.atMs - previous.atMs;
  for (const link of current.links) {
    const key = linkKey(link);
    const rate = linkRate(before.get(key), link, elapsedMs);
    if (rate !== undefined) rates.set(key, rate);
  }
  return rates;
}
