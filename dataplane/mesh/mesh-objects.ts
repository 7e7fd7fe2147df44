// The service mesh as objects of weft's table. Pure. Dispatch is by lookups only: a VIP by
// `iifname . ip daddr` (a VIP answers only on its own network's bridge), a published port by
// `meta l4proto . th dport` on any local address; both jump to the service's chain, which picks the
// backend from the service's Maglev table with jhash (the same on every node). So the rules of the base
// chains are fixed, and each service adds one map and one chain per VIP or published port, whatever
// its number of backends. Changes of backends touch only map elements (written incrementally).
//
// Marks: the service chains tag the connection (ct mark bit MESH_CONNECTION_MARK) so that postrouting
// and the conntrack clean-up know the mesh's connections (forward accepts every DNATed one, see
// render-firewall.ts), and tag the packet (MESH_MASQUERADE_MARK) when the client is a
// container (or always for UDP published in ingress mode, see serviceChain); postrouting adds the bit
// when the chosen backend is on another host, then CLEARS it and
// masquerades: the VXLAN device reuses the packet with its mark, so a bit left set would NAT the outer
// packet too (kubernetes PR #92035). An outside client keeps its address when the backend is local.
//
// No backend: a filter chain at dstnat - 10 (before NAT) counts and rejects new connections at once,
// TCP with a reset, UDP with ICMP port unreachable.
import type { NftChain, NftElements, NftObject, NftSet } from "../nftables/nft-table.js";
import type { ValidMesh } from "./mesh-validation.js";
import type { DesiredService, MeshProtocol } from "./mesh-state.js";

export const MESH_CONNECTION_MARK = 0x01000000;
export const MESH_MASQUERADE_MARK = 0x02000000;
export const MESH_NO_BACKEND_COUNTER = "mesh_no_backend";

const hex = (value: number): string => `0x${value.toString(16).padStart(8, "0")}`;
const CONNECTION = hex(MESH_CONNECTION_MARK);
const MASQUERADE = hex(MESH_MASQUERADE_MARK);
const KEEP_OTHER_BITS = hex(~MESH_MASQUERADE_MARK >>> 0);

const backendsMap = (service: string): string => `mesh_backends_${service}`;
const localBackendsMap = (service: string): string => `mesh_local_${service}`;
const vipChain = (service: string): string => `mesh_vip_${service}`;
const portChain = (protocol: MeshProtocol, published: number): string => `mesh_port_${protocol}_${published}`;

export interface MeshContext {
  /** Overlay subnets and the egress subnet: a client from there is a container, and is masqueraded. */
  clientSubnets: string[];
  /** The firewall part's set of internal networks' subnets: they reach no published port. */
  internalSubnetsSet: string;
}

