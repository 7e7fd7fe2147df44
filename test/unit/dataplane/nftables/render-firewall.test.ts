import { describe, expect, it } from "vitest";
import { WeftError } from "../../../../proto/values/index.js";
import { renderFirewall, type DesiredFirewall } from "../../../../dataplane/index.js";
import { GOLDEN_CASES, firewallNetwork, goldenFile } from "./firewall-fixtures.js";
import { MESH_GOLDEN_CASES } from "./mesh-fixtures.js";

const base = (): DesiredFirewall => structuredClone(GOLDEN_CASES["two-networks"]!);

/** The rendering's rules (chain bodies), without set elements. */
const ruleLines = (text: string): string[] => text.split("\n").filter((l) => /^\t\t(?!type |flags |auto-merge|elements )\S/.test(l));

function refused(mutate: (f: DesiredFirewall) => void): WeftError {
  const f = base();
  mutate(f);
  try {
    renderFirewall(f);
  } catch (error) {
    expect(error).toBeInstanceOf(WeftError);
    expect((error as WeftError).code).toBe("invalid-argument");
    return error as WeftError;
  }
  throw new Error("rendered a firewall that should have been refused");
}

describe("renderFirewall", () => {
  for (const [name, firewall] of Object.entries(GOLDEN_CASES)) {
    it(`renders ${name} as its golden file`, async () => {
      await expect(renderFirewall(firewall)).toMatchFileSnapshot(goldenFile(name));
    });
  }

  for (const [name, { firewall, mesh }] of Object.entries(MESH_GOLDEN_CASES)) {
    it(`renders ${name} as its golden file`, async () => {
      await expect(renderFirewall(firewall, mesh)).toMatchFileSnapshot(goldenFile(name));
    });
  }

  it("replaces the whole table in one script: create-if-absent, delete, then the new table", () => {
    const lines = renderFirewall(base()).split("\n").filter((l) => !l.startsWith("#"));
    expect(lines.slice(0, 3)).toEqual(["table inet weft", "delete table inet weft", "table inet weft {"]);
    expect(renderFirewall(base())).not.toMatch(/flush ruleset|policy drop/);
  });

  it("is deterministic: the order networks come in does not change the text", () => {
    const reversed = base();
    reversed.networks.reverse();
    expect(renderFirewall(reversed)).toBe(renderFirewall(base()));
  });

  it("keeps the rule count fixed as networks are added: only set elements grow", () => {
    const one = renderFirewall({ ...base(), networks: [firewallNetwork(1, 1)] });
    const many = renderFirewall({ ...base(), networks: Array.from({ length: 200 }, (_, i) => firewallNetwork(i + 1, i)) });
    expect(ruleLines(many)).toEqual(ruleLines(one));
    expect(many).toContain('"weft-br200" . "weft-br200"');
  });

  it("masquerades only the egress subnet and only out of the underlay interface", () => {
    // The egress masquerade, not the mesh's (which only masquerades packets carrying its mark bit).
    const egressRules = (text: string): string[] => text.split("\n").filter((l) => /ip saddr .* masquerade$/.test(l));
    const text = renderFirewall(base());
    expect(egressRules(text)).toEqual(['\t\toifname "eth0" ip saddr 172.18.0.0/16 masquerade']);
    const noEgress = renderFirewall({ ...base(), egress: undefined } as DesiredFirewall);
    expect(egressRules(noEgress)).toEqual([]);
    expect(noEgress).not.toMatch(/weft_gwbridge|chain postrouting/);
  });

  it("lets containers reach the host only on the DNS port of their own bridge's gateway", () => {
    const text = renderFirewall({ ...base(), dnsPort: 5353 });
    expect(text).toContain("meta l4proto { tcp, udp } th dport 5353 iifname . ip daddr @dns_listeners accept");
    expect(text).toContain('elements = { "weft-br42" . 10.40.1.1, "weft-br43" . 10.41.1.1 }');
  });

  it("refuses interface names nft would read as something else, naming the field", () => {
    expect(refused((f) => (f.networks[0]!.bridge = 'x" accept; #')).field).toBe("firewall.networks[0].bridge");
    expect(refused((f) => (f.networks[1]!.bridge = "weft-br*")).field).toBe("firewall.networks[1].bridge");
    expect(refused((f) => (f.underlayIface = "eth0\nflush ruleset")).field).toBe("firewall.underlayIface");
    expect(refused((f) => (f.egress!.bridge = "")).field).toBe("firewall.egress.bridge");
  });

  it("refuses bad addresses, ports and duplicates, naming the field", () => {
    expect(refused((f) => (f.networks[0]!.subnet = "10.40.0.1/16")).message).toMatch(/host bits set/);
    expect(refused((f) => (f.networks[0]!.gatewayIp = "10.99.1.1")).field).toBe("firewall.networks[0].gatewayIp");
    expect(refused((f) => (f.networks[0]!.gatewayIp = "10.40.1.1; drop")).field).toBe("firewall.networks[0].gatewayIp");
    expect(refused((f) => (f.egress!.subnet = "172.18.0.0/33")).field).toBe("firewall.egress.subnet");
    expect(refused((f) => (f.egress!.subnet = "10.0.0.0/8")).field).toBe("firewall.networks[0].subnet");
    expect(refused((f) => (f.dnsPort = 0)).field).toBe("firewall.dnsPort");
    expect(refused((f) => (f.dnsPort = 53.5)).field).toBe("firewall.dnsPort");
    expect(refused((f) => (f.networks[1]!.bridge = f.networks[0]!.bridge)).field).toBe("firewall.networks[1].bridge");
    expect(refused((f) => (f.networks[0]!.bridge = "weft_gwbridge")).message).toMatch(/egress bridge/);
    expect(refused((f) => (f.networks[0]!.vni = 0)).field).toBe("firewall.networks[0].vni");
    expect(refused((f) => ((f.networks[0] as { internal: unknown }).internal = "yes")).field).toBe("firewall.networks[0].internal");
    expect(refused((f) => ((f as { networks: unknown }).networks = "all")).field).toBe("firewall.networks");
  });
});
