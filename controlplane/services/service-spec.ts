// What a user asks for when creating a service, its validation, and the parsers of the CLI's
// `--publish` and `--selector` texts (pure; the one parser per concept every layer uses).
import { invalidArgument as invalid, parseName } from "../../proto/values/index.js";
import { validateLabels } from "../network-spec.js";

export type ServiceMode = "vip" | "dnsrr";
export type ServiceAffinity = "none" | "client-ip";
export type PortProtocol = "tcp" | "udp";
/** ingress: every node forwards to backends on any node; local: each node only to its own backends. */
export type PublishMode = "ingress" | "local";

/** A published port: PUBLISHED on every node's underlay address reaches TARGET on a backend. */
export interface ServicePort {
  protocol: PortProtocol;
  /** 1-65535 */
  published: number;
  /** 1-65535 */
  target: number;
  publishMode: PublishMode;
}

/** What a user asks for (`weft service create`). */
export interface ServiceSpec {
  name: string;
  network: string;
  /** At least one key; an endpoint matches when it carries every key with the same value. */
  selector: Record<string, string>;
  ports?: ServicePort[];
  /** Default vip. */
  mode?: ServiceMode;
  /** Default none. */
  affinity?: ServiceAffinity;
}

/** A spec with its defaults filled in; ports in the order given (errors name them by that index). */
export interface ValidServiceSpec {
  name: string;
  network: string;
  selector: Record<string, string>;
  ports: ServicePort[];
  mode: ServiceMode;
  affinity: ServiceAffinity;
}

export const SERVICE_MODES: readonly ServiceMode[] = ["vip", "dnsrr"];
export const SERVICE_AFFINITIES: readonly ServiceAffinity[] = ["none", "client-ip"];
export const PORT_PROTOCOLS: readonly PortProtocol[] = ["tcp", "udp"];
export const PUBLISH_MODES: readonly PublishMode[] = ["ingress", "local"];
/** Keeps a service's create transaction under etcd's default limit of 128 operations. */
export const MAX_SERVICE_PORTS = 100;
/** The gossip limits on an endpoint's labels: a selector beyond them could never match. */
const MAX_SELECTOR_KEYS = 64;
const MAX_SELECTOR_VALUE = 1024;

export function validateServiceSpec(spec: ServiceSpec): ValidServiceSpec {
  if (typeof spec !== "object" || spec === null) throw invalid("spec", "must be an object");
  const name = parseName(spec.name, "name");
  const network = parseName(spec.network, "network");
  const selector = validateSelector(spec.selector, "selector");
  const ports = validatePorts(spec.ports);
  const mode = oneOf(spec.mode ?? "vip", SERVICE_MODES, "mode");
  const affinity = oneOf(spec.affinity ?? "none", SERVICE_AFFINITIES, "affinity");
  return { name, network, selector, ports, mode, affinity };
}

/** A selector: at least one key, keys and values as endpoint labels allow. */
export function validateSelector(selector: unknown, field: string): Record<string, string> {
  if (selector === undefined) throw invalid(field, "is required: at least one KEY=VALUE");
  const valid = validateLabels(selector, field);
  const keys = Object.keys(valid);
  if (keys.length === 0) throw invalid(field, "needs at least one KEY=VALUE");
  if (keys.length > MAX_SELECTOR_KEYS) throw invalid(field, `has more than ${MAX_SELECTOR_KEYS} keys`);
  for (const key of keys) {
    if (valid[key]!.length > MAX_SELECTOR_VALUE) throw invalid(`${field}.${key}`, `longer than ${MAX_SELECTOR_VALUE} characters`);
  }
  return valid;
}

/**
 * Ports the cluster itself uses on every node's addresses, which a published port would capture: the
 * mesh DNATs PUBLISHED on every local address of every node.
 */
const RESERVED_PORTS: ReadonlyMap<string, string> = new Map([
  ["4789/udp", "VXLAN's port"],
  ["7946/tcp", "weft's gossip port"],
  ["2379/tcp", "etcd's client port"],
  ["2380/tcp", "etcd's peer port"],
]);

