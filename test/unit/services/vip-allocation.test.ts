// The reserved service slice and choosing a VIP in it.
import { describe, expect, it } from "vitest";
import { chooseVip, serviceSlice } from "../../../controlplane/services/index.js";

describe("serviceSlice", () => {
  it("is the network's last slice", () => {
    expect(serviceSlice({ subnet: "10.40.0.0/16", hostPrefixLen: 24 })).toBe("10.40.255.0/24");
    expect(serviceSlice({ subnet: "10.0.0.0/8", hostPrefixLen: 20 })).toBe("10.255.240.0/20");
    expect(serviceSlice({ subnet: "192.168.10.0/24", hostPrefixLen: 26 })).toBe("192.168.10.192/26");
    expect(serviceSlice({ subnet: "172.16.0.0/28", hostPrefixLen: 30 })).toBe("172.16.0.12/30");
  });
});

describe("chooseVip", () => {
  it("takes the first free address, skipping the slice's network and broadcast addresses", () => {
    const net = { subnet: "10.40.0.0/16", hostPrefixLen: 24 };
    expect(chooseVip(net, new Set())).toBe("10.40.255.1");
    expect(chooseVip(net, new Set(["10.40.255.1", "10.40.255.3"]))).toBe("10.40.255.2");
    const all = new Set(Array.from({ length: 253 }, (_, i) => `10.40.255.${i + 1}`));
    expect(chooseVip(net, all)).toBe("10.40.255.254");
    all.add("10.40.255.254");
    expect(chooseVip(net, all)).toBeUndefined();
  });

  it("has two VIPs in a /30 slice", () => {
    const net = { subnet: "172.16.0.0/28", hostPrefixLen: 30 };
    expect(chooseVip(net, new Set())).toBe("172.16.0.13");
    expect(chooseVip(net, new Set(["172.16.0.13"]))).toBe("172.16.0.14");
    expect(chooseVip(net, new Set(["172.16.0.13", "172.16.0.14"]))).toBeUndefined();
  });
});
