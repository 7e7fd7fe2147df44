// The overlay bridge's gateway address (this host's address on weft-br<vni>) and the overlay MTU on
// every overlay interface, both ends of each veth included.
import { describe, expect, it } from "vitest";
import { FakeKernel } from "../../../dataplane/fake-kernel.js";
import { Reconciler, diffOverlay, validateOverlay } from "../../../dataplane/index.js";
import { bridgeLink, desiredState, localEndpoint, network, observedWith, vxlanLink } from "./fixtures.js";

const GATEWAY = "10.40.0.1/16";
const GATEWAY_MAC = "02:42:0a:28:00:01"; // macForAddress("10.40.0.1")
const onBridge = (ip: string, prefixLen = 16) => ({ device: "weft-br42", ip, prefixLen });

describe("the overlay bridge's gateway address", () => {
  it("is added to a new bridge right after the devices are made, the bridge keeping the gateway's MAC", () => {
    const links = diffOverlay(observedWith([]), desiredState([network(42, { gateway: GATEWAY })])).plan.links;
    expect(links.map((l) => l.kind)).toEqual(["create-bridge", "create-vxlan", "add-address"]);
    expect(links[0]).toEqual({ kind: "create-bridge", name: "weft-br42", mtu: 1450, mac: GATEWAY_MAC });
    expect(links[2]).toEqual({ kind: "add-address", device: "weft-br42", ip: "10.40.0.1", prefixLen: 16 });
  });

  it("is left as it is when present, and replaced when it differs (prefix included)", () => {
    const devices = [bridgeLink(42, { mac: GATEWAY_MAC }), vxlanLink(42)];
    expect(diffOverlay(observedWith(devices, { addresses: [onBridge("10.40.0.1")] }), desiredState([network(42, { gateway: GATEWAY })])).plan.links).toEqual([]);
    expect(diffOverlay(observedWith(devices, { addresses: [onBridge("10.40.0.1", 24)] }), desiredState([network(42, { gateway: GATEWAY })]), { prune: false }).plan.links).toEqual([
      { kind: "delete-address", device: "weft-br42", ip: "10.40.0.1", prefixLen: 24 },
      { kind: "add-address", device: "weft-br42", ip: "10.40.0.1", prefixLen: 16 },
    ]);
  });

  it("is removed when the network has none, only when pruning; other devices' addresses are never touched", () => {
    const observed = observedWith([bridgeLink(42), vxlanLink(42)], { addresses: [onBridge("10.40.0.1"), { device: "eth0", ip: "10.40.0.9", prefixLen: 16 }] });
    expect(diffOverlay(observed, desiredState([network(42)])).plan.links).toEqual([{ kind: "delete-address", device: "weft-br42", ip: "10.40.0.1", prefixLen: 16 }]);
    expect(diffOverlay(observed, desiredState([network(42)]), { prune: false }).plan.links).toEqual([]);
  });

  it("must be a host address with the network's prefix: otherwise the network is skipped and held", () => {
    for (const gateway of ["10.40.0.1", "10.40.0.0/16", "10.40.255.255/16", "10.40.0.1/33", "fe80::1/64", 7]) {
      const valid = validateOverlay({ networks: [network(42, { gateway: gateway as string })] });
      expect(valid.overlay.networks).toEqual([]);
      expect(valid.skipped[0]!.reason).toMatch(/^gateway: .* is not a host address with a prefix length, e\.g\. 10\.40\.3\.1\/16$/);
      expect(valid.held.vnis.has(42)).toBe(true);
    }
  });

  it("cannot be claimed by a remote endpoint", () => {
    const remote = { ip: "10.40.0.1", mac: "02:42:0a:28:00:01", vtep: "192.168.0.2" };
    const valid = validateOverlay({ networks: [network(42, { gateway: GATEWAY, remoteEndpoints: [remote] })] });
    expect(valid.overlay.networks[0]!.remoteEndpoints).toEqual([]);
    expect(valid.skipped).toEqual([{ object: 'remote endpoint "10.40.0.1" in network vni 42', reason: "ip: 10.40.0.1 belongs to this host's gateway" }]);
  });

  it("follows the network through the Reconciler: added, replaced, removed", async () => {
    const kernel = new FakeKernel();
    const reconciler = new Reconciler(kernel);
    await reconciler.reconcile(desiredState([network(42, { gateway: GATEWAY })]));
    expect(kernel.addresses.get("weft-br42")).toEqual([onBridge("10.40.0.1")]);
    await reconciler.reconcile(desiredState([network(42, { gateway: "10.40.4.1/16" })]));
    expect(kernel.addresses.get("weft-br42")).toEqual([onBridge("10.40.4.1")]);
    expect(kernel.links.get("weft-br42")!.mac).toBe("02:42:0a:28:04:01");
    await reconciler.reconcile(desiredState([network(42)]));
    expect(kernel.addresses.get("weft-br42")).toEqual([]);
  });
});

