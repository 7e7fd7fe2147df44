// `weft lab up` explains what it built: a paragraph per layer, each with commands naming this lab's
// own namespaces and devices.
import { describe, expect, it } from "vitest";
import { explainLab } from "../../../agent/lab/lab-explain.js";
import type { LabState } from "../../../agent/lab/lab-state.js";

const container = (host: string, i: number, id: string) => ({ name: `lx-${host}-c${i}`, host, netns: `lx-${host}-c${i}`, network: "weft-lab", ip: `10.40.${host.slice(1)}.2`, mac: "02:42:0a:28:01:02", endpointId: id });
const host = (i: number) => ({ name: `h${i}`, netns: `lx-h${i}`, underlayIp: `10.251.0.${i}`, agentPid: 1, apiSocket: "", gossipAddr: "", metricsAddr: "", stateDir: "", logFile: "" });

const state: LabState = {
  prefix: "lx",
  etcd: { netns: "lx-ul", endpoint: "", pid: 0, dataDir: "" },
  hosts: [host(1), host(2)],
  containers: [container("h1", 1, "0123456789abcdef"), container("h2", 1, "fedcba9876543210")],
  underlay: { netns: "lx-ul", subnet: "10.251.0.0/24", mtu: 1500 },
  network: { name: "weft-lab", subnet: "10.40.0.0/16", vni: 42 },
  world: { netns: "lx-world", ip: "10.251.0.253", httpPid: 0, dnsPid: 0 },
  isolatedNetwork: { name: "weft-iso", subnet: "10.41.0.0/16", vni: 43 },
  web: { service: "web", network: "weft-lab", vip: "10.40.255.254", published: 8080, target: 80, backends: [container("h1", 9, "aaaaaaaaaaaaaaaa")], serverPids: [] },
};

describe("explainLab", () => {
  it("has one paragraph per layer, each with commands for this lab", () => {
    const text = explainLab(state);
    for (const layer of ["Underlay:", "VXLAN and FDB:", "Bridges and veths:", "Gateway bridge and NAT:", "DNS:", "Mesh:", "Trace:"]) expect(text).toContain(layer);
    expect(text).toContain("ip netns exec lx-h1 bridge fdb show dev weft-vx42");
    expect(text).toContain("ip netns exec lx-h1 bridge link show master weft-br42");
    expect(text).toContain("weft0123456789a for lx-h1-c1");
    expect(text).toContain("ip netns exec lx-h1 nft list map inet weft mesh_backends_web");
    expect(text).toContain("cat /etc/netns/lx-h1-c1/resolv.conf");
    expect(text).toContain("weft lab trace lx-h1-c1 lx-h2-c1 --probe");
    expect(text).toContain("MTU 1450");
  });

  it("says nothing for a lab without a network yet", () => {
    expect(explainLab({ ...state, network: undefined } as LabState)).toBe("");
  });
});
