import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FakeKernel } from "../../../dataplane/fake-kernel.js";
import {
  Reconciler,
  diffEgress,
  diffOverlay,
  egressHostIfNameFor,
  hostIfNameFor,
  isWeftEgressVethName,
  isWeftVethName,
  validateEgress,
  type DesiredEgress,
  type DesiredEgressLeg,
  type ObservedLink,
} from "../../../dataplane/index.js";
import { desiredState, observedWith } from "./fixtures.js";

const BRIDGE = "weft_gwbridge";

function leg(id: string, n: number, overrides: Partial<DesiredEgressLeg> = {}): DesiredEgressLeg {
  return { endpointId: id, hostIfName: egressHostIfNameFor(id), netns: `c${n}`, ifName: "eth1", ip: `172.18.0.${n + 1}/16`, mac: `02:42:ac:12:00:0${n + 1}`, gateway: "172.18.0.1", ...overrides };
}

const a = leg("aaaaaaaaaaaa0000", 1);
const b = leg("bbbbbbbbbbbb0000", 2);
const egress = (legs: DesiredEgressLeg[] = [a, b], mtu = 1450): DesiredEgress => ({ bridge: { name: BRIDGE, address: "172.18.0.1/16", mtu }, legs });
const withEgress = (part: DesiredEgress | undefined) => ({ ...desiredState([]), ...(part === undefined ? {} : { egress: part }) });

const BRIDGE_MAC = "02:42:ac:12:00:01"; // macForAddress("172.18.0.1")
const bridgeLink = (overrides: Partial<ObservedLink> = {}): ObservedLink => ({ name: BRIDGE, ifindex: 50, kind: "bridge", mac: BRIDGE_MAC, mtu: 1450, up: true, ...overrides });
const legLink = (l: DesiredEgressLeg, overrides: Partial<ObservedLink> = {}): ObservedLink => ({
  name: l.hostIfName,
  ifindex: 60,
  kind: "veth",
  mac: "02:00:00:00:00:60",
  mtu: 1450,
  up: true,
  master: BRIDGE,
  isolated: true,
  ...overrides,
});
const bridgeAddress = { device: BRIDGE, ip: "172.18.0.1", prefixLen: 16 };

describe("egress names", () => {
  it("are 15 characters, weft's own, and never an overlay veth's name", () => {
    const name = egressHostIfNameFor("0123456789ABCDEF");
    expect(name).toBe("weftg0123456789");
    expect(name).toHaveLength(15);
    expect(isWeftEgressVethName(name)).toBe(true);
    expect(isWeftVethName(name)).toBe(false);
    expect(isWeftEgressVethName(hostIfNameFor("0123456789abcdef"))).toBe(false);
    expect(() => egressHostIfNameFor("xyz")).toThrow(/endpointId/);
  });

  it("are left alone by the overlay's differ, and overlay veths by the egress differ", () => {
    const overlayVeth: ObservedLink = { name: hostIfNameFor("0123456789abcdef"), ifindex: 7, kind: "veth", mac: "02:00:00:00:00:07", mtu: 1450, up: true, master: "weft-br42" };
    const observed = observedWith([bridgeLink(), legLink(a), overlayVeth], { addresses: [bridgeAddress] });
    expect(diffOverlay(observed, desiredState([])).plan.links).not.toContainEqual(expect.objectContaining({ name: a.hostIfName }));
    expect(diffEgress(observed, egress([])).plan.links).toEqual([{ kind: "delete-link", name: a.hostIfName }]);
  });
});