describe("the overlay MTU", () => {
  const endpoint = localEndpoint("0123456789abcdef");

  it("is set on the bridge, the VXLAN device and both ends of each veth at creation", async () => {
    const kernel = new FakeKernel();
    await new Reconciler(kernel).reconcile(desiredState([network(42, { mtu: 1400, localEndpoints: [endpoint] })]));
    for (const name of ["weft-br42", "weft-vx42", endpoint.hostIfName]) expect(kernel.links.get(name)!.mtu).toBe(1400);
    expect(kernel.containerInterfaces.get(endpoint.hostIfName)!.mtu).toBe(1400);
  });

  it("is repaired on all of them when wrong, the container end through the namespace recorded at attach", async () => {
    const kernel = new FakeKernel();
    const reconciler = new Reconciler(kernel);
    await reconciler.reconcile(desiredState([network(42, { mtu: 1400, localEndpoints: [endpoint] })]));
    const plan = diffOverlay(await kernel.observe(), desiredState([network(42, { mtu: 8950, localEndpoints: [endpoint] })])).plan;
    expect(plan.links).toEqual([
      { kind: "set-link", name: "weft-br42", mtu: 8950 },
      { kind: "set-link", name: "weft-vx42", mtu: 8950 },
      { kind: "set-veth-mtu", hostIfName: endpoint.hostIfName, container: { endpointId: endpoint.id, netns: endpoint.netns, ifName: "eth0" }, mtu: 8950 },
    ]);
    const report = await reconciler.reconcile(desiredState([network(42, { mtu: 8950, localEndpoints: [endpoint] })]));
    expect(report.errors).toEqual([]);
    for (const name of ["weft-br42", "weft-vx42", endpoint.hostIfName]) expect(kernel.links.get(name)!.mtu).toBe(8950);
    expect(kernel.containerInterfaces.get(endpoint.hostIfName)!.mtu).toBe(8950);
  });

  it("is not set in a namespace that is another one now: the error names the endpoint", async () => {
    const recorded = { ...endpoint, netns: "/proc/4242/ns/net", netnsId: { dev: 4, ino: 100 } };
    let now = { dev: 4, ino: 100 };
    const kernel = new FakeKernel({ namespaceIdentity: () => now });
    const reconciler = new Reconciler(kernel);
    await reconciler.reconcile(desiredState([network(42, { mtu: 1400, localEndpoints: [recorded] })]));
    now = { dev: 4, ino: 101 };
    const report = await reconciler.reconcile(desiredState([network(42, { mtu: 1380, localEndpoints: [recorded] })]));
    expect(report.errors).toEqual([expect.objectContaining({ code: "namespace-changed", endpointId: endpoint.id, object: `link ${endpoint.hostIfName}` })]);
    expect(kernel.containerInterfaces.get(endpoint.hostIfName)!.mtu).toBe(1400);
  });
});
