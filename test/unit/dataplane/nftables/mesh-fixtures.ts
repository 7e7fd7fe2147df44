// Desired meshes for the renderer's golden files (golden/mesh-<case>.nft), the differ's tests and the
// e2e tests that apply them.
import type { DesiredFirewall, DesiredMesh, DesiredService } from "../../../../dataplane/index.js";
import { GOLDEN_CASES } from "./firewall-fixtures.js";

/** A toy Maglev-like table: slot i -> the i-th qualifying backend, round robin. */
export function roundRobin(backends: DesiredService["backends"], size: number, qualifies: (b: { local: boolean }) => boolean = () => true): number[] {
  const indexes = backends.flatMap((b, i) => (qualifies(b) ? [i] : []));
  return indexes.length === 0 ? [] : Array.from({ length: size }, (_, slot) => indexes[slot % indexes.length]!);
}

export function service(name: string, backends: DesiredService["backends"], overrides: Partial<DesiredService> = {}): DesiredService {
  return {
    name,
    bridge: "weft-br42",
    vip: undefined,
    affinity: "none",
    hashSeed: 0x1234abcd,
    backends,
    table: roundRobin(backends, 7),
    localTable: roundRobin(backends, 7, (b) => b.local),
    ports: [],
    ...overrides,
  };
}

const web = service("web", [
  { ip: "10.40.1.5", local: true },
  { ip: "10.40.2.5", local: false },
  { ip: "10.40.3.5", local: false },
], {
  vip: "10.40.255.1",
  ports: [
    { protocol: "tcp", published: 8080, target: 80, publishMode: "ingress" },
    { protocol: "udp", published: 5300, target: 53, publishMode: "local" },
  ],
});

const empty = service("empty.svc-1", [], { vip: "10.40.255.2", ports: [{ protocol: "tcp", published: 9090, target: 90, publishMode: "ingress" }] });

const sticky = service("sticky", [{ ip: "10.40.2.9", local: false }], {
  affinity: "client-ip",
  hashSeed: 7,
  ports: [
    { protocol: "tcp", published: 7070, target: 70, publishMode: "local" },
    { protocol: "udp", published: 7071, target: 71, publishMode: "ingress" },
  ],
});

export const MESH_GOLDEN_CASES: Readonly<Record<string, { firewall: DesiredFirewall; mesh: DesiredMesh }>> = {
  // A VIP with published ports (ingress and local), a service with no backend (refused), and a
  // client-ip service without VIP whose local-mode port has no local backend (refused too).
  "mesh-services": { firewall: GOLDEN_CASES.egress!, mesh: { services: [web, empty, sticky] } },
};
