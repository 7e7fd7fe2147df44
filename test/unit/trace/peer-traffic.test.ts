import { describe, expect, it } from "vitest";
import { namePeers, peerTraffic } from "../../../agent/trace/peer-traffic.js";
import { peerCounterNames } from "../../../dataplane/index.js";

describe("peer traffic", () => {
  it("pairs each peer's tx and rx counters into one link, ignoring weft's other counters", () => {
    const h2 = peerCounterNames("h2");
    const links = peerTraffic("h1", [
      { name: "mesh_no_backend", packets: 3, bytes: 3 },
      { name: h2.rx, packets: 2, bytes: 200 },
      { name: h2.tx, packets: 1, bytes: 100 },
    ]);
    expect(links).toEqual([{ host: "h1", kind: "peer", name: `vx_${h2.tx.slice(6)}`, txBytes: 100, txPackets: 1, rxBytes: 200, rxPackets: 2 }]);
  });

  it("names the peer among the members, and drops links of non-members or of the host itself", () => {
    const link = (host: string, node: string) => peerTraffic(host, [{ name: peerCounterNames(node).tx, packets: 1, bytes: 1 }])[0]!;
    const named = namePeers([link("h1", "h2"), link("h1", "stranger"), link("h1", "h1"), { host: "h1", kind: "vxlan", name: "weft-vx42", rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0 }], ["h1", "h2"]);
    expect(named.map((l) => `${l.kind} ${l.peer ?? "-"}`)).toEqual(["peer h2", "vxlan -"]);
  });
});
