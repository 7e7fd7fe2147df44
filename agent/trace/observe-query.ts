// What one agent asks another for (a trace's part on that host, or its links' traffic) and what it
// gets back, as JSON inside the gossip's Observe frames. A query comes from a peer: it names only
// endpoint IDs, VNIs, MACs, IPs and service names, each checked here; the answering agent maps them to
// its own kernel names and namespaces (never a path or a command from the peer).
import type { HostSnapshot, ProbeResult } from "../../dataplane/inspect/index.js";
import { invalidArgument, isIPv4, isMac, isName } from "../../proto/values/index.js";
import type { LinkTraffic, TraceProto } from "./trace-report.js";

/** Bounds on one query: a trace names two ends and a few services, never more. */
const MAX_ITEMS = 16;

export interface ObserveQuery {
  /** Local endpoints to read inside their namespaces, with where each sends. */
  endpoints: Array<{ id: string; routeTo?: string }>;
  /** Networks whose bridge and VXLAN device to read, with the FDB MACs and neighbour IPs of interest. */
  networks: Array<{ vni: number; macs: string[]; ips: string[] }>;
  /** Underlay destinations for `ip route get` (peers' VTEPs). */
  routesTo: string[];
  /**
   * Services whose VIP chain and Maglev maps (all backends, and local ones) to read; `isolation`: the
   * forward chain; `egress`: the postrouting chain and the egress bridge; `ports`: published ports' chains.
   */
  nft?: { services: string[]; isolation: boolean; egress?: boolean; ports?: Array<{ protocol: "tcp" | "udp"; port: number; local?: boolean }> };
  /** Send one probe from a local endpoint's namespace. */
  probe?: { endpointId: string; proto: TraceProto; dst: string; port?: number; sourcePort?: number };
  /** Counters of every weft link on the host instead. */
  traffic?: boolean;
}

export interface ObserveReply {
  snapshot?: HostSnapshot;
  probe?: ProbeResult;
  traffic?: LinkTraffic[];
  /** The query was refused (bad, busy): why. */
  error?: string;
}

export function encodeJson(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value), "utf8");
}

/** Parses and checks a peer's query; throws a WeftError naming the first bad field. */
export function parseObserveQuery(bytes: Uint8Array): ObserveQuery {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    throw invalidArgument("query", "is not JSON");
  }
  const q = object(raw, "query");
  const query: ObserveQuery = {
    endpoints: list(q["endpoints"], "query.endpoints").map((e, i) => {
      const item = object(e, `query.endpoints[${i}]`);
      const id = item["id"];
      if (typeof id !== "string" || !/^[0-9a-f]{11,64}$/.test(id)) throw invalidArgument(`query.endpoints[${i}].id`, "must be an endpoint id");
      const routeTo = item["routeTo"];
      if (routeTo !== undefined && !isIPv4(routeTo)) throw invalidArgument(`query.endpoints[${i}].routeTo`, "must be an IPv4 address");
      return routeTo === undefined ? { id } : { id, routeTo };
    }),
    networks: list(q["networks"], "query.networks").map((n, i) => {
      const item = object(n, `query.networks[${i}]`);
      const vni = item["vni"];
      if (typeof vni !== "number" || !Number.isInteger(vni) || vni < 1 || vni > 0xffffff) throw invalidArgument(`query.networks[${i}].vni`, "must be a VNI");
      const macs = list(item["macs"], `query.networks[${i}].macs`);
      const ips = list(item["ips"], `query.networks[${i}].ips`);
      if (!macs.every(isMac)) throw invalidArgument(`query.networks[${i}].macs`, "must be MAC addresses");
      if (!ips.every(isIPv4)) throw invalidArgument(`query.networks[${i}].ips`, "must be IPv4 addresses");
      return { vni, macs: macs as string[], ips: ips as string[] };
    }),
    routesTo: list(q["routesTo"], "query.routesTo").map((ip, i) => {
      if (!isIPv4(ip)) throw invalidArgument(`query.routesTo[${i}]`, "must be an IPv4 address");
      return ip;
    }),
  };
  if (q["nft"] !== undefined) {
    const nft = object(q["nft"], "query.nft");
    const services = list(nft["services"], "query.nft.services");
    if (!services.every(isName)) throw invalidArgument("query.nft.services", "must be service names");
    query.nft = { services: services as string[], isolation: nft["isolation"] === true };
    if (nft["egress"] === true) query.nft.egress = true;
    if (nft["ports"] !== undefined) {
      query.nft.ports = list(nft["ports"], "query.nft.ports").map((p, i) => {
        const item = object(p, `query.nft.ports[${i}]`);
        const protocol = item["protocol"];
        const port = item["port"];
        if (protocol !== "tcp" && protocol !== "udp") throw invalidArgument(`query.nft.ports[${i}].protocol`, "must be tcp or udp");
        if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) throw invalidArgument(`query.nft.ports[${i}].port`, "must be a port (1-65535)");
        return item["local"] === true ? { protocol, port, local: true } : { protocol, port };
      });
    }
  }
  if (q["probe"] !== undefined) {
    const p = object(q["probe"], "query.probe");
    const endpointId = p["endpointId"];
    if (typeof endpointId !== "string" || !/^[0-9a-f]{11,64}$/.test(endpointId)) throw invalidArgument("query.probe.endpointId", "must be an endpoint id");
    const proto = p["proto"];
    if (proto !== "tcp" && proto !== "udp" && proto !== "icmp") throw invalidArgument("query.probe.proto", "must be tcp, udp or icmp");
    if (!isIPv4(p["dst"])) throw invalidArgument("query.probe.dst", "must be an IPv4 address");
    query.probe = { endpointId, proto, dst: p["dst"] };
    for (const field of ["port", "sourcePort"] as const) {
      const value = p[field];
      if (value === undefined) continue;
      if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 65535) throw invalidArgument(`query.probe.${field}`, "must be a port (1-65535)");
      query.probe[field] = value;
    }
  }
  if (q["traffic"] === true) query.traffic = true;
  return query;
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalidArgument(field, "must be an object");
  return value as Record<string, unknown>;
}

function list(value: unknown, field: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidArgument(field, "must be a list");
  if (value.length > MAX_ITEMS) throw invalidArgument(field, `more than ${MAX_ITEMS} items`);
  return value;
}
