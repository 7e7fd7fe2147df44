// The mesh's incremental writes: only the elements and chains a change touches, the whole table when
// the firewall part changed; and the mesh's validation, naming the field of a bad value.
import { describe, expect, it } from "vitest";
import { WeftError } from "../../../../proto/values/index.js";
import { firewallChange, firewallTable, renderFirewall, type DesiredFirewall, type DesiredMesh, type DesiredService } from "../../../../dataplane/index.js";
import { GOLDEN_CASES, firewallNetwork } from "../nftables/firewall-fixtures.js";
import { roundRobin, service } from "../nftables/mesh-fixtures.js";

const FIREWALL = GOLDEN_CASES.egress!;
const backends = (n: number, local = 0): DesiredService["backends"] => Array.from({ length: n }, (_, i) => ({ ip: `10.40.2.${i + 1}`, local: i < local }));
const web = (n: number, overrides: Partial<DesiredService> = {}): DesiredService =>
  service("web", backends(n), { vip: "10.40.255.1", ports: [{ protocol: "tcp", published: 8080, target: 80, publishMode: "ingress" }], ...overrides });
const mesh = (...services: DesiredService[]): DesiredMesh => ({ services });

function change(from: DesiredMesh, to: DesiredMesh, firewall: DesiredFirewall = FIREWALL) {
  return firewallChange(firewallTable(FIREWALL, from), firewallTable(firewall, to));
}

const script = (c: ReturnType<typeof change>): string => (c.kind === "none" ? "" : c.script);

describe("firewallChange", () => {
  it("writes the whole table at start", () => {
    const c = firewallChange(undefined, firewallTable(FIREWALL, mesh(web(3))));
    expect(c.kind).toBe("full");
    expect(script(c)).toBe(renderFirewall(FIREWALL, mesh(web(3))));
  });

  it("writes nothing when nothing changed", () => {
    expect(change(mesh(web(3)), mesh(web(3))).kind).toBe("none");
  });

  it("changes only the moved slots of one service's map when a backend is added", () => {
    const before = web(3);
    const after = web(4);
    const c = change(mesh(before, service("other", backends(2))), mesh(after, service("other", backends(2))));
    expect(c.kind).toBe("incremental");
    const lines = script(c).split("\n").filter((l) => l !== "" && !l.startsWith("#"));
    const moved = before.table.flatMap((b, slot) => (after.table[slot] !== b ? [String(slot)] : []));
    expect(lines).toEqual([
      `delete element inet weft mesh_backends_web { ${moved.join(", ")} }`,
      `add element inet weft mesh_backends_web { ${moved.map((s) => `${s} : 10.40.2.${after.table[Number(s)]! + 1}`).join(", ")} }`,
    ]);
  });

  it("describes a backend change as slot and address-set element changes alone, for the netlink writer", () => {
    const local = (n: number): DesiredService => web(0, { backends: backends(n, n), table: roundRobin(backends(n, n), 7), localTable: roundRobin(backends(n, n), 7) });
    const c = change(mesh(local(2)), mesh(local(3)));
    if (c.kind !== "incremental") throw new Error(`expected an incremental change, got ${c.kind}`);
    expect(c.addressSets).toEqual([{ set: "mesh_local_backends", remove: [], add: ["10.40.2.3"] }]);
    expect(c.slots?.map((s) => s.map)).toEqual(["mesh_backends_web"]);
    // A new service is more than elements: no netlink form.
    const added = change(mesh(local(2)), mesh(local(2), service("b", backends(1), { vip: "10.40.255.2" })));
    expect(added.kind === "incremental" && added.slots).toBe(undefined);
  });

  it("adds a service's map and chains before the dispatch elements that point at them", () => {
    const lines = script(change(mesh(), mesh(web(2)))).split("\n").filter((l) => l !== "" && !l.startsWith("#"));
    const at = (prefix: string): number => lines.findIndex((l) => l.startsWith(prefix));
    expect(at("add map inet weft mesh_backends_web {")).toBe(0);
    expect(at("add chain inet weft mesh_vip_web")).toBeGreaterThan(0);
    expect(at("add rule inet weft mesh_vip_web dnat ip to jhash")).toBeGreaterThan(at("add chain inet weft mesh_vip_web"));
    expect(at("add element inet weft mesh_vips {")).toBeGreaterThan(at("add rule inet weft mesh_port_tcp_8080"));
    expect(lines).toContain('add element inet weft mesh_vip_filter { "weft-br42" . 10.40.255.1 : accept }');
    expect(lines.some((l) => l.startsWith("delete"))).toBe(false);
  });

  it("removes a service: dispatch elements first, then its chains (flushed), then its map", () => {
    const lines = script(change(mesh(web(2)), mesh())).split("\n").filter((l) => l !== "" && !l.startsWith("#"));
    expect(lines).toEqual([
      "delete element inet weft mesh_vips { \"weft-br42\" . 10.40.255.1 }",
      "delete element inet weft mesh_vip_filter { \"weft-br42\" . 10.40.255.1 }",
      "delete element inet weft mesh_ports { tcp . 8080 }",
      "flush chain inet weft mesh_vip_web",
      "delete chain inet weft mesh_vip_web",
      "flush chain inet weft mesh_port_tcp_8080",
      "delete chain inet weft mesh_port_tcp_8080",
      "delete map inet weft mesh_backends_web",
    ]);
  });

  it("turns a service whose last backend left into an immediate reject, and back", () => {
    const emptied = script(change(mesh(web(1)), mesh(web(0))));
    expect(emptied).toContain('add element inet weft mesh_vip_filter { "weft-br42" . 10.40.255.1 : goto mesh_refuse }');
    expect(emptied).toContain("add element inet weft mesh_refused_ports { tcp . 8080 }");
    expect(emptied).toContain("delete map inet weft mesh_backends_web");
    const back = script(change(mesh(web(0)), mesh(web(1))));
    expect(back).toContain("delete element inet weft mesh_refused_ports { tcp . 8080 }");
    expect(back).toContain("add map inet weft mesh_backends_web {");
  });

  it("rewrites a changed service chain alone (a new seed), flushing it first", () => {
    const lines = script(change(mesh(web(2)), mesh(web(2, { hashSeed: 99 })))).split("\n").filter((l) => l !== "" && !l.startsWith("#"));
    expect(lines[0]).toBe("flush chain inet weft mesh_vip_web");
    expect(lines.filter((l) => l.startsWith("add rule"))).toHaveLength(6);
  });

  it("writes the whole table when the firewall part changed", () => {
    const other = { ...FIREWALL, networks: [...FIREWALL.networks, firewallNetwork(43, 41)] };
    const c = change(mesh(web(2)), mesh(web(2)), other);
    expect(c.kind).toBe("full");
    expect(script(c)).toBe(renderFirewall(other, mesh(web(2))));
  });

  it("keeps the rule count of the base chains fixed as services and backends grow", () => {
    const baseRules = (m: DesiredMesh): string[] =>
      renderFirewall(FIREWALL, m).split("\n\n").filter((b) => /^\tchain (?!mesh_vip_|mesh_port_)/.test(b));
    const many = mesh(...Array.from({ length: 50 }, (_, i) => service(`s${i}`, backends(10), { vip: `10.40.255.${i + 1}` })));
    expect(baseRules(many)).toEqual(baseRules(mesh(web(1))));
  });
});