/** The mesh's objects, fixed ones first (base chains, the counter), then the per-service ones. */
export function meshObjects(mesh: ValidMesh, context: MeshContext): NftObject[] {
  const vips = new Map<string, string>();
  const vipFilter = new Map<string, string>();
  const ports = new Map<string, string>();
  const refusedPorts = new Map<string, undefined>();
  const localBackends = new Map<string, undefined>();
  const perService: NftObject[] = [];
  for (const service of mesh.services) {
    for (const backend of service.backends) if (backend.local) localBackends.set(backend.ip, undefined);
    const live = service.table.length > 0;
    const usesTable = service.vip !== undefined || service.ports.some((p) => p.publishMode === "ingress");
    if (live && usesTable) perService.push(backendMap(backendsMap(service.name), service, service.table));
    if (service.localTable.length > 0 && service.ports.some((p) => p.publishMode === "local")) {
      perService.push(backendMap(localBackendsMap(service.name), service, service.localTable));
    }
    if (service.vip !== undefined) {
      const key = `"${service.bridge}" . ${service.vip}`;
      if (live) {
        vips.set(key, `goto ${vipChain(service.name)}`);
        vipFilter.set(key, "accept");
        perService.push(serviceChain(vipChain(service.name), service, backendsMap(service.name), service.table.length));
      } else {
        vipFilter.set(key, "goto mesh_refuse");
      }
    }
    for (const port of service.ports) {
      const key = `${port.protocol} . ${port.published}`;
      const local = port.publishMode === "local";
      const size = local ? service.localTable.length : service.table.length;
      if (size === 0) {
        refusedPorts.set(key, undefined);
        continue;
      }
      const chain = portChain(port.protocol, port.published);
      ports.set(key, `goto ${chain}`);
      perService.push(serviceChain(chain, service, local ? localBackendsMap(service.name) : backendsMap(service.name), size, port));
    }
  }
  const internal = context.internalSubnetsSet;
  return [
    { kind: "counter", name: MESH_NO_BACKEND_COUNTER, incremental: false },
    set("set", "mesh_client_subnets", ["type ipv4_addr", "flags interval", "auto-merge"], new Map(context.clientSubnets.map((s) => [s, undefined])), false),
    { ...set("set", "mesh_local_backends", ["type ipv4_addr"], sorted(localBackends), true), addressSet: true },
    set("map", "mesh_vips", ["typeof iifname . ip daddr : verdict"], sorted(vips), true),
    set("map", "mesh_vip_filter", ["typeof iifname . ip daddr : verdict"], sorted(vipFilter), true),
    set("map", "mesh_ports", ["typeof meta l4proto . th dport : verdict"], sorted(ports), true),
    set("set", "mesh_refused_ports", ["typeof meta l4proto . th dport"], sorted(refusedPorts), true),
    chain("mesh_filter", "type filter hook prerouting priority dstnat - 10; policy accept;", [
      "meta l4proto { tcp, udp } iifname . ip daddr vmap @mesh_vip_filter",
      `fib daddr type local ip saddr != @${internal} meta l4proto . th dport @mesh_refused_ports goto mesh_refuse`,
    ]),
    chain("mesh_refuse", undefined, [
      "ct state != new return",
      `counter name "${MESH_NO_BACKEND_COUNTER}"`,
      "meta l4proto tcp reject with tcp reset",
      "reject",
    ]),
    chain("mesh_dnat", "type nat hook prerouting priority dstnat; policy accept;", [
      "meta l4proto { tcp, udp } iifname . ip daddr vmap @mesh_vips",
      `ip saddr @${internal} return`,
      "meta nfproto ipv4 fib daddr type local meta l4proto . th dport vmap @mesh_ports",
    ]),
    // This host's own processes reach published ports too (not by loopback: that would need route_localnet).
    chain("mesh_output", "type nat hook output priority -100; policy accept;", [
      "ip daddr != 127.0.0.0/8 fib daddr type local meta l4proto . th dport vmap @mesh_ports",
    ]),
    chain("mesh_masquerade", "type nat hook postrouting priority srcnat; policy accept;", [
      `ct mark & ${CONNECTION} == ${CONNECTION} ip daddr != @mesh_local_backends meta mark set meta mark | ${MASQUERADE}`,
      `ct mark & ${CONNECTION} == ${CONNECTION} fib saddr type local meta mark set meta mark | ${MASQUERADE}`,
      `meta mark & ${MASQUERADE} == 0x00000000 return`,
      `meta mark set meta mark & ${KEEP_OTHER_BITS}`,
      // Not fully-random: keeping the client's source port where it is free keeps the client's own
      // port allocation, which walks its range before reusing a port. Random ports reuse one within
      // milliseconds; a backend that closed the earlier connection holds it in TIME_WAIT and refuses a
      // SYN whose timestamp is not newer, costing the client a 1 s SYN retransmit (measured: ~2% of
      // connections at 5,000/s, new connections/s through the mesh down to a third).
      "masquerade",
    ]),
    ...perService,
  ];
}

/** Every backend IP of every service: those that disappear get their conntrack entries deleted. */
export function meshBackendIps(mesh: ValidMesh): Set<string> {
  const ips = new Set<string>();
  for (const service of mesh.services) for (const backend of service.backends) ips.add(backend.ip);
  return ips;
}

function serviceChain(name: string, service: DesiredService, map: string, size: number, port?: { protocol: MeshProtocol; target: number; publishMode: "ingress" | "local" }): NftChain {
  const key = service.affinity === "client-ip" ? "ip saddr" : "ip saddr . th sport";
  const pick = `jhash ${key} mod ${size} seed 0x${service.hashSeed.toString(16)} map @${map}`;
  // A UDP server bound to 0.0.0.0 answers from the address of its default route (its gateway-bridge
  // leg), which conntrack cannot match to the flow: so UDP keeps the client's address only where the
  // user asked for it (mode local) and the backend must answer from the address it was reached at.
  const alwaysMasquerade = port?.protocol === "udp" && port.publishMode === "ingress";
  return chain(name, undefined, [
    `ct mark set ct mark | ${CONNECTION}`,
    alwaysMasquerade ? `meta mark set meta mark | ${MASQUERADE}` : `ip saddr @mesh_client_subnets meta mark set meta mark | ${MASQUERADE}`,
    // Written as nft lists it back (the port's protocol folded into the hash key), so listings compare.
    port === undefined
      ? `dnat ip to ${pick}`
      : service.affinity === "client-ip"
        ? `meta l4proto ${port.protocol} dnat ip to ${pick}:${port.target}`
        : `dnat ip to ${pick.replace("th sport", `${port.protocol} sport`)}:${port.target}`,
  ], true);
}

function backendMap(name: string, service: DesiredService, table: readonly number[]): NftSet {
  const ips = service.backends.map((b) => b.ip);
  const slots = new Array<string>(table.length);
  for (let slot = 0; slot < table.length; slot++) slots[slot] = ips[table[slot]!]!;
  return set("map", name, ["typeof numgen inc mod 2 : ip daddr"], slots, true);
}

function set(kind: "set" | "map", name: string, declaration: string[], elements: NftElements, incremental: boolean): NftSet {
  return { kind, name, declaration, elements, incremental };
}

function chain(name: string, hook: string | undefined, rules: string[], incremental = false): NftChain {
  return { kind: "chain", name, ...(hook === undefined ? {} : { hook }), rules, incremental };
}

function sorted<V>(map: Map<string, V>): Map<string, V> {
  return new Map([...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
