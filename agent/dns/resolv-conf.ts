import { isIP } from "node:net";
import { invalidArgument } from "../../proto/values/index.js";

/**
 * The host's resolvers and search list from resolv.conf text: `nameserver` lines in order (IPv4 and
 * IPv6 addresses; anything else is skipped, as the C library does), and the last `search` or
 * `domain` line (they replace each other). Comments start with '#' or ';'.
 */
export function parseResolvConf(text: string): { nameservers: string[]; search: string[] } {
  const nameservers: string[] = [];
  let search: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const [keyword, ...values] = line.split(/\s+/);
    if (keyword === "nameserver" && values[0] !== undefined) {
      // "fe80::1%eth0": the zone does not make it another address family.
      if (isIP(values[0].replace(/%.*$/, "")) !== 0) nameservers.push(values[0]);
    } else if ((keyword === "search" || keyword === "domain") && values.length > 0) {
      search = values;
    }
  }
  return { nameservers, search };
}

export interface Upstream {
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/** "ip", "ip:port", "[ipv6]" or "[ipv6]:port" -> where to send forwarded queries (port 53 by default). */
export function parseUpstream(text: string, field = "upstreams"): Upstream {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const plain = /^([^:]+)(?::(\d+))?$/.exec(text);
  const bare = isIP(text) === 6 ? [text, text, undefined] : undefined;
  const match = bracketed ?? bare ?? plain;
  const host = match?.[1];
  const family = host === undefined ? 0 : isIP(host.replace(/%.*$/, ""));
  const port = match?.[2] === undefined ? 53 : Number(match[2]);
  if (host === undefined || family === 0) throw invalidArgument(field, `${JSON.stringify(text)} is not an IP address, optionally with :port`);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw invalidArgument(field, `${JSON.stringify(text)}: port must be 1-65535`);
  return { host, port, family: family === 6 ? 6 : 4 };
}
