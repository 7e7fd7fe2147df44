import { describe, expect, it } from "vitest";
import { bytesToIPv4, bytesToMac } from "../../../dataplane/address-format.js";
import { bridgeName, hostIfNameFor, isWeftVethName, vtepMacFor, vxlanName } from "../../../dataplane/index.js";
import { chooseUnderlay, parseAddressList } from "../../../dataplane/underlay.js";

describe("link names", () => {
  it("derives names of at most 15 characters", () => {
    expect(bridgeName(16777215)).toBe("weft-br16777215");
    expect(vxlanName(42)).toBe("weft-vx42");
    expect(hostIfNameFor("0123456789ABCDEF0123")).toBe("weft0123456789a");
    expect(isWeftVethName(hostIfNameFor("0123456789abcdef"))).toBe(true);
    expect(() => hostIfNameFor("xyz")).toThrow("endpointId: xyz is not a hex id");
  });
});

describe("vtepMacFor", () => {
  it("is stable, locally administered and unicast, and differs per node and VNI", () => {
    const mac = vtepMacFor("h1", 42);
    expect(mac).toBe(vtepMacFor("h1", 42));
    expect(mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    const first = parseInt(mac.slice(0, 2), 16);
    expect(first & 0x02).toBe(0x02);
    expect(first & 0x01).toBe(0);
    expect(vtepMacFor("h2", 42)).not.toBe(mac);
    expect(vtepMacFor("h1", 43)).not.toBe(mac);
  });
});

describe("chooseUnderlay", () => {
  const interfaces = parseAddressList(
    JSON.stringify([
      { ifname: "lo", mtu: 65536, addr_info: [{ family: "inet", local: "127.0.0.1" }] },
      { ifname: "eth0", mtu: 1400, addr_info: [{ family: "inet6", local: "fd00::2" }, { family: "inet", local: "192.0.2.2" }] },
      { ifname: "eth1", mtu: 9000, addr_info: [] },
    ]),
  );

  it("takes the first IPv4 of a named interface", () => {
    expect(chooseUnderlay(interfaces, { iface: "eth0" })).toEqual({ iface: "eth0", ip: "192.0.2.2", mtu: 1400 });
  });
  it("finds the interface holding an address", () => {
    expect(chooseUnderlay(interfaces, { ip: "192.0.2.2" })).toEqual({ iface: "eth0", ip: "192.0.2.2", mtu: 1400 });
  });
  it("falls back to the default route's interface", () => {
    expect(chooseUnderlay(interfaces, {}, "eth0")).toEqual({ iface: "eth0", ip: "192.0.2.2", mtu: 1400 });
  });
  it("names the flag in its errors", () => {
    expect(() => chooseUnderlay(interfaces, { iface: "X" })).toThrow("--underlay-iface: no interface named X");
    expect(() => chooseUnderlay(interfaces, { iface: "eth1" })).toThrow("--underlay-iface: eth1 has no IPv4 address");
    expect(() => chooseUnderlay(interfaces, { ip: "1.2.3.4" })).toThrow("--underlay-ip: 1.2.3.4 is not assigned to any interface");
    expect(() => chooseUnderlay(interfaces, { ip: "192.0.2.2", iface: "lo" })).toThrow(/--underlay-ip: 192.0.2.2 is on eth0/);
    expect(() => chooseUnderlay(interfaces, {})).toThrow(/pass --underlay-iface or --underlay-ip/);
  });
});

describe("address rendering", () => {
  it("renders MACs and IPv4 addresses from bytes at an offset, every digit count", () => {
    const bytes = Uint8Array.from([9, 0x02, 0xab, 0x00, 0x0f, 0xf0, 0xff, 0, 9, 10, 99, 100, 255]);
    expect(bytesToMac(bytes, 1)).toBe("02:ab:00:0f:f0:ff");
    expect(bytesToIPv4(bytes, 7)).toBe("0.9.10.99");
    expect(bytesToIPv4(bytes, 9)).toBe("10.99.100.255");
    expect(bytesToIPv4(Uint8Array.from([192, 168, 0, 1]))).toBe("192.168.0.1");
  });
});
