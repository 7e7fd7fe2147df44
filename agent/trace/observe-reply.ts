// A peer's reply to an observation query, checked before the analysis reads it: a peer's bytes are
// foreign input, so every list and number the analysis touches is given its expected shape here.
import type { HostSnapshot, LinkSnapshot, NamespaceSnapshot } from "../../dataplane/inspect/index.js";
import { invalidArgument } from "../../proto/values/index.js";
import type { ObserveReply } from "./observe-query.js";
import type { LinkTraffic } from "./trace-report.js";

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): Json[] => (Array.isArray(v) ? v.map(obj) : []);
const str = (v: unknown): string => (typeof v === "string" ? v : "");
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

export function parseObserveReply(bytes: Uint8Array): ObserveReply {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    throw invalidArgument("observation", "is not JSON");
  }
  const r = obj(raw);
  const reply: ObserveReply = {};
  if (typeof r["error"] === "string") reply.error = r["error"].slice(0, 500);
  if (r["snapshot"] !== undefined) reply.snapshot = snapshot(obj(r["snapshot"]));
  if (r["probe"] !== undefined) {
    const p = obj(r["probe"]);
    reply.probe = { sent: p["sent"] === true, answered: p["answered"] === true, detail: str(p["detail"]).slice(0, 500) };
  }
  if (r["traffic"] !== undefined) reply.traffic = arr(r["traffic"]).map(traffic);
  return reply;
}

function link(l: Json): LinkSnapshot {
  const c = obj(l["counters"]);
  const out: LinkSnapshot = {
    name: str(l["name"]),
    up: l["up"] === true,
    operstate: str(l["operstate"]),
    mtu: num(l["mtu"]),
    mac: str(l["mac"]),
    counters: { rxBytes: num(c["rxBytes"]), rxPackets: num(c["rxPackets"]), txBytes: num(c["txBytes"]), txPackets: num(c["txPackets"]), rxDropped: num(c["rxDropped"]), txDropped: num(c["txDropped"]) },
  };
  if (typeof l["master"] === "string") out.master = l["master"];
  return out;
}

function snapshot(s: Json): HostSnapshot {
  const namespaces: Record<string, NamespaceSnapshot> = {};
  for (const [id, value] of Object.entries(obj(s["namespaces"]))) {
    const ns = obj(value);
    const entry: NamespaceSnapshot = {};
    if (typeof ns["netns"] === "string") entry.netns = ns["netns"].slice(0, 256);
    if (ns["link"] !== undefined) entry.link = link(obj(ns["link"]));
    if (ns["routeLink"] !== undefined) entry.routeLink = link(obj(ns["routeLink"]));
    if (ns["route"] !== undefined) {
      const r = obj(ns["route"]);
      entry.route = { dst: str(r["dst"]), dev: str(r["dev"]), ...(typeof r["gateway"] === "string" ? { gateway: r["gateway"] } : {}), ...(typeof r["prefsrc"] === "string" ? { prefsrc: r["prefsrc"] } : {}) };
    }
    if (typeof ns["error"] === "string") entry.error = ns["error"].slice(0, 500);
    namespaces[id] = entry;
  }
  const out: HostSnapshot = {
    host: str(s["host"]),
    readAtMs: num(s["readAtMs"]),
    links: arr(s["links"]).map(link),
    fdb: arr(s["fdb"]).map((e) => ({ device: str(e["device"]), mac: str(e["mac"]), dst: str(e["dst"]), state: str(e["state"]) })),
    neighbours: arr(s["neighbours"]).map((n) => ({ device: str(n["device"]), ip: str(n["ip"]), ...(typeof n["mac"] === "string" ? { mac: n["mac"] } : {}), state: Array.isArray(n["state"]) ? n["state"].map(str) : [] })),
    routes: arr(s["routes"]).map((r) => ({ dst: str(r["dst"]), dev: str(r["dev"]), ...(typeof r["gateway"] === "string" ? { gateway: r["gateway"] } : {}) })),
    namespaces,
    errors: (Array.isArray(s["errors"]) ? s["errors"] : []).map(str),
  };
  if (s["nft"] !== undefined) {
    const n = obj(s["nft"]);
    out.nft = {
      table: n["table"] === true,
      counters: arr(n["counters"]).map((c) => ({ name: str(c["name"]), packets: num(c["packets"]), bytes: num(c["bytes"]) })),
      maps: arr(n["maps"]).map((m) => ({ name: str(m["name"]), elements: (Array.isArray(m["elements"]) ? m["elements"] : []).filter(Array.isArray).map((e: unknown[]) => [str(e[0]), str(e[1])] as [string, string]) })),
      rules: arr(n["rules"]).map((r) => ({ chain: str(r["chain"]), handle: num(r["handle"]), text: str(r["text"]) })),
    };
  }
  return out;
}

function traffic(l: Json): LinkTraffic {
  const kind = l["kind"] === "endpoint" || l["kind"] === "vxlan" || l["kind"] === "gwbridge" || l["kind"] === "peer" ? l["kind"] : "endpoint";
  const out: LinkTraffic = { host: str(l["host"]), kind, name: str(l["name"]), rxBytes: num(l["rxBytes"]), txBytes: num(l["txBytes"]), rxPackets: num(l["rxPackets"]), txPackets: num(l["txPackets"]) };
  for (const field of ["network", "endpointId", "peer"] as const) if (typeof l[field] === "string") out[field] = l[field];
  return out;
}
