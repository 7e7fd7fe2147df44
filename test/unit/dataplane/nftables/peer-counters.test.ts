import { describe, expect, it } from "vitest";
import { WeftError } from "../../../../proto/values/index.js";
import { firewallChange, firewallTable, parsePeerCounterName, peerCounterNames, renderFirewall, type DesiredFirewall } from "../../../../dataplane/index.js";
import { GOLDEN_CASES } from "./firewall-fixtures.js";

const withPeers = (peers: DesiredFirewall["peers"]): DesiredFirewall => ({ ...structuredClone(GOLDEN_CASES.egress!), ...(peers === undefined ? {} : { peers }) });

function refusedField(peers: unknown): string | undefined {
  try {
    renderFirewall(withPeers(peers as DesiredFirewall["peers"]));
  } catch (error) {
    expect(error).toBeInstanceOf(WeftError);
    return (error as WeftError).field;
  }
  throw new Error("rendered peers that should have been refused");
}

describe("per-peer VXLAN counters", () => {
  it("renders no counters, maps or output chain without peers, and the same table for an empty list", () => {
    const text = renderFirewall(withPeers(undefined));
    expect(text).not.toMatch(/vx_|chain output|4789/);
    expect(renderFirewall(withPeers([]))).toBe(text);
  });

  it("counts VXLAN to and from each peer through maps of underlay address -> counter", () => {
    const text = renderFirewall(withPeers([{ node: "h2", underlayIp: "10.0.0.2" }]));
    const { tx, rx } = peerCounterNames("h2");
    expect(text).toContain(`\tcounter ${tx} {`);
    expect(text).toContain(`\tcounter ${rx} {`);
    expect(text).toContain(`10.0.0.2 : "${tx}"`);
    expect(text).toContain(`10.0.0.2 : "${rx}"`);
    expect(text).toContain("udp dport 4789 counter name ip daddr map @vx_tx_peers");
    expect(text).toContain("udp dport 4789 counter name ip saddr map @vx_rx_peers");
    expect(text).toMatch(/chain output \{\n\t\ttype filter hook output priority filter - 10; policy accept;\n\t\tudp dport 4789/);
    // The input chain keeps its rules first; nothing drops or accepts on the counting rules.
    expect(text).toMatch(/iifname @overlay_bridges jump from_container\n\t\tiifname "weft_gwbridge" jump from_container\n\t\tudp dport 4789/);
  });

  it("keeps node names out of the nft text: counter names are identifiers whatever the name", () => {
    const text = renderFirewall(withPeers([{ node: "host-2.example", underlayIp: "10.0.0.2" }]));
    expect(text).not.toContain("host-2");
    const { tx, rx } = peerCounterNames("host-2.example");
    for (const name of [tx, rx]) expect(name).toMatch(/^[a-z][a-z0-9_]*$/);
    expect(parsePeerCounterName(tx)).toEqual({ direction: "tx", key: tx.slice(6) });
    expect(parsePeerCounterName("mesh_no_backend")).toBeUndefined();
  });

  it("refuses bad peers naming the field", () => {
    expect(refusedField("h2")).toBe("firewall.peers");
    expect(refusedField([null])).toBe("firewall.peers[0]");
    expect(refusedField([{ node: "bad name", underlayIp: "10.0.0.2" }])).toBe("firewall.peers[0].node");
    expect(refusedField([{ node: "h2", underlayIp: "10.0.0.300" }])).toBe("firewall.peers[0].underlayIp");
    expect(refusedField([{ node: "h2", underlayIp: "10.0.0.2" }, { node: "h2", underlayIp: "10.0.0.3" }])).toBe("firewall.peers[1].node");
    expect(refusedField([{ node: "h2", underlayIp: "10.0.0.2" }, { node: "h3", underlayIp: "10.0.0.2" }])).toBe("firewall.peers[1].underlayIp");
  });

  it("writes a peer joining or leaving as its counters and map elements alone", () => {
    const two = firewallTable(withPeers([{ node: "h2", underlayIp: "10.0.0.2" }]));
    const three = firewallTable(withPeers([{ node: "h2", underlayIp: "10.0.0.2" }, { node: "h3", underlayIp: "10.0.0.3" }]));
    const h3 = peerCounterNames("h3");
    const join = firewallChange(two, three);
    expect(join.kind).toBe("incremental");
    if (join.kind === "none") return;
    expect(join.chainsChanged).toBe(false);
    expect(join.script.split("\n").slice(1, -1)).toEqual([
      `add counter inet weft ${h3.tx}`,
      `add counter inet weft ${h3.rx}`,
      `add element inet weft vx_tx_peers { 10.0.0.3 : "${h3.tx}" }`,
      `add element inet weft vx_rx_peers { 10.0.0.3 : "${h3.rx}" }`,
    ]);
    const leave = firewallChange(three, two);
    expect(leave.kind).toBe("incremental");
    if (leave.kind === "none") return;
    expect(leave.script.split("\n").slice(1, -1)).toEqual([
      "delete element inet weft vx_tx_peers { 10.0.0.3 }",
      "delete element inet weft vx_rx_peers { 10.0.0.3 }",
      `delete counter inet weft ${h3.tx}`,
      `delete counter inet weft ${h3.rx}`,
    ]);
    // The first peer adds the counting rules to base chains: the table is written whole.
    expect(firewallChange(firewallTable(withPeers([])), two).kind).toBe("full");
  });
});
