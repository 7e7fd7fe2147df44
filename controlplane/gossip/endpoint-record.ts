import ipaddr from "ipaddr.js";

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
  labels: Record<string, string>;
  /** Owner's wall clock when the tombstone was made; 0 for live entries. */
  deletedAtMs: number;
}

/** `${network}/${endpointId}`; network names contain no '/'. */
export type EndpointKey = string;

/** What a local caller announces; the gossip node adds owner, version and tombstone. */
export interface EndpointAnnouncement {
  network: string;
  endpointId: string;
  ip: string;
  mac: string;
  vtep: string;
  name: string;
  labels?: Record<string, string>;
}

export function endpointKey(record: { network: string; endpointId: string }): EndpointKey {
  return `${record.network}/${record.endpointId}`;
}

/** A field of a caller's input that cannot be used, with the reason. */
export class GossipInputError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = "GossipInputError";
  }
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const ENDPOINT_ID_PATTERN = /^[\x21-\x7e]+$/;
const MAC_PATTERN = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const MAX_LABELS = 64;
const MAX_LABEL_KEY = 253;
const MAX_LABEL_VALUE = 1024;

/**
 * Why a record's fields are unusable, or undefined when they are fine. Addresses must be in
 * canonical form (lower-case MAC, ipaddr.js's rendering of the IP) so every node sees equal bytes.
 */
export function endpointRecordProblem(record: EndpointRecord): string | undefined {
  if (!inRange(record.network, 1, 64) || !NAME_PATTERN.test(record.network)) return "network: not a valid network name";
  if (!inRange(record.endpointId, 1, 256) || !ENDPOINT_ID_PATTERN.test(record.endpointId))
    return "endpointId: must be 1-256 printable non-space ASCII characters";
  if (!inRange(record.owner, 1, 253) || !NAME_PATTERN.test(record.owner)) return "owner: not a valid node name";
  if (!Number.isSafeInteger(record.version) || record.version < 1) return "version: must be a positive safe integer";
  if (record.tombstone) {
    if (record.ip || record.mac || record.vtep || record.name || Object.keys(record.labels).length > 0)
      return "tombstone: must carry no address fields";
    if (!Number.isSafeInteger(record.deletedAtMs) || record.deletedAtMs < 1) return "deletedAtMs: a tombstone needs its deletion time";
    return undefined;
  }
  if (record.deletedAtMs !== 0) return "deletedAtMs: must be 0 on a live entry";
  if (!isCanonicalIp(record.ip)) return `ip: ${JSON.stringify(record.ip)} is not a canonical IP address`;
  if (!MAC_PATTERN.test(record.mac)) return `mac: ${JSON.stringify(record.mac)} is not a lower-case MAC address`;
  if ((parseInt(record.mac.slice(0, 2), 16) & 1) === 1) return `mac: ${record.mac} is a multicast address`;
  if (!isCanonicalIp(record.vtep)) return `vtep: ${JSON.stringify(record.vtep)} is not a canonical IP address`;
  if (record.name.length > 253) return "name: longer than 253 characters";
  const labels = Object.entries(record.labels);
  if (labels.length > MAX_LABELS) return `labels: more than ${MAX_LABELS}`;
  for (const [key, value] of labels) {
    if (!inRange(key, 1, MAX_LABEL_KEY)) return `labels: key ${JSON.stringify(key.slice(0, 40))} must be 1-${MAX_LABEL_KEY} characters`;
    if (value.length > MAX_LABEL_VALUE) return `labels.${key}: longer than ${MAX_LABEL_VALUE} characters`;
  }
  return undefined;
}

/** Normalises a caller's announcement (lower-case MAC, canonical IPs) or throws naming the field. */
export function normalizeAnnouncement(input: EndpointAnnouncement): EndpointAnnouncement & { labels: Record<string, string> } {
  const ip = canonicalIp(input.ip, "ip");
  const vtep = canonicalIp(input.vtep, "vtep");
  const mac = typeof input.mac === "string" ? input.mac.toLowerCase() : "";
  const normalized = {
    network: input.network,
    endpointId: input.endpointId,
    ip,
    mac,
    vtep,
    name: input.name ?? "",
    labels: { ...(input.labels ?? {}) },
  };
  const problem = endpointRecordProblem({ ...normalized, owner: "self", version: 1, tombstone: false, deletedAtMs: 0 });
  if (problem !== undefined) {
    const colon = problem.indexOf(":");
    throw new GossipInputError(problem.slice(0, colon), problem.slice(colon + 2));
  }
  return normalized;
}

export function freezeRecord(record: EndpointRecord): EndpointRecord {
  Object.freeze(record.labels);
  return Object.freeze(record);
}

function canonicalIp(value: unknown, field: string): string {
  if (typeof value !== "string" || !isPlainIp(value))
    throw new GossipInputError(field, `${JSON.stringify(value)} is not an IP address`);
  return ipaddr.parse(value).toString();
}

function isCanonicalIp(value: string): boolean {
  return isPlainIp(value) && ipaddr.parse(value).toString() === value;
}

// Dotted-quad IPv4 or IPv6 without a zone; ipaddr.js alone would also take "10" or "0x0a.1".
function isPlainIp(value: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(value) || (ipaddr.IPv6.isValid(value) && !value.includes("%"));
}

function inRange(value: string, min: number, max: number): boolean {
  return typeof value === "string" && value.length >= min && value.length <= max;
}
