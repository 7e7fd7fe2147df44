import { NAME_RULE, invalidArgument, isIPv4, isMac, isMulticastMac, isName, macForAddress } from "../../proto/values/index.js";

/** One endpoint as the gossip table holds it. Records are frozen: share them, never mutate them. */
export interface EndpointRecord {
  network: string;
  endpointId: string;
  /** The node that created the endpoint; only it may change or delete the entry. */
  owner: string;
  /** Per-owner version, strictly increasing across the owner's changes and restarts. */
  version: number;
  tombstone: boolean;
  ip: string;
  mac: string;
  /** Underlay IP of the owner's VTEP. */
  vtep: string;
  name: string;
  /** Further names the embedded DNS answers for this endpoint: sorted, unique, at most MAX_ALIASES. */
  aliases: readonly string[];
  labels: Record<string, string>;
  /** Owner's wall clock when the tombstone was made; 0 for live entries. */
  deletedAtMs: number;
}

/**
 * `${network}/${owner}/${endpointId}`: the owner is part of the key, so no node can occupy another's
 * key. Network and node names contain no '/'.
 */
export type EndpointKey = string;

/** What a local caller announces; the gossip node adds owner, version and tombstone. */
export interface EndpointAnnouncement {
  network: string;
  endpointId: string;
  ip: string;
  mac: string;
  vtep: string;
  name: string;
  /** In any order, repeats allowed: normalizeAnnouncement sorts them and drops repeats. */
  aliases?: readonly string[];
  labels?: Record<string, string>;
}

export function endpointKey(record: { network: string; owner: string; endpointId: string }): EndpointKey {
  return `${record.network}/${record.owner}/${record.endpointId}`;
}

const ENDPOINT_ID_PATTERN = /^[\x21-\x7e]{1,256}$/;
/** Aliases one endpoint may carry. */
export const MAX_ALIASES = 16;
const MAX_LABELS = 64;
const MAX_LABEL_KEY = 253;
const MAX_LABEL_VALUE = 1024;

/**
 * Why a record's fields are unusable, or undefined when they are fine: names follow the one name
 * rule, addresses are IPv4 dotted quads (the data plane is IPv4 only) and the MAC is the one the IP
 * implies (macForAddress), so an entry cannot claim another endpoint's MAC. Every node must see equal
 * bytes, so only canonical forms pass.
 */
export function endpointRecordProblem(record: EndpointRecord): string | undefined {
  if (!isName(record.network)) return "network: not a valid network name";
  if (typeof record.endpointId !== "string" || !ENDPOINT_ID_PATTERN.test(record.endpointId))
    return "endpointId: must be 1-256 printable non-space ASCII characters";
  if (!isName(record.owner)) return "owner: not a valid node name";
  if (!Number.isSafeInteger(record.version) || record.version < 1) return "version: must be a positive safe integer";
  if (record.tombstone) {
    if (record.ip || record.mac || record.vtep || record.name || record.aliases.length > 0 || Object.keys(record.labels).length > 0)
      return "tombstone: must carry no address fields";
    if (!Number.isSafeInteger(record.deletedAtMs) || record.deletedAtMs < 1) return "deletedAtMs: a tombstone needs its deletion time";
    return undefined;
  }
  if (record.deletedAtMs !== 0) return "deletedAtMs: must be 0 on a live entry";
  if (!isIPv4(record.ip)) return `ip: ${JSON.stringify(record.ip)} is not an IPv4 address`;
  if (!isMac(record.mac)) return `mac: ${JSON.stringify(record.mac)} is not a lower-case MAC address`;
  if (isMulticastMac(record.mac)) return `mac: ${record.mac} is a multicast address`;
  if (record.mac !== macForAddress(record.ip)) return `mac: ${record.mac} is not the MAC of ${record.ip} (${macForAddress(record.ip)})`;
  if (!isIPv4(record.vtep)) return `vtep: ${JSON.stringify(record.vtep)} is not an IPv4 address`;
  if (record.name !== "" && !isName(record.name)) return "name: not a valid endpoint name";
  const aliases = aliasesProblem(record.aliases);
  if (aliases !== undefined) return aliases;
  const labels = Object.entries(record.labels);
  if (labels.length > MAX_LABELS) return `labels: more than ${MAX_LABELS}`;
  for (const [key, value] of labels) {
    if (key.length < 1 || key.length > MAX_LABEL_KEY) return `labels: key ${JSON.stringify(key.slice(0, 40))} must be 1-${MAX_LABEL_KEY} characters`;
    if (value.length > MAX_LABEL_VALUE) return `labels.${key.slice(0, 40)}: longer than ${MAX_LABEL_VALUE} characters`;
  }
  return undefined;
}

/** Aliases in their one canonical form: names, strictly increasing (sorted, no repeats), at most MAX_ALIASES. */
function aliasesProblem(aliases: readonly string[]): string | undefined {
  if (!Array.isArray(aliases)) return "aliases: must be a list of names";
  if (aliases.length > MAX_ALIASES) return `aliases: more than ${MAX_ALIASES}`;
  for (let i = 0; i < aliases.length; i++) {
    const alias: unknown = aliases[i];
    if (!isName(alias)) return `aliases: ${JSON.stringify(String(alias).slice(0, 80))} must be ${NAME_RULE}`;
    if (i > 0 && !(aliases[i - 1]! < alias)) return "aliases: must be sorted without repeats";
  }
  return undefined;
}

/**
 * Normalises a caller's announcement (lower-case MAC, aliases sorted without repeats) or throws a
 * WeftError naming the field.
 */
export function normalizeAnnouncement(
  input: EndpointAnnouncement,
): EndpointAnnouncement & { aliases: readonly string[]; labels: Record<string, string> } {
  const aliases = input.aliases ?? [];
  if (!Array.isArray(aliases)) throw invalidArgument("aliases", "must be a list of names");
  const normalized = {
    network: input.network,
    endpointId: input.endpointId,
    ip: input.ip,
    mac: typeof input.mac === "string" ? input.mac.toLowerCase() : "",
    vtep: input.vtep,
    name: input.name ?? "",
    // Checked as names before sorting, so the error names the bad alias rather than the order.
    aliases: aliases.every(isName) ? [...new Set(aliases)].sort() : [...aliases],
    labels: { ...(input.labels ?? {}) },
  };
  const problem = endpointRecordProblem({ ...normalized, owner: "self", version: 1, tombstone: false, deletedAtMs: 0 });
  if (problem !== undefined) {
    const colon = problem.indexOf(":");
    throw invalidArgument(problem.slice(0, colon), problem.slice(colon + 2));
  }
  return normalized;
}

export function freezeRecord(record: EndpointRecord): EndpointRecord {
  Object.freeze(record.labels);
  Object.freeze(record.aliases);
  return Object.freeze(record);
}
