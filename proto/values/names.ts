// Names people give things (nodes, networks, endpoints, aliases, services) and interface names.
//
// One rule for every name: 1-63 characters of ASCII letters, digits, '_', '.' and '-', starting with a
// letter or digit. 63 is a DNS label's limit, so every name can be answered by the embedded DNS, and
// it leaves room in etcd keys. Interface names are the kernel's: at most 15 characters (IFNAMSIZ - 1).
import { WeftError } from "./weft-error.js";

export const NAME_MAX_LENGTH = 63;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const INTERFACE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

export const NAME_RULE = `1-${NAME_MAX_LENGTH} characters of letters, digits, '_', '.', '-', starting with a letter or digit`;

export function isName(text: unknown): text is string {
  return typeof text === "string" && NAME.test(text);
}

/** Returns `text` when it is a valid name, else throws naming `field`. */
export function parseName(text: unknown, field: string): string {
  if (typeof text !== "string") throw new WeftError("invalid-argument", `${field}: must be a string, got ${typeof text}`, { field });
  if (!NAME.test(text)) throw new WeftError("invalid-argument", `${field}: ${JSON.stringify(text)} must be ${NAME_RULE}`, { field });
  return text;
}

export function isInterfaceName(text: unknown): text is string {
  return typeof text === "string" && INTERFACE_NAME.test(text) && text !== "." && text !== "..";
}

export function parseInterfaceName(text: unknown, field: string): string {
  if (!isInterfaceName(text)) {
    throw new WeftError("invalid-argument", `${field}: ${JSON.stringify(text)} is not a valid interface name (1-15 letters, digits, '_', '.', '-')`, { field });
  }
  return text;
}