describe("diffEgress", () => {
  it("creates the bridge with its address, turns on forwarding, and makes each leg", () => {
    const plan = diffEgress(observedWith([], { sysctls: { "net.ipv4.ip_forward": "0" } }), egress()).plan;
    expect(plan.links).toEqual([
      { kind: "create-bridge", name: BRIDGE, mtu: 1450, mac: BRIDGE_MAC },
      { kind: "add-address", device: BRIDGE, ip: "172.18.0.1", prefixLen: 16 },
      { kind: "set-sysctl", name: "net.ipv4.ip_forward", value: "1" },
      { kind: "create-egress-leg", leg: a, mtu: 1450, master: BRIDGE },
      { kind: "create-egress-leg", leg: b, mtu: 1450, master: BRIDGE },
    ]);
    expect(plan.fdbAdd).toEqual([]);
  });

  it("plans nothing when the kernel matches", () => {
    const observed = observedWith([bridgeLink(), legLink(a), legLink(b)], { addresses: [bridgeAddress] });
    expect(diffEgress(observed, egress()).plan.links).toEqual([]);
  });

  it("repairs the bridge's MAC, MTU, state and address, a leg's port isolation, master, state and MTU (both ends)", () => {
    const observed = observedWith(
      [
        bridgeLink({ mtu: 1500, up: false, mac: "02:00:00:00:00:50" }),
        legLink(a, { isolated: false, mtu: 1500 }),
        legLink(b, { master: "docker0", up: false }),
      ],
      { addresses: [{ device: BRIDGE, ip: "172.19.0.1", prefixLen: 16 }, { device: "eth0", ip: "10.0.0.5", prefixLen: 24 }] },
    );
    expect(diffEgress(observed, egress()).plan.links).toEqual([
      { kind: "delete-address", device: BRIDGE, ip: "172.19.0.1", prefixLen: 16 },
      { kind: "add-address", device: BRIDGE, ip: "172.18.0.1", prefixLen: 16 },
      { kind: "set-link", name: BRIDGE, mac: BRIDGE_MAC, mtu: 1450, up: true },
      { kind: "set-bridge-port", name: a.hostIfName, isolated: true },
      { kind: "set-veth-mtu", hostIfName: a.hostIfName, container: { endpointId: a.endpointId, netns: a.netns, ifName: "eth1" }, mtu: 1450 },
      { kind: "set-link", name: b.hostIfName, master: BRIDGE, up: true },
      { kind: "set-bridge-port", name: b.hostIfName, isolated: true },
    ]);
  });

  it("remakes a link with the bridge's name that is not a bridge, and enslaves the legs to the new one", () => {
    const observed = observedWith([bridgeLink({ kind: "dummy" }), legLink(a)], { addresses: [bridgeAddress] });
    expect(diffEgress(observed, egress([a])).plan.links).toEqual([
      { kind: "delete-link", name: BRIDGE },
      { kind: "create-bridge", name: BRIDGE, mtu: 1450, mac: BRIDGE_MAC },
      { kind: "add-address", device: BRIDGE, ip: "172.18.0.1", prefixLen: 16 },
      { kind: "set-link", name: a.hostIfName, master: BRIDGE },
      { kind: "set-bridge-port", name: a.hostIfName, isolated: true },
    ]);
  });

  it("removes a leg the part does not name, under the same prune and ownsVeth rules as the overlay's veths", () => {
    const observed = observedWith([bridgeLink(), legLink(a), legLink(b)], { addresses: [bridgeAddress] });
    expect(diffEgress(observed, egress([a])).plan.links).toEqual([{ kind: "delete-link", name: b.hostIfName }]);
    const notOwned = diffEgress(observed, egress([a]), { ownsVeth: () => false });
    expect(notOwned.plan.links).toEqual([]);
    expect(notOwned.orphanVeths).toEqual([b.hostIfName]);
    const unpruned = diffEgress(observed, egress([a]), { prune: false });
    expect(unpruned.plan.links).toEqual([]);
    expect(unpruned.orphanVeths).toEqual([b.hostIfName]);
  });

  it("never touches links that only look like legs: another kind, or another name", () => {
    const observed = observedWith(
      [bridgeLink(), { ...legLink(b), kind: "dummy" }, { ...legLink(b), name: "weftgXYZ", ifindex: 61 }, { ...legLink(b), name: "veth1234", ifindex: 62 }],
      { addresses: [bridgeAddress] },
    );
    expect(diffEgress(observed, egress([])).plan.links).toEqual([]);
  });
});

