import { describe, expect, it } from "vitest";
import { FakeKernel } from "../../../dataplane/fake-kernel.js";
import { Reconciler, hostIfNameFor } from "../../../dataplane/index.js";
import { desiredState, localEndpoint, network } from "./fixtures.js";

const remotes = (vtep: string, count = 3) =>
  Array.from({ length: count }, (_, i) => ({ ip: `10.40.1.${i + 2}`, mac: `02:42:0a:28:01:${(i + 2).toString(16).padStart(2, "0")}`, vtep }));

const weftLinks = (kernel: FakeKernel) => [...kernel.links.keys()].filter((n) => n.startsWith("weft")).sort();

describe("Reconciler on FakeKernel", () => {
  it("builds the state, and a second run does nothing", async () => {
    const kernel = new FakeKernel();
    const reconciler = new Reconciler(kernel);
    const desired = desiredState([network(42, { localEndpoints: [localEndpoint("0123456789abcdef")], remoteEndpoints: remotes("192.168.0.2") })]);
    const first = await reconciler.reconcile(desired);
    expect(first).toMatchObject({ linksCreated: 3, linksDeleted: 0, fdbAdded: 3, neighboursAdded: 3, errors: [], skipped: [], orphanVeths: [] });
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
    expect(report.errors[0]!.code).toBeUndefined();
    expect(report.errors[0]!.message).toMatch(/gone/);
    expect(kernel.links.has(endpoint.hostIfName)).toBe(false);
  });

  it("applies entry changes without observing, and skips malformed ones by name", async () => {
    const kernel = new FakeKernel();
    const reconciler = new Reconciler(kernel);
    await reconciler.reconcile(desiredState([network(42, { remoteEndpoints: remotes("192.168.0.2", 1) })]));
    const observed = kernel.observeCalls;
    const report = await reconciler.applyEntryChanges({
      fdbRemove: [{ device: "weft-vx42", mac: "02:42:0a:28:01:02", dst: "192.168.0.2" }],
      neighboursRemove: [],
      fdbAdd: [
        { device: "weft-vx42", mac: "02:42:0a:28:01:02", dst: "192.168.0.3" },
        { device: "eth0", mac: "02:42:0a:28:01:09", dst: "192.168.0.3" },
        { device: "weft-vx42", mac: "not-a-mac", dst: "192.168.0.3" },
      ],
      neighboursAdd: [],
    });
    expect(kernel.observeCalls).toBe(observed);
    expect(report).toMatchObject({ fdbAdded: 1, fdbRemoved: 1, errors: [] });
    expect(report.skipped.map((e) => e.reason)).toEqual(["eth0 is not a weft VXLAN device", "not a well-formed address"]);
    expect([...kernel.fdb.get("weft-vx42")!.get("02:42:0a:28:01:02")!]).toEqual(["192.168.0.3"]);
  });

  it("refuses a run started while another is under way instead of interleaving them", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const kernel = new FakeKernel({ beforeApply: () => gate });
    const reconciler = new Reconciler(kernel);
    const first = reconciler.reconcile(desiredState([network(1)]));
    await expect(reconciler.reconcile(desiredState([network(2)]))).rejects.toThrow(/already under way/);
    await expect(reconciler.applyEntryChanges({ fdbAdd: [], fdbRemove: [], neighboursAdd: [], neighboursRemove: [] })).rejects.toThrow(/already under way/);
    release();
    expect((await first).linksCreated).toBe(2);
    expect((await reconciler.reconcile(desiredState([network(2)]))).linksCreated).toBe(2);
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

describe("one bad entry costs only itself", () => {
  it("skips a remote entry with an IPv6 VTEP (::1) and applies the rest of the state", async () => {
    const kernel = new FakeKernel();
    const reconciler = new Reconciler(kernel);
    const bad = { ip: "10.40.1.99", mac: "02:42:0a:28:01:63", vtep: "::1" };
    const endpoint = localEndpoint("0123456789abcdef");
    const report = await reconciler.reconcile(
      desiredState([network(42, { localEndpoints: [endpoint], remoteEndpoints: [...remotes("192.168.0.2"), bad] }), network(43, { remoteEndpoints: remotes("192.168.0.4") })]),
    );
    expect(report.errors).toEqual([]);
    expect(report.skipped).toEqual([{ object: 'remote endpoint "10.40.1.99" in network vni 42', reason: 'vtep: "::1" is not a unicast IPv4 address' }]);
    expect(report).toMatchObject({ linksCreated: 5, fdbAdded: 6, neighboursAdded: 6 });
    expect(kernel.containerInterfaces.has(endpoint.hostIfName)).toBe(true);
    expect(kernel.fdb.get("weft-vx42")!.has(bad.mac)).toBe(false);
    expect(kernel.neighbours.get("weft-vx42")!.has(bad.ip)).toBe(false);
  });

  it("skips each kind of invalid entry by itself, naming the field", async () => {
    const kernel = new FakeKernel();
    const reconciler = new Reconciler(kernel);
    const good = localEndpoint("0123456789abcdef");
    const badLocals = [
      { ...localEndpoint("1111111111111111"), netns: "/proc/1/ns/../../etc/passwd" },
      { ...localEndpoint("2222222222222222"), ifName: "a-name-far-too-long" },
      { ...localEndpoint("3333333333333333"), ip: "10.40.0.300" },
      { ...localEndpoint("4444444444444444"), netnsId: { dev: -1, ino: 5 } },
    ];
    const badRemotes = [
      { ip: "10.40.1.300", mac: "02:42:0a:28:01:20", vtep: "192.168.0.2" },
      { ip: "10.40.1.21", mac: "ff:ff:ff:ff:ff:ff", vtep: "192.168.0.2" },
      { ip: "10.40.1.22", mac: "02:42:0a:28:01:16", vtep: "127.0.0.1" },
      { ip: "10.40.1.2", mac: "02:42:0a:28:01:99", vtep: "192.168.0.3" }, // same IP as an earlier entry, another MAC
      { ip: "10.40.0.2", mac: "02:42:0a:28:00:77", vtep: "192.168.0.3" }, // the local endpoint's IP
    ];
    const report = await reconciler.reconcile(
      desiredState([
        network(0),
        network(44, { vtepMac: "not-a-mac" }),
        network(42, { localEndpoints: [good, ...badLocals], remoteEndpoints: [...remotes("192.168.0.2"), ...badRemotes] }),
        network(42),
      ]),
    );
    expect(report.errors).toEqual([]);
    expect(report.skipped.map((s) => s.reason)).toEqual([
      "vni: 0 is outside 1..16777215",
      'vtepMac: "not-a-mac" is not a MAC address',
      expect.stringMatching(/^netns: .* is neither a namespace name/),
      'ifName: "a-name-far-too-long" is not a valid interface name',
      'ip: "10.40.0.300" is not an IPv4 address',
      expect.stringMatching(/^netnsId: /),
      'ip: "10.40.1.300" is not an IPv4 address',
      'mac: "ff:ff:ff:ff:ff:ff" is not a unicast MAC address',
      'vtep: "127.0.0.1" is not a unicast IPv4 address',
      "ip: 10.40.1.2 is already announced with 02:42:0a:28:01:02 at 192.168.0.2",
      "ip: 10.40.0.2 belongs to a local endpoint",
      "vni: 42 appears twice",
    ]);
    expect(report.skipped[2]).toMatchObject({ endpointId: "1111111111111111" });
    expect(weftLinks(kernel)).toEqual(["weft-br42", "weft-vx42", good.hostIfName].sort());
    expect([...kernel.fdb.get("weft-vx42")!.keys()].sort()).toEqual(remotes("x").map((r) => r.mac));
  });

  it("leaves the kernel objects of an invalid network or local endpoint as they are", async () => {
    const kernel = new FakeKernel();
    const reconciler = new Reconciler(kernel);
    const a = localEndpoint("aaaaaaaaaaaa0000");
    const b = { ...localEndpoint("bbbbbbbbbbbb0000", "c2"), ip: "10.40.0.3" };
    await reconciler.reconcile(desiredState([network(42, { localEndpoints: [a, b], remoteEndpoints: remotes("192.168.0.2") }), network(43, { localEndpoints: [localEndpoint("cccccccccccc0000", "c3")] })]));
    const before = weftLinks(kernel);
    const report = await reconciler.reconcile(
      desiredState([network(42, { localEndpoints: [a, { ...b, mac: "garbage" }], remoteEndpoints: remotes("192.168.0.2") }), network(43, { mtu: 1 })]),
    );
    expect(report).toMatchObject({ linksDeleted: 0, linksCreated: 0, fdbRemoved: 0, errors: [] });
    expect(report.skipped).toHaveLength(2);
    expect(weftLinks(kernel)).toEqual(before);
  });

  it("never reads a missing overlay part as no networks", async () => {
    const kernel = new FakeKernel();
    const reconciler = new Reconciler(kernel);
    await reconciler.reconcile(desiredState([network(42, { remoteEndpoints: remotes("192.168.0.2") })]));
    const oldShape = { underlay: { ip: "192.168.0.1", mtu: 1500 }, networks: [] } as unknown as Parameters<Reconciler["reconcile"]>[0];
    const report = await reconciler.reconcile(oldShape);
    expect(report.skipped).toEqual([{ object: "overlay", reason: "networks: must be a list" }]);
    expect(report).toMatchObject({ linksDeleted: 0, fdbRemoved: 0 });
    expect(weftLinks(kernel)).toEqual(["weft-br42", "weft-vx42"]);
  });

  it("accepts MACs in either case and programs them in lower case", async () => {
    const kernel = new FakeKernel();
    const upper = remotes("192.168.0.2", 1).map((r) => ({ ...r, mac: r.mac.toUpperCase() }));
    const report = await new Reconciler(kernel).reconcile(desiredState([network(42, { vtepMac: "02:AA:00:00:00:2A", remoteEndpoints: upper })]));
    expect(report).toMatchObject({ skipped: [], errors: [], fdbAdded: 1 });
    expect([...kernel.fdb.get("weft-vx42")!.keys()]).toEqual(["02:42:0a:28:01:02"]);
    expect(kernel.links.get("weft-vx42")!.mac).toBe("02:aa:00:00:00:2a");
  });

  it("changes nothing when the underlay itself is invalid, and says so", async () => {
    const kernel = new FakeKernel();
    const reconciler = new Reconciler(kernel);
    await reconciler.reconcile(desiredState([network(42, { remoteEndpoints: remotes("192.168.0.2") })]));
    const report = await reconciler.reconcile({ underlay: { ip: "fe80::1", mtu: 1500 }, overlay: { networks: [] } });
    expect(report.skipped).toEqual([{ object: "underlay", reason: 'ip: "fe80::1" is not an IPv4 address' }]);
    expect(report.linksDeleted).toBe(0);
    expect(weftLinks(kernel)).toEqual(["weft-br42", "weft-vx42"]);
  });
});

describe("prune and ownsVeth", () => {
  const a = localEndpoint("aaaaaaaaaaaa0000");
  const full = () => desiredState([network(42, { localEndpoints: [a], remoteEndpoints: remotes("192.168.0.2") }), network(43, { remoteEndpoints: remotes("192.168.0.5", 1) })]);

  it("with prune=false removes nothing the state does not name: veths, devices, FDB entries, neighbours", async () => {
    const kernel = new FakeKernel();
    const reconciler = new Reconciler(kernel);
    await reconciler.reconcile(full());
    kernel.addFdb("weft-vx42", "02:42:0a:28:09:09", "192.168.0.9");
    kernel.addNeighbour({ device: "weft-vx42", ip: "10.40.9.9", mac: "02:42:0a:28:09:09" });
    const links = weftLinks(kernel);
    // A restart before gossip synced: no remote endpoints known yet, one new local endpoint.
    const b = { ...localEndpoint("bbbbbbbbbbbb0000", "c2"), ip: "10.40.0.3" };
    const report = await reconciler.reconcile(desiredState([network(42, { localEndpoints: [b] })]), { prune: false });
    expect(report).toMatchObject({ linksDeleted: 0, fdbRemoved: 0, neighboursRemoved: 0, linksCreated: 1, errors: [] });
    expect(report.orphanVeths).toEqual([a.hostIfName]);
    expect(weftLinks(kernel)).toEqual([...links, b.hostIfName].sort());
    expect([...kernel.fdb.get("weft-vx42")!.keys()].sort()).toEqual([...remotes("x").map((r) => r.mac), "02:42:0a:28:09:09"].sort());
    expect(kernel.neighbours.get("weft-vx42")!.size).toBe(4);
    expect(kernel.fdb.get("weft-vx43")!.size).toBe(1);
  });

  it("with prune=false still repairs what the state names: a MAC's VTEP, a device's MTU", async () => {
    const kernel = new FakeKernel();
    const reconciler = new Reconciler(kernel);
    await reconciler.reconcile(full());
    kernel.links.get("weft-br42")!.mtu = 9000;
    const report = await reconciler.reconcile(desiredState([network(42, { remoteEndpoints: remotes("192.168.0.3", 1) })]), { prune: false });
    expect(report).toMatchObject({ fdbRemoved: 1, fdbAdded: 1, linksDeleted: 0 });
    expect([...kernel.fdb.get("weft-vx42")!.get("02:42:0a:28:01:02")!]).toEqual(["192.168.0.3"]);
    expect(kernel.fdb.get("weft-vx42")!.size).toBe(3);
    expect(kernel.links.get("weft-br42")!.mtu).toBe(1450);
  });

  it("removes a weft veth the state does not name only when ownsVeth says so, and reports the others", async () => {
    const kernel = new FakeKernel();
    const reconciler = new Reconciler(kernel);
    const b = { ...localEndpoint("bbbbbbbbbbbb0000", "c2"), ip: "10.40.0.3" };
    const c = localEndpoint("cccccccccccc0000", "c3");
    await reconciler.reconcile(desiredState([network(42, { localEndpoints: [a, b] }), network(43, { localEndpoints: [c] })]));
    const report = await reconciler.reconcile(desiredState([]), { ownsVeth: (name) => name === b.hostIfName });
    expect(report.orphanVeths.sort()).toEqual([a.hostIfName, c.hostIfName].sort());
    expect(kernel.links.has(b.hostIfName)).toBe(false);
    // The devices of a network stay while a veth it does not own is still on its bridge.
    expect(weftLinks(kernel)).toEqual([a.hostIfName, c.hostIfName, "weft-br42", "weft-br43", "weft-vx42", "weft-vx43"].sort());
    expect(kernel.links.get(a.hostIfName)!.master).toBe("weft-br42");
  });
});

describe("a namespace replaced at the same path", () => {
  const recorded = { dev: 4, ino: 4026532000 };
  const endpoint = { ...localEndpoint("0123456789abcdef", "/proc/4242/ns/net"), netnsId: recorded };

  it("is not given the endpoint's interface: the error says namespace-changed with the endpoint id", async () => {
    const kernel = new FakeKernel({ namespaceIdentity: () => ({ dev: 4, ino: 4026532999 }) });
    const report = await new Reconciler(kernel).reconcile(desiredState([network(42, { localEndpoints: [endpoint] })]));
    expect(report.errors).toEqual([expect.objectContaining({ code: "namespace-changed", endpointId: endpoint.id, object: `link ${endpoint.hostIfName}` })]);
    expect(kernel.containerInterfaces.size).toBe(0);
    expect(kernel.links.has(endpoint.hostIfName)).toBe(false);
  });

  it("is told apart by its cookie when the kernel gave the new namespace the old inode number", async () => {
    const withCookie = { ...endpoint, netnsId: { ...recorded, cookie: "4097" } };
    const kernel = new FakeKernel({ namespaceIdentity: () => ({ ...recorded, cookie: "8193" }) });
    const report = await new Reconciler(kernel).reconcile(desiredState([network(42, { localEndpoints: [withCookie] })]));
    expect(report.errors).toEqual([expect.objectContaining({ code: "namespace-changed", endpointId: endpoint.id })]);
    expect(kernel.containerInterfaces.size).toBe(0);
  });

  it("is reported the same way when the namespace is gone, and an unchanged one gets its interface", async () => {
    const gone = new FakeKernel({ namespaceExists: () => false });
    const report = await new Reconciler(gone).reconcile(desiredState([network(42, { localEndpoints: [endpoint] })]));
    expect(report.errors).toEqual([expect.objectContaining({ code: "namespace-changed", endpointId: endpoint.id })]);
    const same = new FakeKernel({ namespaceIdentity: () => ({ ...recorded }) });
    const ok = await new Reconciler(same).reconcile(desiredState([network(42, { localEndpoints: [endpoint] })]));
    expect(ok.errors).toEqual([]);
    expect(same.containerInterfaces.has(endpoint.hostIfName)).toBe(true);
  });
});

it("hostIfNameFor is what the fixtures use", () => {
  expect(localEndpoint("0123456789abcdef").hostIfName).toBe(hostIfNameFor("0123456789abcdef"));
});