function validatePorts(ports: unknown): ServicePort[] {
  if (ports === undefined) return [];
  if (!Array.isArray(ports)) throw invalid("ports", "must be a list");
  if (ports.length > MAX_SERVICE_PORTS) throw invalid("ports", `at most ${MAX_SERVICE_PORTS} published ports per service`);
  const seen = new Map<string, number>();
  return ports.map((port: unknown, i): ServicePort => {
    const field = `ports[${i}]`;
    if (typeof port !== "object" || port === null) throw invalid(field, "must be an object");
    const p = port as Partial<Record<keyof ServicePort, unknown>>;
    const valid: ServicePort = {
      protocol: oneOf(p.protocol ?? "tcp", PORT_PROTOCOLS, `${field}.protocol`),
      published: portNumber(p.published, `${field}.published`),
      target: portNumber(p.target, `${field}.target`),
      publishMode: oneOf(p.publishMode ?? "ingress", PUBLISH_MODES, `${field}.publishMode`),
    };
    const key = `${valid.published}/${valid.protocol}`;
    const reserved = RESERVED_PORTS.get(key);
    if (reserved !== undefined) throw invalid(`${field}.published`, `${key} is ${reserved}: publishing it on every node would cut nodes off`);
    const first = seen.get(key);
    if (first !== undefined) throw invalid(`${field}.published`, `${key} is already published by ports[${first}]`);
    seen.set(key, i);
    return valid;
  });
}

function portNumber(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw invalid(field, `${JSON.stringify(value)} must be a port number from 1 to 65535`);
  }
  return value;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    throw invalid(field, `${JSON.stringify(value)} must be one of ${allowed.join(", ")}`);
  }
  return value as T;
}

/**
 * Parses `PUBLISHED:TARGET[/tcp|/udp][,mode=ingress|local]` (the CLI's --publish; default tcp and
 * ingress), e.g. "8080:80", "53:5353/udp", "8443:443/tcp,mode=local".
 */
export function parsePublish(text: string, field: string): ServicePort {
  if (typeof text !== "string") throw invalid(field, `must be a string, got ${typeof text}`);
  const shown = JSON.stringify(text);
  const match = /^([0-9]+):([0-9]+)(?:\/([a-z]+))?(?:,mode=([a-z]+))?$/.exec(text);
  if (!match) throw invalid(field, `${shown} must look like PUBLISHED:TARGET[/tcp|/udp][,mode=ingress|local], e.g. 8080:80`);
  const port = (digits: string, which: string): number => {
    const n = Number(digits);
    if (!/^[1-9][0-9]{0,4}$/.test(digits) || n > 65535) throw invalid(field, `${shown}: ${which} port ${digits} must be from 1 to 65535`);
    return n;
  };
  const published = port(match[1]!, "published");
  const target = port(match[2]!, "target");
  const protocol = match[3] ?? "tcp";
  if (!(PORT_PROTOCOLS as readonly string[]).includes(protocol)) throw invalid(field, `${shown}: protocol must be tcp or udp, not ${protocol}`);
  const publishMode = match[4] ?? "ingress";
  if (!(PUBLISH_MODES as readonly string[]).includes(publishMode)) throw invalid(field, `${shown}: mode must be ingress or local, not ${publishMode}`);
  return { protocol: protocol as PortProtocol, published, target, publishMode: publishMode as PublishMode };
}

/** Parses `KEY=VALUE[,KEY=VALUE...]` (the CLI's --selector); a key given twice is an error. */
export function parseSelector(text: string, field: string): Record<string, string> {
  if (typeof text !== "string") throw invalid(field, `must be a string, got ${typeof text}`);
  if (text === "") throw invalid(field, "needs at least one KEY=VALUE");
  const pairs = new Map<string, string>();
  for (const pair of text.split(",")) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw invalid(field, `${JSON.stringify(pair)} must be KEY=VALUE`);
    const key = pair.slice(0, eq);
    if (pairs.has(key)) throw invalid(field, `key ${JSON.stringify(key)} is given twice`);
    pairs.set(key, pair.slice(eq + 1));
  }
  return validateSelector(Object.fromEntries(pairs), field);
}
