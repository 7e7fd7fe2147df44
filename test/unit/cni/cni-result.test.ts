// The ADD result: interfaces in the sandbox, addresses with gateways, the default route, DNS; shaped per version.
import { describe, expect, it } from "vitest";
import { endpointResult } from "../../../agent/cni/cni-result.js";
import type { CniEndpoint } from "../../../agent/cni/cni-agent.js";

const ENDPOINT: CniEndpoint = {
  id: "e1",
  name: "cni-1",
  network: "lab",
  local: true,
  gateway: "10.40.1.1",
  mtu: 1450,
  interfaces: [
    { name: "eth0", mac: "02:42:0a:28:01:02", ip: "10.40.1.2/16" },
    { name: "eth1", mac: "02:42:ac:12:00:02", ip: "172.18.0.2/16" },
  ],
  dns: { nameservers: ["10.40.1.1"], search: ["lab"] },
};

describe("endpointResult", () => {
  it("gives 1.0.0 its interfaces, ips with gateways, the default route and DNS", () => {
    expect(endpointResult("1.0.0", ENDPOINT, "/run/netns/c1")).toEqual({
      cniVersion: "1.0.0",
      interfaces: [
        { name: "eth0", mac: "02:42:0a:28:01:02", mtu: 1450, sandbox: "/run/netns/c1" },
        { name: "eth1", mac: "02:42:ac:12:00:02", mtu: 1450, sandbox: "/run/netns/c1" },
      ],
      ips: [
        { address: "10.40.1.2/16", gateway: "10.40.1.1", interface: 0 },
        { address: "172.18.0.2/16", gateway: "172.18.0.1", interface: 1 },
      ],
      routes: [{ dst: "0.0.0.0/0", gw: "172.18.0.1" }],
      dns: { nameservers: ["10.40.1.1"], search: ["lab"] },
    });
  });

  it("marks addresses with version 4 for 0.3.1 and 0.4.0", () => {
    for (const v of ["0.3.1", "0.4.0"]) expect(endpointResult(v, ENDPOINT, "/run/netns/c1").ips.every((ip) => ip.version === "4")).toBe(true);
  });

  it("has no route off the network for an internal one (no egress leg)", () => {
    const result = endpointResult("1.1.0", { ...ENDPOINT, interfaces: [ENDPOINT.interfaces[0]!] }, "/run/netns/c1");
    expect(result.routes).toEqual([]);
    expect(result.ips).toHaveLength(1);
  });

  it("keeps an earlier plugin's result and numbers its own interfaces after it", () => {
    const prev = { cniVersion: "1.0.0", interfaces: [{ name: "lo", mac: "00:00:00:00:00:00", sandbox: "/run/netns/c1" }], ips: [{ address: "127.0.0.1/8", interface: 0 }] };
    const result = endpointResult("1.0.0", ENDPOINT, "/run/netns/c1", prev);
    expect(result.interfaces.map((i) => i.name)).toEqual(["lo", "eth0", "eth1"]);
    expect(result.ips.map((ip) => ip.interface)).toEqual([0, 1, 2]);
  });
});
