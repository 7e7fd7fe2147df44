// Service VIPs as /32 addresses on the overlay bridge (DesiredNetwork.serviceIps), and the gateway
// bridge's loose rp_filter while there are services.
import { describe, expect, it } from "vitest";
import { FakeKernel } from "../../../../dataplane/fake-kernel.js";
import { Reconciler, diffOverlay, validateOverlay, type DesiredState } from "../../../../dataplane/index.js";
import { bridgeLink, desiredState, network, observedWith, vxlanLink } from "../fixtures.js";
import { service } from "../nftables/mesh-fixtures.js";

const GATEWAY = "10.40.0.1/16";
const onBridge = (ip: string, prefixLen = 32) => ({ device: "weft-br42", ip, prefixLen });
const devices = [bridgeLink(42, { mac: "02:42:0a:28:00:01" }), vxlanLink(42)];

describe("service VIPs on the overlay bridge", () => {
  it("adds each VIP as a /32 next to the gateway, and removes a VIP no longer wanted", () => {
    const observed = observedWith(devices, { addresses: [onBridge("10.40.0.1", 16), onBridge("10.40.255.9")] });
    const links = diffOverlay(observed, desiredState([network(42, { gateway: GATEWAY, serviceIps: ["10.40.255.1"] })])).plan.links;
    expect(links).toEqual([
      { kind: "delete-address", device: "weft-br42", ip: "10.40.255.9", prefixLen: 32 },
      { kind: "add-address", device: "weft-br42", ip: "10.40.255.1", prefixLen: 32 },
    ]);
  });

  it("leaves VIPs in place when they are wanted, and removes them all when the network has none", () => {
    const observed = observedWith(devices, { addresses: [onBridge("10.40.0.1", 16), onBridge("10.40.255.1")] });
    expect(diffOverlay(observed, desiredState([network(42, { gateway: GATEWAY, serviceIps: ["10.40.255.1"] })])).plan.links).toEqual([]);
    expect(diffOverlay(observed, desiredState([network(42, { gateway: GATEWAY })])).plan.links).toEqual([
      { kind: "delete-address", device: "weft-br42", ip: "10.40.255.1", prefixLen: 32 },
    ]);
  });

  it("leaves out and reports a VIP that is not an address or is taken, keeping the rest", () => {
    const valid = validateOverlay({ networks: [network(42, { gateway: GATEWAY, serviceIps: ["10.40.255.1", "nope", "10.40.0.1", "10.40.255.1"] })] });
    expect(valid.overlay.networks[0]!.serviceIps).toEqual(["10.40.255.1"]);
    expect(valid.skipped.map((s) => s.reason)).toEqual(['"nope" is not an IPv4 address', "10.40.0.1 belongs to this host's gateway", "10.40.255.1 belongs to a service VIP"]);
  });

  it("refuses a remote endpoint claiming a VIP", () => {
    const remote = { ip: "10.40.255.1", mac: "02:42:0a:28:ff:01", vtep: "192.168.0.2" };
    const valid = validateOverlay({ networks: [network(42, { gateway: GATEWAY, serviceIps: ["10.40.255.1"], remoteEndpoints: [remote] })] });
    expect(valid.overlay.networks[0]!.remoteEndpoints).toEqual([]);
    expect(valid.skipped[0]!.reason).toBe("ip: 10.40.255.1 belongs to a service VIP");
  });
});

describe("the gateway bridge's rp_filter", () => {
  const withEgress = (mesh: DesiredState["mesh"]): DesiredState => ({
    ...desiredState([network(42, { gateway: GATEWAY })]),
    egress: { bridge: { name: "weft_gwbridge", address: "172.18.0.1/16", mtu: 1500 }, legs: [] },
    ...(mesh === undefined ? {} : { mesh }),
  });

  it("is set loose (2) once there are services, and only then", async () => {
    const kernel = new FakeKernel();
    const reconciler = new Reconciler(kernel);
    await reconciler.reconcile(withEgress(undefined));
    expect(kernel.sysctls.get("net.ipv4.conf.weft_gwbridge.rp_filter")).toBeUndefined();
    const report = await reconciler.reconcile(withEgress({ services: [service("web", [{ ip: "10.40.0.9", local: true }])] }));
    expect(report.sysctlsChanged).toEqual(["net.ipv4.conf.weft_gwbridge.rp_filter=2"]);
    expect(kernel.sysctls.get("net.ipv4.conf.weft_gwbridge.rp_filter")).toBe("2");
    expect((await reconciler.reconcile(withEgress({ services: [service("web", [])] }))).sysctlsChanged).toBeUndefined();
  });
});