describe("validateEgress", () => {
  it("skips an invalid leg alone, naming the field, and holds its host end", () => {
    const bad = [
      leg("cccccccccccc0000", 3, { ip: "172.19.0.4/16" }),
      leg("dddddddddddd0000", 4, { ip: "172.18.0.2/16" }), // a's address
      leg("eeeeeeeeeeee0000", 5, { gateway: "10.0.0.1" }),
      leg("ffffffffffff0000", 6, { mac: "01:00:5e:00:00:01" }),
      leg("aaaabbbbcccc0000", 7, { netns: "../etc" }),
      leg("bbbbccccdddd0000", 8, { ifName: "this-name-is-too-long" }),
      leg("ccccddddeeee0000", 9, { ip: "172.18.0.0/16" }),
      { ...leg("ddddeeeeffff0000", 10), hostIfName: "eth0" },
    ];
    const valid = validateEgress(egress([a, ...bad, b]));
    expect(valid.egress?.legs).toEqual([a, b]);
    expect(valid.skipped.map((s) => s.reason)).toEqual([
      "ip: 172.19.0.4/16 is outside the bridge's network 172.18.0.1/16",
      "ip: 172.18.0.2 is already taken on the bridge",
      'gateway: "10.0.0.1" is not another address of the leg\'s network 172.18.0.6/16',
      'mac: "01:00:5e:00:00:01" is not a unicast MAC address',
      expect.stringMatching(/^netns: /),
      'ifName: "this-name-is-too-long" is not a valid interface name',
      'ip: "172.18.0.0/16" is not a host address with a prefix length',
      'hostIfName: "eth0" is not weftg + 10 hex digits',
    ]);
    expect(valid.skipped[0]).toMatchObject({ object: `egress leg "${bad[0]!.hostIfName}"`, endpointId: "cccccccccccc0000" });
    expect([...valid.heldLegs]).toEqual(bad.slice(0, 7).map((l) => l.hostIfName));
  });

  it("refuses the whole part for a bad bridge, naming the field", () => {
    const reasons = [
      { ...egress(), bridge: { name: "weft-br7", address: "172.18.0.1/16", mtu: 1450 } },
      { ...egress(), bridge: { name: BRIDGE, address: "172.18.0.1", mtu: 1450 } },
      { ...egress(), bridge: { name: BRIDGE, address: "172.18.0.1/16", mtu: 20 } },
      { ...egress(), legs: "none" as unknown as DesiredEgressLeg[] },
      null as unknown as DesiredEgress,
    ].map((part) => validateEgress(part));
    for (const result of reasons) expect(result.egress).toBeUndefined();
    expect(reasons.map((r) => r.skipped[0]!.reason)).toEqual([
      'bridge.name: "weft-br7" is the name of another weft device',
      'bridge.address: "172.18.0.1" is not a host address with a prefix length, e.g. 172.18.0.1/16',
      "bridge.mtu: 20 is outside 68..65535",
      "legs: must be a list",
      "must be an object with bridge and legs",
    ]);
  });
});

describe("the egress part in the Reconciler (FakeKernel)", () => {
  it("builds the bridge and the legs, reports ip_forward once, and a second run does nothing", async () => {
    const kernel = new FakeKernel();
    const reconciler = new Reconciler(kernel);
    const first = await reconciler.reconcile(withEgress(egress()));
    expect(first).toMatchObject({ linksCreated: 3, errors: [], skipped: [], sysctlsChanged: ["net.ipv4.ip_forward=1"] });
    expect(kernel.links.get(a.hostIfName)).toMatchObject({ master: BRIDGE, isolated: true, mtu: 1450, up: true });
    expect(kernel.containerInterfaces.get(a.hostIfName)).toMatchObject({ netns: "c1", ifName: "eth1", ip: "172.18.0.2", prefixLen: 16, mtu: 1450, defaultRoute: "172.18.0.1" });
    expect(kernel.addresses.get(BRIDGE)).toEqual([bridgeAddress]);
    const second = await reconciler.reconcile(withEgress(egress()));
    expect(second).toMatchObject({ linksCreated: 0, linksDeleted: 0, errors: [] });
    expect(second.sysctlsChanged).toBeUndefined();
    expect(kernel.applyCalls).toBe(1);
  });

  it("repairs a changed MTU on both ends of every leg and on the bridge", async () => {
    const kernel = new FakeKernel();
    const reconciler = new Reconciler(kernel);
    await reconciler.reconcile(withEgress(egress()));
    const report = await reconciler.reconcile(withEgress(egress([a, b], 1400)));
    expect(report.errors).toEqual([]);
    for (const l of [a, b]) {
      expect(kernel.links.get(l.hostIfName)!.mtu).toBe(1400);
      expect(kernel.containerInterfaces.get(l.hostIfName)!.mtu).toBe(1400);
    }
    expect(kernel.links.get(BRIDGE)!.mtu).toBe(1400);
  });

  it("leaves egress objects alone when the part is absent or invalid, and never clears ip_forward", async () => {
    const kernel = new FakeKernel();
    const reconciler = new Reconciler(kernel);
    await reconciler.reconcile(withEgress(egress()));
    const before = [...kernel.links.keys()].sort();
    const absent = await reconciler.reconcile(withEgress(undefined));
    expect(absent).toMatchObject({ linksDeleted: 0, skipped: [], orphanVeths: [] });
    const invalid = await reconciler.reconcile(withEgress({ ...egress([]), bridge: { name: BRIDGE, address: "nope", mtu: 1450 } }));
    expect(invalid.linksDeleted).toBe(0);
    expect(invalid.skipped).toEqual([{ object: "egress", reason: 'bridge.address: "nope" is not a host address with a prefix length, e.g. 172.18.0.1/16' }]);
    expect([...kernel.links.keys()].sort()).toEqual(before);
    expect(kernel.sysctls.get("net.ipv4.ip_forward")).toBe("1");
  });

  it("with one invalid leg applies the others, and keeps the invalid leg's existing host end", async () => {
    const kernel = new FakeKernel();
    const reconciler = new Reconciler(kernel);
    await reconciler.reconcile(withEgress(egress([a])));
    const report = await reconciler.reconcile(withEgress(egress([{ ...a, mac: "zz" }, b])));
    expect(report.skipped).toEqual([{ object: `egress leg "${a.hostIfName}"`, endpointId: a.endpointId, reason: 'mac: "zz" is not a unicast MAC address' }]);
    expect(report).toMatchObject({ linksCreated: 1, linksDeleted: 0, errors: [] });
    expect(kernel.links.has(a.hostIfName)).toBe(true);
    expect(kernel.links.has(b.hostIfName)).toBe(true);
  });

  it("with prune=false removes no leg and no bridge address, but still makes and repairs what it names", async () => {
    const kernel = new FakeKernel();
    const reconciler = new Reconciler(kernel);
    await reconciler.reconcile(withEgress(egress([a])));
    kernel.links.get(a.hostIfName)!.isolated = false;
    const report = await reconciler.reconcile(withEgress(egress([b])), { prune: false });
    expect(report).toMatchObject({ linksCreated: 1, linksDeleted: 0, orphanVeths: [a.hostIfName], errors: [] });
    expect(kernel.links.get(a.hostIfName)!.isolated).toBe(false); // not named: not touched
    await reconciler.reconcile(withEgress(egress([a, b])), { prune: false });
    expect(kernel.links.get(a.hostIfName)!.isolated).toBe(true);
  });

  it("reports a leg into a namespace that is another one now with the endpoint id, and leaves no veth", async () => {
    const kernel = new FakeKernel({ namespaceIdentity: () => ({ dev: 4, ino: 99 }) });
    const report = await new Reconciler(kernel).reconcile(withEgress(egress([{ ...a, netnsId: { dev: 4, ino: 98 } }])));
    expect(report.errors).toEqual([expect.objectContaining({ code: "namespace-changed", endpointId: a.endpointId, object: `link ${a.hostIfName}` })]);
    expect(kernel.links.has(a.hostIfName)).toBe(false);
  });
});

