// libnetwork's remote IPAM calls (docs/ipam.md, ipams/remote/api), parsed and checked before anything
// is done. A pool is a weft network: its id names it ("weft/NAME"), so it means the same after any
// restart of weftd or dockerd. Errors name Docker's field.
import { invalidArgument, isIPv4, isName, parseIPv4Cidr, formatIPv4Cidr, printable } from "../../proto/values/index.js";

/** The address space weft's IPAM answers in; the driver knows a weft-IPAM network by it. */
export const WEFT_ADDRESS_SPACE = "weft";
/** `--ipam-opt weft.network=NAME`: the pool is this weft network. */
export const POOL_NETWORK_OPTION = "weft.network";
/** libnetwork's RequestAddressType for a network's gateway (netlabel.Gateway). */
const GATEWAY_REQUEST = "com.docker.network.gateway";
const POOL_ID = /^weft\/([^/]+)$/;

export function poolIdFor(weftNetwork: string): string {
  return `weft/${weftNetwork}`;
}

export interface PoolRequest {
  /** Named by --ipam-opt weft.network. */
  weftNetwork?: string;
  /** --subnet, canonical CIDR. */
  pool?: string;
}

export interface AddressRequest {
  weftNetwork: string;
  /** The preferred address (docker run --ip, --gateway, --aux-address), dotted IPv4. */
  address?: string;
  /** The network's gateway, not an endpoint's address. */
  gateway: boolean;
}

export interface AddressRelease {
  weftNetwork: string;
  address: string;
}

function object(body: unknown, field: string): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw invalidArgument(field, "must be a JSON object");
  return body as Record<string, unknown>;
}

function optionalObject(value: unknown, field: string): Record<string, unknown> {
  return value === undefined || value === null ? {} : object(value, field);
}

/** The weft network a pool id names. */
export function parsePoolId(value: unknown, field = "PoolID"): string {
  const name = typeof value === "string" ? POOL_ID.exec(value)?.[1] : undefined;
  if (name === undefined || !isName(name)) throw invalidArgument(field, `${JSON.stringify(printable(String(value)).slice(0, 80))} is not a weft pool id (weft/NETWORK)`);
  return name;
}

/** An address, bare or in CIDR form as libnetwork sometimes sends it; undefined when empty. */
function parseAddress(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const text = typeof value === "string" ? value.replace(/\/\d{1,2}$/, "") : undefined;
  if (text === undefined || !isIPv4(text)) throw invalidArgument(field, `${JSON.stringify(printable(String(value)).slice(0, 80))} is not an IPv4 address`);
  return text;
}

export function parseRequestPool(body: unknown): PoolRequest {
  const request = object(body, "request");
  if (request["V6"] === true) throw invalidArgument("V6", "weft networks are IPv4 only (leave out --ipv6)");
  const space = request["AddressSpace"];
  if (space !== undefined && space !== "" && space !== WEFT_ADDRESS_SPACE) throw invalidArgument("AddressSpace", `${JSON.stringify(printable(String(space)).slice(0, 80))} is not weft's address space (${WEFT_ADDRESS_SPACE})`);
  const subPool = request["SubPool"];
  if (subPool !== undefined && subPool !== null && subPool !== "") throw invalidArgument("SubPool", "weft hands out addresses from each host's slice of the subnet (leave out --ip-range)");
  const options = optionalObject(request["Options"], "Options");
  const named = options[POOL_NETWORK_OPTION];
  if (named !== undefined && !isName(named)) throw invalidArgument(`Options.${POOL_NETWORK_OPTION}`, `${JSON.stringify(printable(String(named)).slice(0, 80))} is not a weft network name`);
  const poolText = request["Pool"];
  let pool: string | undefined;
  if (poolText !== undefined && poolText !== null && poolText !== "") {
    if (typeof poolText !== "string") throw invalidArgument("Pool", "must be a CIDR");
    pool = formatIPv4Cidr(parseIPv4Cidr(poolText, "Pool", { canonical: true }));
  }
  if (named === undefined && pool === undefined) throw invalidArgument("Pool", `give --subnet (a weft network's subnet), or --ipam-opt ${POOL_NETWORK_OPTION}=NAME`);
  return { ...(named !== undefined ? { weftNetwork: named } : {}), ...(pool !== undefined ? { pool } : {}) };
}

export function parseReleasePool(body: unknown): string {
  return parsePoolId(object(body, "request")["PoolID"]);
}

export function parseRequestAddress(body: unknown): AddressRequest {
  const request = object(body, "request");
  const weftNetwork = parsePoolId(request["PoolID"]);
  const address = parseAddress(request["Address"], "Address");
  const options = optionalObject(request["Options"], "Options");
  const gateway = options["RequestAddressType"] === GATEWAY_REQUEST;
  return { weftNetwork, ...(address !== undefined ? { address } : {}), gateway };
}

export function parseReleaseAddress(body: unknown): AddressRelease {
  const request = object(body, "request");
  const weftNetwork = parsePoolId(request["PoolID"]);
  const address = parseAddress(request["Address"], "Address");
  if (address === undefined) throw invalidArgument("Address", "is required");
  return { weftNetwork, address };
}
