import { describe, expect, it } from "vitest";
import { diffOverlay, isEmptyPlan, type DesiredState, type KernelPlan, type ObservedState } from "../../../dataplane/index.js";
import { LOCAL_IP, VTEP_MAC, bridgeLink, desiredState, localEndpoint, network, observedWith, vxlanLink } from "./fixtures.js";

const remote = { ip: "10.40.1.2", mac: "02:42:0a:28:01:02", vtep: "192.168.0.2" };

const diffKernelState = (observed: ObservedState, desired: DesiredState): KernelPlan => diffOverlay(observed, desired).plan;

describe("diffOverlay", () => {
  it("creates bridge, vxlan, veth and entries for a new network", () => {
    const endpoint = localEndpoint("0123456789abcdef");
    const plan = diffKernelState(observedWith([]), desiredState([network(42, { localEndpoints: [endpoint], remoteEndpoints: [remote] })]));
    expect(plan.links).toEqual([
      { kind: "create-bridge", name: "weft-br42", mtu: 1450 },
      { kind: "create-vxlan", name: "weft-vx42", vni: 42, local: LOCAL_IP, dstport: 4789, mac: VTEP_MAC, mtu: 1450, master: "weft-br42" },
      { kind: "create-veth", endpoint, mtu: 1450, master: "weft-br42" },
    ]);
    expect(plan.fdbAdd).toEqual([{ device: "weft-vx42", mac: remote.mac, dst: remote.vtep }]);
    expect(plan.neighboursAdd).toEqual([{ device: "weft-vx42", ip: remote.ip, mac: remote.mac }]);
    expect(plan.fdbRemove).toEqual([]);
    expect(plan.neighboursRemove).toEqual([]);
  });

  it("plans nothing when the kernel already matches", () => {
    const observed = observedWith([bridgeLink(42), vxlanLink(42)], {
      fdb: [{ device: "weft-vx42", mac: remote.mac, dst: remote.vtep }],
      neighbours: [{ device: "weft-vx42", ip: remote.ip, mac: remote.mac, permanent: true }],
    });
    expect(isEmptyPlan(diffKernelState(observed, desiredState([network(42, { remoteEndpoints: [remote] })])))).toBe(true);
  });

  it("removes entries for remote endpoints that are gone", () => {
    const observed = observedWith([bridgeLink(42), vxlanLink(42)], {
      fdb: [{ device: "weft-vx42", mac: remote.mac, dst: remote.vtep }],
      neighbours: [{ device: "weft-vx42", ip: remote.ip, mac: remote.mac, permanent: true }],
    });
    const plan = diffKernelState(observed, desiredState([network(42)]));
    expect(plan.fdbRemove).toEqual([{ device: "weft-vx42", mac: remote.mac, dst: remote.vtep }]);
    expect(plan.neighboursRemove).toEqual([{ device: "weft-vx42", ip: remote.ip, mac: remote.mac }]);
    expect(plan.fdbAdd).toEqual([]);
    expect(plan.links).toEqual([]);
  });

  it("on a VTEP change removes the old dst and adds the new one, leaving exactly one", () => {
    const observed = observedWith([bridgeLink(42), vxlanLink(42)], {
      fdb: [
        { device: "weft-vx42", mac: remote.mac, dst: "192.168.0.9" },
        { device: "weft-vx42", mac: remote.mac, dst: "192.168.0.8" },
      ],
      neighbours: [{ device: "weft-vx42", ip: remote.ip, mac: remote.mac, permanent: true }],
    });
    const plan = diffKernelState(observed, desiredState([network(42, { remoteEndpoints: [remote] })]));
    expect(plan.fdbRemove).toEqual([
      { device: "weft-vx42", mac: remote.mac, dst: "192.168.0.9" },
      { device: "weft-vx42", mac: remote.mac, dst: "192.168.0.8" },
    ]);
    expect(plan.fdbAdd).toEqual([{ device: "weft-vx42", mac: remote.mac, dst: remote.vtep }]);
    expect(plan.neighboursAdd).toEqual([]);
  });

  it("on a MAC change replaces the neighbour and moves the FDB entry to the new MAC", () => {
    const observed = observedWith([bridgeLink(42), vxlanLink(42)], {
      fdb: [{ device: "weft-vx42", mac: "02:42:0a:28:01:99", dst: remote.vtep }],
      neighbours: [{ device: "weft-vx42", ip: remote.ip, mac: "02:42:0a:28:01:99", permanent: true }],
    });
    const plan = diffKernelState(observed, desiredState([network(42, { remoteEndpoints: [remote] })]));
    expect(plan.fdbRemove).toEqual([{ device: "weft-vx42", mac: "02:42:0a:28:01:99", dst: remote.vtep }]);
    expect(plan.fdbAdd).toEqual([{ device: "weft-vx42", mac: remote.mac, dst: remote.vtep }]);
    expect(plan.neighboursAdd).toEqual([{ device: "weft-vx42", ip: remote.ip, mac: remote.mac }]);
    expect(plan.neighboursRemove).toEqual([]);
  });

  it("compares MACs case-insensitively", () => {
    const observed = observedWith([bridgeLink(42), vxlanLink(42)], {
      fdb: [{ device: "weft-vx42", mac: remote.mac, dst: remote.vtep }],
      neighbours: [{ device: "weft-vx42", ip: remote.ip, mac: remote.mac, permanent: true }],
    });
    const upper = { ...remote, mac: remote.mac.toUpperCase() };
    expect(isEmptyPlan(diffKernelState(observed, desiredState([network(42, { vtepMac: VTEP_MAC.toUpperCase(), remoteEndpoints: [upper] })])))).toBe(true);
  });

  it("leaves foreign links and entries on foreign devices alone", () => {
    const observed = observedWith(
      [
        { name: "eth0", ifindex: 2, kind: "", mac: "02:00:00:00:00:09", mtu: 1500, up: true },
        { name: "docker0", ifindex: 3, kind: "bridge", mac: "02:00:00:00:00:08", mtu: 1500, up: true },
        { name: "vxlan7", ifindex: 4, kind: "vxlan", mac: "02:00:00:00:00:07", mtu: 1450, up: true, vxlan: { id: 7, local: LOCAL_IP, dstport: 4789, learning: true, proxy: false } },
        { name: "weft_gwbridge", ifindex: 5, kind: "bridge", mac: "02:00:00:00:00:06", mtu: 1500, up: true },
        { name: "weftXYZ", ifindex: 6, kind: "veth", mac: "02:00:00:00:00:05", mtu: 1500, up: true, master: "weft-br99" },
        { name: "weft-brx", ifindex: 7, kind: "bridge", mac: "02:00:00:00:00:04", mtu: 1500, up: true },
        { name: "weft0123456789a", ifindex: 8, kind: "veth", mac: "02:00:00:00:00:03", mtu: 1500, up: true, master: "docker0" },
      ],
      {
        fdb: [{ device: "vxlan7", mac: "02:00:00:00:11:11", dst: "10.0.0.1" }],
        neighbours: [{ device: "vxlan7", ip: "10.7.0.1", mac: "02:00:00:00:11:11", permanent: true }],
      },
    );
    expect(isEmptyPlan(diffKernelState(observed, desiredState([])))).toBe(true);
  });

  it("ignores the vxlan device's own MAC and the kernel's non-permanent neighbours", () => {
    const observed = observedWith([bridgeLink(42), vxlanLink(42)], {
      fdb: [{ device: "weft-vx42", mac: VTEP_MAC, dst: "0.0.0.0" }],
      neighbours: [{ device: "weft-vx42", ip: "10.40.9.9", mac: "02:42:0a:28:09:09", permanent: false }],
    });
    expect(isEmptyPlan(diffKernelState(observed, desiredState([network(42)])))).toBe(true);
  });

  it("removes extra entries on weft-vx devices", () => {
    const observed = observedWith([bridgeLink(42), vxlanLink(42)], {
      fdb: [{ device: "weft-vx42", mac: "00:00:00:00:00:00", dst: "192.168.0.7" }],
      neighbours: [{ device: "weft-vx42", ip: "10.40.7.7", mac: "02:42:0a:28:07:07", permanent: true }],
    });
    const plan = diffKernelState(observed, desiredState([network(42)]));
    expect(plan.fdbRemove).toHaveLength(1);
    expect(plan.neighboursRemove).toHaveLength(1);
  });

  it("deletes the veths, vxlan and bridge of a network no longer desired, veths first, and not their entries", () => {
    const observed = observedWith(
      [
        bridgeLink(42),
        vxlanLink(42),
        { name: "weft0123456789a", ifindex: 9, kind: "veth", mac: "02:00:00:00:00:03", mtu: 1450, up: true, master: "weft-br42" },
      ],
      { fdb: [{ device: "weft-vx42", mac: remote.mac, dst: remote.vtep }] },
    );
    const plan = diffKernelState(observed, desiredState([]));
    expect(plan.links).toEqual([
      { kind: "delete-link", name: "weft0123456789a" },
      { kind: "delete-link", name: "weft-br42" },
      { kind: "delete-link", name: "weft-vx42" },
    ]);
    expect(plan.fdbRemove).toEqual([]);
  });

  it("creates a veth for a new local endpoint and deletes the one of a removed endpoint", () => {
    const kept = localEndpoint("aaaaaaaaaaaa0000");
    const added = localEndpoint("bbbbbbbbbbbb0000", "c2");
    const observed = observedWith([
      bridgeLink(42),
      vxlanLink(42),
      { name: kept.hostIfName, ifindex: 10, kind: "veth", mac: "02:00:00:00:00:03", mtu: 1450, up: true, master: "weft-br42" },
      { name: "weftccccccccccc", ifindex: 11, kind: "veth", mac: "02:00:00:00:00:04", mtu: 1450, up: true, master: "weft-br42" },
    ]);
    const plan = diffKernelState(observed, desiredState([network(42, { localEndpoints: [kept, added] })]));
    expect(plan.links).toEqual([
      { kind: "delete-link", name: "weftccccccccccc" },
      { kind: "create-veth", endpoint: added, mtu: 1450, master: "weft-br42" },
    ]);
  });

  it("recreates a vxlan device with the wrong id, local address, port or flags, and re-adds its entries", () => {
    const wrongs = [
      { id: 43, local: LOCAL_IP, dstport: 4789, learning: false, proxy: true },
      { id: 42, local: "192.168.0.250", dstport: 4789, learning: false, proxy: true },
      { id: 42, local: LOCAL_IP, dstport: 8472, learning: false, proxy: true },
      { id: 42, local: LOCAL_IP, dstport: 4789, learning: true, proxy: true },
      { id: 42, local: LOCAL_IP, dstport: 4789, learning: false, proxy: false },
    ];
    for (const vxlan of wrongs) {
      const observed = observedWith([bridgeLink(42), vxlanLink(42, { vxlan })], {
        fdb: [{ device: "weft-vx42", mac: remote.mac, dst: remote.vtep }],
        neighbours: [{ device: "weft-vx42", ip: remote.ip, mac: remote.mac, permanent: true }],
      });
      const plan = diffKernelState(observed, desiredState([network(42, { remoteEndpoints: [remote] })]));
      expect(plan.links.map((a: { kind: string }) => a.kind)).toEqual(["delete-link", "create-vxlan"]);
      expect(plan.fdbAdd).toHaveLength(1);
      expect(plan.neighboursAdd).toHaveLength(1);
      expect(plan.fdbRemove).toHaveLength(0);
    }
  });

  it("corrects a wrong MAC, MTU, master or down state in place", () => {
    const observed = observedWith([
      bridgeLink(42, { mtu: 1500, up: false }),
      vxlanLink(42, { mac: "02:00:00:00:99:99", mtu: 1500, master: undefined, up: false }),
    ]);
    const plan = diffKernelState(observed, desiredState([network(42)]));
    expect(plan.links).toEqual([
      { kind: "set-link", name: "weft-br42", mtu: 1450, up: true },
      { kind: "set-link", name: "weft-vx42", mac: VTEP_MAC, mtu: 1450, master: "weft-br42", up: true },
    ]);
  });

  it("never points an FDB entry at its own VTEP", () => {
    const self = { ip: "10.40.0.9", mac: "02:42:0a:28:00:09", vtep: LOCAL_IP };
    const plan = diffKernelState(observedWith([]), desiredState([network(42, { remoteEndpoints: [self] })]));
    expect(plan.fdbAdd).toEqual([]);
    expect(plan.neighboursAdd).toEqual([]);
  });
});
