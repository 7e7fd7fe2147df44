import { describe, expect, it } from "vitest";
import { DesiredStateError, FakeKernel, Reconciler } from "../../../dataplane/index.js";
import { desiredState, localEndpoint, network } from "./fixtures.js";

const remotes = (vtep: string, count = 3) =>
  Array.from({ length: count }, (_, i) => ({ ip: `10.40.1.${i + 2}`, mac: `02:42:0a:28:01:${(i + 2).toString(16).padStart(2, "0")}`, vtep }));

describe("Reconciler on FakeKernel", () => {
  it("builds the state, and a second run does nothing", async () => {
    const kernel = new FakeKernel();
    const reconciler = new Reconciler(kernel);
    const desired = desiredState([network(42, { localEndpoints: [localEndpoint("0123456789abcdef")], remoteEndpoints: remotes("192.168.0.2") })]);
    const first = await reconciler.reconcile(desired);
    expect(first).toMatchObject({ linksCreated: 3, linksDeleted: 0, fdbAdded: 3, neighboursAdded: 3, errors: [] });
    expect(kernel.links.get("weft-vx42")).toMatchObject({ master: "weft-br42", up: true, mtu: 1450 });
    expect(kernel.containerInterfaces.get("weft0123456789a")).toMatchObject({ netns: "c1", ip: "10.40.0.2", prefixLen: 16 });
    const second = await reconciler.reconcile(desired);
    expect(second).toMatchObject({ linksCreated: 0, linksDeleted: 0, fdbAdded: 0, fdbRemoved: 0, neighboursAdded: 0, neighboursRemoved: 0, errors: [] });
    expect(kernel.applyCalls).toBe(1);
  });

  it("moves an endpoint to a new VTEP leaving exactly one destination", async () => {
    const kernel = new FakeKernel();
    const reconciler = new Reconciler(kernel);
    await reconciler.reconcile(desiredState([network(42, { remoteEndpoints: remotes("192.168.0.2") })]));
    const report = await reconciler.reconcile(desiredState([network(42, { remoteEndpoints: remotes("192.168.0.3") })]));
    expect(report).toMatchObject({ fdbAdded: 3, fdbRemoved: 3, neighboursAdded: 0, neighboursRemoved: 0 });
    for (const dsts of kernel.fdb.get("weft-vx42")!.values()) expect([...dsts]).toEqual(["192.168.0.3"]);
  });

  it("removes a network that is no longer desired, and leaves foreign links alone", async () => {
    const kernel = new FakeKernel();
    kernel.addLink({ name: "docker0", kind: "bridge", mac: "02:00:00:00:00:10", mtu: 1500, up: true });
    const reconciler = new Reconciler(kernel);
    await reconciler.reconcile(desiredState([network(42, { localEndpoints: [localEndpoint("0123456789abcdef")], remoteEndpoints: remotes("192.168.0.2") })]));
    const report = await reconciler.reconcile(desiredState([]));
    expect(report).toMatchObject({ linksDeleted: 3, errors: [] });
    expect([...kernel.links.keys()].sort()).toEqual(["docker0", "lo"]);
  });

  it("reports a veth into a missing namespace with the endpoint id and leaves no veth", async () => {
    const kernel = new FakeKernel({ namespaceExists: (ns) => ns !== "gone" });
    const reconciler = new Reconciler(kernel);
    const endpoint = localEndpoint("fedcba9876543210", "gone");
    const report = await reconciler.reconcile(desiredState([network(42, { localEndpoints: [endpoint] })]));
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]).toMatchObject({ object: `link ${endpoint.hostIfName}`, endpointId: endpoint.id });
    expect(report.errors[0]!.message).toMatch(/gone/);
    expect(kernel.links.has(endpoint.hostIfName)).toBe(false);
  });

  it("applies entry changes without observing, after a run in flight, and refuses malformed ones by name", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let gated = true;
    const kernel = new FakeKernel({ beforeApply: () => (gated ? gate : Promise.resolve()) });
    const reconciler = new Reconciler(kernel);
    const full = reconciler.reconcile(desiredState([network(42, { remoteEndpoints: remotes("192.168.0.2", 1) })]));
    const changes = reconciler.applyEntryChanges({
      fdbRemove: [{ device: "weft-vx42", mac: "02:42:0a:28:01:02", dst: "192.168.0.2" }],
      neighboursRemove: [],
      fdbAdd: [
        { device: "weft-vx42", mac: "02:42:0a:28:01:02", dst: "192.168.0.3" },
        { device: "eth0", mac: "02:42:0a:28:01:09", dst: "192.168.0.3" },
        { device: "weft-vx42", mac: "not-a-mac", dst: "192.168.0.3" },
      ],
      neighboursAdd: [],
    });
    gated = false;
    release();
    await full;
    const observed = kernel.observeCalls;
    const report = await changes;
    expect(kernel.observeCalls).toBe(observed);
    expect(report).toMatchObject({ fdbAdded: 1, fdbRemoved: 1 });
    expect(report.errors.map((e) => e.message)).toEqual(["eth0 is not a weft VXLAN device", "not a well-formed address"]);
    expect([...kernel.fdb.get("weft-vx42")!.get("02:42:0a:28:01:02")!]).toEqual(["192.168.0.3"]);
  });

  it("coalesces calls made during a run into one follow-up run with the latest state", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let gated = true;
    const kernel = new FakeKernel({ beforeApply: () => (gated ? gate : Promise.resolve()) });
    const reconciler = new Reconciler(kernel);
    const first = reconciler.reconcile(desiredState([network(1)]));
    const second = reconciler.reconcile(desiredState([network(2)]));
    const third = reconciler.reconcile(desiredState([network(3)]));
    expect(second).toBe(third);
    gated = false;
    release();
    const [a, b] = await Promise.all([first, second]);
    expect(a.linksCreated).toBe(2);
    expect(b).toMatchObject({ linksCreated: 2, linksDeleted: 2 });
    expect(kernel.applyCalls).toBe(2);
    expect([...kernel.links.keys()].filter((n) => n.startsWith("weft")).sort()).toEqual(["weft-br3", "weft-vx3"]);
  });

  it("rejects an invalid desired state naming the field, without touching the kernel", async () => {
    const kernel = new FakeKernel();
    const reconciler = new Reconciler(kernel);
    const bad = desiredState([network(42, { remoteEndpoints: [{ ip: "10.40.1.300", mac: "02:42:0a:28:01:02", vtep: "192.168.0.2" }] })]);
    await expect(reconciler.reconcile(bad)).rejects.toThrow(DesiredStateError);
    await expect(reconciler.reconcile(bad)).rejects.toThrow("networks[0].remoteEndpoints[0].ip: 10.40.1.300 is not an IPv4 address");
    await expect(reconciler.reconcile(desiredState([network(0)]))).rejects.toThrow("networks[0].vni: 0 is outside 1..16777215");
    expect(kernel.observeCalls).toBe(0);
  });

  it("reports an observe failure instead of throwing", async () => {
    const kernel = new FakeKernel();
    kernel.observe = async () => {
      throw new Error("netlink socket closed");
    };
    const report = await new Reconciler(kernel).reconcile(desiredState([]));
    expect(report.errors).toEqual([{ object: "kernel", message: "observe: netlink socket closed" }]);
  });
});