describe("egress convergence (property)", () => {
  const ids = ["a0000000000000", "b0000000000000", "c0000000000000", "d0000000000000"];
  const part = fc
    .tuple(fc.subarray(ids.map((id, i) => leg(id, i + 1))), fc.constantFrom(1400, 1450), fc.constantFrom("172.18.0.1/16", "172.18.0.254/16"))
    .map(([legs, mtu, address]): DesiredEgress => ({ bridge: { name: BRIDGE, address, mtu }, legs }));

  it("converges from any earlier egress in one run, then plans nothing; foreign links stay", async () => {
    await fc.assert(
      fc.asyncProperty(part, part, fc.boolean(), async (before, after, unisolate) => {
        const kernel = new FakeKernel();
        kernel.addLink({ name: "docker0", kind: "bridge", mac: "02:00:00:00:00:10", mtu: 1500, up: true });
        kernel.addLink({ name: "vethforeign", kind: "veth", mac: "02:00:00:00:00:11", mtu: 1500, up: true, master: "docker0" });
        const reconciler = new Reconciler(kernel);
        await reconciler.reconcile(withEgress(before));
        if (unisolate) for (const link of kernel.links.values()) if (isWeftEgressVethName(link.name)) link.isolated = false;
        const report = await reconciler.reconcile(withEgress(after));
        expect(report.errors).toEqual([]);
        expect(diffEgress(await kernel.observe(), after).plan.links).toEqual([]);
        const legs = [...kernel.links.keys()].filter((n) => isWeftEgressVethName(n)).sort();
        expect(legs).toEqual(after.legs.map((l) => l.hostIfName).sort());
        for (const l of after.legs) expect(kernel.links.get(l.hostIfName)).toMatchObject({ isolated: true, master: BRIDGE, mtu: after.bridge.mtu });
        expect(kernel.addresses.get(BRIDGE)).toEqual([{ device: BRIDGE, ip: after.bridge.address.split("/")[0], prefixLen: 16 }]);
        expect(kernel.links.get("vethforeign")).toMatchObject({ master: "docker0" });
      }),
      { numRuns: 200 },
    );
  });
});
