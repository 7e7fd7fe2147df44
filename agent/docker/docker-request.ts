// The libnetwork remote driver's requests (docs/remote.md, drivers/remote/api), parsed and checked
// before anything is done, so a bad request leaves nothing behind. Errors name Docker's field.
import { invalidArgument, isIPv4, isName, parseIPv4Cidr, formatIPv4Cidr, printable } from "../../proto/values/index.js";

/** Docker's network and endpoint ids: 64 lower-case hex digits. */
const DOCKER_ID = /^[0-9a-f]{64}$/;
const GENERIC_OPTIONS = "com.docker.network.generic";
/** `docker network create -o weft.network=NAME`: use this existing weft network. */
export const NETWORK_OPTION = "weft.network";
const KNOWN_OPTIONS: readonly string[] = [NETWORK_OPTION];

export interface CreateNetworkRequest {
  networkId: string;
  /** The weft network named by `-o weft.network`, else undefined (one is created for the subnet). */
  weftNetwork?: string;
  /** Docker's IPv4 pool (`--subnet`, or the one Docker's IPAM picked), canonical CIDR. */
  subnet?: string;
  /** The IPAM driver's address space (weft's IPAM answers "weft"). */
  addressSpace?: string;
}

export interface EndpointRequest {
  networkId: string;
  endpointId: string;
}

export interface JoinRequest extends EndpointRequest {
  sandboxKey: string;
}

function object(body: unknown, field: string): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw invalidArgument(field, "must be a JSON object");
  return body as Record<string, unknown>;
}

export function parseDockerId(value: unknown, field: string): string {
  if (typeof value !== "string" || !DOCKER_ID.test(value)) throw invalidArgument(field, `${JSON.stringify(printable(String(value)))} is not a Docker id (64 hex digits)`);
  return value;
}

export function parseCreateNetwork(body: unknown): CreateNetworkRequest {
  const request = object(body, "request");
  const networkId = parseDockerId(request["NetworkID"], "NetworkID");
  const options = request["Options"] === undefined || request["Options"] === null ? {} : object(request["Options"], "Options");
  const generic = options[GENERIC_OPTIONS] === undefined || options[GENERIC_OPTIONS] === null ? {} : object(options[GENERIC_OPTIONS], `Options.${GENERIC_OPTIONS}`);
  for (const key of Object.keys(generic)) {
    if (key.startsWith("weft.") && !KNOWN_OPTIONS.includes(key)) throw invalidArgument(`Options.${printable(key)}`, `unknown weft option (known: ${KNOWN_OPTIONS.join(", ")})`);
  }
  const named = generic[NETWORK_OPTION];
  if (named !== undefined && !isName(named)) throw invalidArgument(`Options.${NETWORK_OPTION}`, `${JSON.stringify(printable(String(named)))} is not a weft network name`);
  const ipv6 = request["IPv6Data"];
  if (Array.isArray(ipv6) && ipv6.length > 0) throw invalidArgument("IPv6Data", "weft networks are IPv4 only (leave out --ipv6)");
  const ipv4 = request["IPv4Data"] ?? [];
  if (!Array.isArray(ipv4)) throw invalidArgument("IPv4Data", "must be a list");
  if (ipv4.length > 1) throw invalidArgument("IPv4Data", "a weft network has one subnet; give one --subnet");
  let subnet: string | undefined;
  let addressSpace: string | undefined;
  if (ipv4[0] !== undefined) {
    const data = object(ipv4[0], "IPv4Data[0]");
    const pool = data["Pool"];
    if (typeof pool !== "string") throw invalidArgument("IPv4Data[0].Pool", "is required");
    subnet = formatIPv4Cidr(parseIPv4Cidr(pool, "IPv4Data[0].Pool", { canonical: true }));
    if (typeof data["AddressSpace"] === "string") addressSpace = data["AddressSpace"];
  }
  if (named === undefined && subnet === undefined) throw invalidArgument("IPv4Data", `give --subnet, or -o ${NETWORK_OPTION}=NAME for an existing weft network`);
  return { networkId, ...(named !== undefined ? { weftNetwork: named } : {}), ...(subnet !== undefined ? { subnet } : {}), ...(addressSpace !== undefined ? { addressSpace } : {}) };
}

export function parseNetworkId(body: unknown): string {
  return parseDockerId(object(body, "request")["NetworkID"], "NetworkID");
}

export function parseEndpoint(body: unknown): EndpointRequest {
  const request = object(body, "request");
  return { networkId: parseDockerId(request["NetworkID"], "NetworkID"), endpointId: parseDockerId(request["EndpointID"], "EndpointID") };
}

/** CreateEndpoint: the endpoint, and the IPv4 address Docker's IPAM gave it (Interface.Address), if any. */
export function parseCreateEndpoint(body: unknown): EndpointRequest & { address?: string } {
  const endpoint = parseEndpoint(body);
  const request = object(body, "request");
  const iface = request["Interface"] === undefined || request["Interface"] === null ? {} : object(request["Interface"], "Interface");
  const address = iface["Address"];
  if (address === undefined || address === null || address === "") return endpoint;
  if (typeof address !== "string") throw invalidArgument("Interface.Address", "must be an address in CIDR form");
  const ip = /^([0-9.]+)\/\d{1,2}$/.exec(address)?.[1];
  if (ip === undefined || !isIPv4(ip)) throw invalidArgument("Interface.Address", `${JSON.stringify(printable(address).slice(0, 80))} is not an IPv4 address in CIDR form`);
  return { ...endpoint, address: ip };
}

export function parseJoin(body: unknown): JoinRequest {
  const endpoint = parseEndpoint(body);
  const sandboxKey = object(body, "request")["SandboxKey"];
  if (typeof sandboxKey !== "string" || !sandboxKey.startsWith("/")) throw invalidArgument("SandboxKey", "must be the sandbox's namespace path");
  return { ...endpoint, sandboxKey };
}
