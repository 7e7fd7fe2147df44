// Validation of the mesh part: every value that reaches nft text is checked here, and a bad one is
// refused whole with a WeftError naming the field (the table is then left as it was, never half-written).
import { cidrContainsCidr, invalidArgument, isIPv4, parseIPv4, parseInterfaceName, parseName, type IPv4Cidr } from "../../proto/values/index.js";
import type { DesiredMesh, DesiredService, MeshProtocol } from "./mesh-state.js";

/** The largest Maglev table weft writes (controlplane's biggest tier is 65521). */
export const MAX_TABLE_SIZE = 65537;
/** VXLAN's own port: publishing it would swallow the overlay. */
const VXLAN_UDP_PORT = 4789;

export interface MeshNetwork {
  bridge: string;
  subnet: IPv4Cidr;
}

export interface ValidMesh {
  services: DesiredService[];
}

/** Checks the mesh against the networks of the firewall part; throws a WeftError naming the field. */
export function validateMesh(mesh: DesiredMesh, networks: readonly MeshNetwork[]): ValidMesh {
  if (typeof mesh !== "object" || mesh === null) throw invalidArgument("mesh", "must be an object with services");
  if (!Array.isArray(mesh.services)) throw invalidArgument("mesh.services", "must be a list");
  const byBridge = new Map(networks.map((n) => [n.bridge, n]));
  const names = new Set<string>();
  const vips = new Set<string>();
  const published = new Map<string, string>();
  const services = mesh.services.map((service, i) => {
    const field = `mesh.services[${i}]`;
    const valid = validateService(service, field, byBridge);
    if (names.has(valid.name)) throw invalidArgument(`${field}.name`, `${valid.name} appears twice`);
    names.add(valid.name);
    if (valid.vip !== undefined) {
      const key = `${valid.bridge} ${valid.vip}`;
      if (vips.has(key)) throw invalidArgument(`${field}.vip`, `${valid.vip} is already another service's VIP`);
      vips.add(key);
    }
    valid.ports.forEach((port, j) => {
      const key = `${port.protocol}/${port.published}`;
      const holder = published.get(key);
      if (holder !== undefined) throw invalidArgument(`${field}.ports[${j}].published`, `${key} is already published by ${holder}`);
      published.set(key, valid.name);
    });
    return valid;
  });
  services.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { services };
}

function validateService(s: DesiredService, field: string, networks: ReadonlyMap<string, MeshNetwork>): DesiredService {
  if (typeof s !== "object" || s === null) throw invalidArgument(field, "must be an object");
  const name = parseName(s.name, `${field}.name`);
  const bridge = parseInterfaceName(s.bridge, `${field}.bridge`);
  const network = networks.get(bridge);
  if (network === undefined) throw invalidArgument(`${field}.bridge`, `${bridge} is not the bridge of a network in the firewall part`);
  if (s.vip !== undefined) {
    if (!isIPv4(s.vip)) throw invalidArgument(`${field}.vip`, `${JSON.stringify(s.vip)} is not an IPv4 address`);
    if (!cidrContainsCidr(network.subnet, { base: parseIPv4(s.vip), prefix: 32 })) throw invalidArgument(`${field}.vip`, `${s.vip} is outside its network`);
  }
  if (s.affinity !== "none" && s.affinity !== "client-ip") throw invalidArgument(`${field}.affinity`, `${JSON.stringify(s.affinity)} is not none or client-ip`);
  if (!Number.isInteger(s.hashSeed) || s.hashSeed < 0 || s.hashSeed > 0xffffffff) throw invalidArgument(`${field}.hashSeed`, `${String(s.hashSeed)} is not a 32-bit unsigned integer`);
  if (!Array.isArray(s.backends)) throw invalidArgument(`${field}.backends`, "must be a list");
  const ips = new Set<string>();
  const backends = s.backends.map((b, j) => {
    const at = `${field}.backends[${j}]`;
    if (!isIPv4(b?.ip)) throw invalidArgument(`${at}.ip`, `${JSON.stringify(b?.ip)} is not an IPv4 address`);
    if (ips.has(b.ip)) throw invalidArgument(`${at}.ip`, `${b.ip} appears twice`);
    ips.add(b.ip);
    if (typeof b.local !== "boolean") throw invalidArgument(`${at}.local`, "must be true or false");
    return { ip: b.ip, local: b.local };
  });
  const table = validateTable(s.table, `${field}.table`, backends, () => true);
  const localTable = validateTable(s.localTable, `${field}.localTable`, backends, (b) => b.local);
  if (!Array.isArray(s.ports)) throw invalidArgument(`${field}.ports`, "must be a list");
  const ports = s.ports.map((p, j) => {
    const at = `${field}.ports[${j}]`;
    if (typeof p !== "object" || p === null) throw invalidArgument(at, "must be an object");
    const protocol: MeshProtocol = p.protocol;
    if (protocol !== "tcp" && protocol !== "udp") throw invalidArgument(`${at}.protocol`, `${JSON.stringify(protocol)} is not tcp or udp`);
    if (!isPort(p.published)) throw invalidArgument(`${at}.published`, `${String(p.published)} is not a port (1-65535)`);
    if (protocol === "udp" && p.published === VXLAN_UDP_PORT) throw invalidArgument(`${at}.published`, `udp ${VXLAN_UDP_PORT} carries the overlay (VXLAN)`);
    if (!isPort(p.target)) throw invalidArgument(`${at}.target`, `${String(p.target)} is not a port (1-65535)`);
    if (p.publishMode !== "ingress" && p.publishMode !== "local") throw invalidArgument(`${at}.publishMode`, `${JSON.stringify(p.publishMode)} is not ingress or local`);
    return { protocol, published: p.published, target: p.target, publishMode: p.publishMode };
  });
  return { name, bridge, ...(s.vip === undefined ? {} : { vip: s.vip }), affinity: s.affinity, hashSeed: s.hashSeed, backends, table, localTable, ports };
}

/** A Maglev table: [] exactly when no backend qualifies, else every slot indexes a qualifying backend. */
function validateTable(table: unknown, field: string, backends: ReadonlyArray<{ ip: string; local: boolean }>, qualifies: (b: { local: boolean }) => boolean): number[] {
  if (!Array.isArray(table)) throw invalidArgument(field, "must be a list");
  const any = backends.some(qualifies);
  if (!any && table.length > 0) throw invalidArgument(field, "must be empty when no backend qualifies");
  if (any && table.length === 0) throw invalidArgument(field, "must not be empty while backends qualify");
  if (table.length > MAX_TABLE_SIZE) throw invalidArgument(field, `has ${table.length} slots, more than ${MAX_TABLE_SIZE}`);
  for (let slot = 0; slot < table.length; slot++) {
    const index: unknown = table[slot];
    if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= backends.length || !qualifies(backends[index as number]!)) {
      throw invalidArgument(`${field}[${slot}]`, `${String(index)} is not the index of a backend it may use`);
    }
  }
  return table as number[];
}

function isPort(port: unknown): port is number {
  return Number.isInteger(port) && (port as number) >= 1 && (port as number) <= 65535;
}