describe("validateMesh (through firewallTable)", () => {
  function refused(m: DesiredMesh): WeftError {
    try {
      firewallTable(FIREWALL, m);
    } catch (error) {
      expect(error).toBeInstanceOf(WeftError);
      return error as WeftError;
    }
    throw new Error("accepted a mesh that should have been refused");
  }
  const one = (overrides: Partial<DesiredService>): DesiredMesh => mesh(web(2, overrides));

  it("names the field of a bad value", () => {
    expect(refused(one({ name: "bad name" })).field).toBe("mesh.services[0].name");
    expect(refused(one({ bridge: "weft-br99" })).field).toBe("mesh.services[0].bridge");
    expect(refused(one({ vip: "10.99.0.1" })).field).toBe("mesh.services[0].vip");
    expect(refused(one({ vip: "10.40.255.1; drop" })).field).toBe("mesh.services[0].vip");
    expect(refused(one({ affinity: "sticky" as "none" })).field).toBe("mesh.services[0].affinity");
    expect(refused(one({ hashSeed: -1 })).field).toBe("mesh.services[0].hashSeed");
    expect(refused(one({ backends: [{ ip: "10.40.2.1 }", local: false }], table: [0] })).field).toBe("mesh.services[0].backends[0].ip");
    expect(refused(one({ table: [0, 5] })).field).toBe("mesh.services[0].table[1]");
    expect(refused(one({ table: [] })).field).toBe("mesh.services[0].table");
    expect(refused(one({ localTable: [0] })).field).toBe("mesh.services[0].localTable");
    expect(refused(one({ ports: [{ protocol: "sctp" as "tcp", published: 1, target: 1, publishMode: "ingress" }] })).field).toBe("mesh.services[0].ports[0].protocol");
    expect(refused(one({ ports: [{ protocol: "tcp", published: 0, target: 1, publishMode: "ingress" }] })).field).toBe("mesh.services[0].ports[0].published");
    expect(refused(one({ ports: [{ protocol: "udp", published: 4789, target: 1, publishMode: "ingress" }] })).message).toMatch(/VXLAN/);
    expect(refused(one({ ports: [{ protocol: "tcp", published: 1, target: 65536, publishMode: "ingress" }] })).field).toBe("mesh.services[0].ports[0].target");
    expect(refused(one({ ports: [{ protocol: "tcp", published: 1, target: 1, publishMode: "host" as "local" }] })).field).toBe("mesh.services[0].ports[0].publishMode");
  });

  it("refuses duplicates across services: names, VIPs, published ports", () => {
    expect(refused(mesh(web(1), web(1))).field).toBe("mesh.services[1].name");
    expect(refused(mesh(web(1), service("b", backends(1), { vip: "10.40.255.1" }))).field).toBe("mesh.services[1].vip");
    const taken = service("b", backends(1), { ports: [{ protocol: "tcp", published: 8080, target: 1, publishMode: "ingress" }] });
    expect(refused(mesh(web(1), taken)).message).toMatch(/tcp\/8080 is already published by web/);
  });

  it("sends a local-mode port only to local backends", () => {
    const b = backends(3, 1);
    const m = mesh(service("loc", b, { table: roundRobin(b, 7), localTable: roundRobin(b, 7, (x) => x.local), ports: [{ protocol: "udp", published: 5300, target: 53, publishMode: "local" }] }));
    const text = renderFirewall(FIREWALL, m);
    expect(text).toContain("dnat ip to jhash ip saddr . udp sport mod 7 seed 0x1234abcd map @mesh_local_loc:53");
    expect(text).toMatch(/map mesh_local_loc \{\n\t\ttypeof numgen inc mod 2 : ip daddr\n\t\telements = \{ 0 : 10\.40\.2\.1, 1 : 10\.40\.2\.1,/);
  });
});
