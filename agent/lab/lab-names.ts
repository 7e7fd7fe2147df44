// Every name and address the lab derives from its prefix. One place, so that `lab down` finds
// exactly what `lab up` made, and never what a lab with another prefix made.
import { LabError } from "./lab-error.js";

export const DEFAULT_LAB_PREFIX = "weft";
export const LAB_ROOT_DIR = "/run/weft/lab";

/** The underlay: a /24 that exists only inside the lab's namespaces, never in the root namespace. */
export const UNDERLAY_SUBNET = "10.251.0.0/24";
export const UNDERLAY_GATEWAY_IP = "10.251.0.254";
export const UNDERLAY_BRIDGE = "br0";
export const DEFAULT_UNDERLAY_MTU = 1500;
/** The world: the outside on the underlay, with an HTTP server and a DNS server for WORLD_ZONE. */
export const WORLD_IP = "10.251.0.253";
export const WORLD_PORT_NAME = "world";
export const WORLD_ZONE = "example.test";
export const HOST_UNDERLAY_IF = "ul0";
export const MAX_LAB_HOSTS = 250;

export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
export const GOSSIP_PORT = 7946;
export const METRICS_PORT = 9464;

const PREFIX_PATTERN = /^[a-z][a-z0-9]{0,15}$/;

export function validateLabPrefix(prefix: string): string {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new LabError(
      "prefix",
      `must be 1-16 characters of [a-z0-9] starting with a letter, got ${JSON.stringify(prefix)}`,
    );
  }
  return prefix;
}

export function underlayNetns(prefix: string): string {
  return `${prefix}-ul`;
}

export function worldNetns(prefix: string): string {
  return `${prefix}-world`;
}

export function hostName(index: number): string {
  return `h${index}`;
}

export function hostNetns(prefix: string, index: number): string {
  return `${prefix}-h${index}`;
}

export function containerNetns(prefix: string, hostIndex: number, containerIndex: number): string {
  return `${prefix}-h${hostIndex}-c${containerIndex}`;
}

/** A backend of the lab's `web` service on host `hostIndex`. */
export function webNetns(prefix: string, hostIndex: number): string {
  return `${prefix}-h${hostIndex}-w1`;
}

/** A container of the lab's second network (isolation checks) on host `hostIndex`. */
export function isolatedNetns(prefix: string, hostIndex: number): string {
  return `${prefix}-h${hostIndex}-i1`;
}

export function hostUnderlayIp(index: number): string {
  return `10.251.0.${index}`;
}

/** `h3` -> 3; undefined for anything else. */
export function hostIndexOf(name: string): number | undefined {
  const match = /^h([1-9][0-9]*)$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

export function labDir(prefix: string): string {
  return `${LAB_ROOT_DIR}/${prefix}`;
}

export function labStateFile(prefix: string): string {
  return `${labDir(prefix)}/state.json`;
}

/**
 * True for the namespaces a lab with this prefix makes: exactly `<prefix>-ul`, `<prefix>-world`,
 * `<prefix>-h<n>`, `<prefix>-h<n>-c<m>`, `<prefix>-h<n>-w<m>` and `<prefix>-h<n>-i<m>`. Prefix `weft` does not match `weftab12-h1`.
 */
export function isLabNetns(prefix: string, netns: string): boolean {
  if (!netns.startsWith(`${prefix}-`)) return false;
  const rest = netns.slice(prefix.length + 1);
  return rest === "ul" || rest === "world" || /^h[0-9]+(-[ciw][0-9]+)?$/.test(rest);
}
