// Property: whatever the kernel holds, one reconcile makes it match the desired state, a second run
// plans nothing, every MAC keeps exactly one VTEP, and links weft did not make are left as they were.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FakeKernel } from "../../../dataplane/fake-kernel.js";
import { Reconciler, diffOverlay, hostIfNameFor, isEmptyPlan, validateOverlay, type DesiredNetwork, type DesiredState } from "../../../dataplane/index.js";

const byte = fc.integer({ min: 0, max: 5 });
const mac = byte.map((b) => `02:42:00:00:00:0${b}`);
const ip = byte.map((b) => `10.40.0.${b + 10}`);
const vtep = fc.constantFrom("192.168.0.2", "192.168.0.3", "192.168.0.4");
const remote = fc.record({ ip, mac, vtep });

const desiredState: fc.Arbitrary<DesiredState> = fc
  .tuple(
    fc.uniqueArray(fc.integer({ min: 1, max: 4 }), { maxLength: 3 }),
    fc.uniqueArray(fc.constantFrom("a0000000000000", "b0000000000000", "c0000000000000", "d0000000000000"), { maxLength: 4 }),
    fc.array(fc.array(remote, { maxLength: 6 }), { minLength: 3, maxLength: 3 }),
    fc.constantFrom(1400, 1450),
  )
  .map(([vnis, ids, remotes, mtu]) => {
    const networks: DesiredNetwork[] = vnis.map((vni, n) => ({
      vni,
      vtepMac: `02:aa:00:00:00:0${vni}`,
      mtu,
      localEndpoints: ids
        .filter((_, i) => i % vnis.length === n)
        .map((id) => ({ id, hostIfName: hostIfNameFor(id), netns: `c-${id}`, ifName: "eth0", mac: "02:42:0a:00:00:02", ip: "10.40.1.2", prefixLen: 16 })),
      remoteEndpoints: remotes[n] ?? [],
    }));
    return { underlay: { ip: "192.168.0.1", mtu: 1500 }, overlay: { networks } };
  });

const garbage = fc.array(fc.record({ mac, dst: vtep, ip, vni: fc.integer({ min: 1, max: 4 }) }), { maxLength: 6 });

describe("reconcile convergence on FakeKernel", () => {
  it("converges from any earlier state in one run and stays put", async () => {
    await fc.assert(
      fc.asyncProperty(desiredState, desiredState, garbage, async (before, after, junk) => {
        const kernel = new FakeKernel();
        kernel.addLink({ name: "eth0", kind: "", mac: "02:00:00:00:00:99", mtu: 1500, up: true });
        kernel.addLink({ name: "vxlan0", kind: "vxlan", mac: "02:00:00:00:00:98", mtu: 1450, up: true });
        kernel.addFdb("vxlan0", "02:42:00:00:00:01", "192.168.0.9");
        const reconciler = new Reconciler(kernel);
        await reconciler.reconcile(before);
        for (const entry of junk) {
          if (!kernel.links.has(`weft-vx${entry.vni}`)) continue;
          kernel.addFdb(`weft-vx${entry.vni}`, entry.mac, entry.dst);
          kernel.addNeighbour({ device: `weft-vx${entry.vni}`, ip: entry.ip, mac: entry.mac });
        }
        const report = await reconciler.reconcile(after);
        expect(report.errors).toEqual([]);
        // Conflicting remote entries (one IP or MAC announced twice) are skipped; the rest is the target.
        const valid = validateOverlay(after.overlay).overlay;
        for (const entry of report.skipped) expect(entry.reason).toMatch(/already (announced|belongs)/);
        expect(isEmptyPlan(diffOverlay(await kernel.observe(), { underlay: after.underlay, overlay: valid }).plan)).toBe(true);
        const second = await reconciler.reconcile(after);
        expect(second).toMatchObject({ linksCreated: 0, linksDeleted: 0, fdbAdded: 0, fdbRemoved: 0, neighboursAdded: 0, neighboursRemoved: 0 });

        const weftLinks = [...kernel.links.keys()].filter((n) => n.startsWith("weft")).sort();
        const expected = valid.networks.flatMap((n) => [`weft-br${n.vni}`, `weft-vx${n.vni}`, ...n.localEndpoints.map((e) => e.hostIfName)]).sort();
        expect(weftLinks).toEqual(expected);
        for (const network of valid.networks) {
          const fdb = kernel.fdb.get(`weft-vx${network.vni}`) ?? new Map<string, Set<string>>();
          const wanted = new Map(network.remoteEndpoints.map((r) => [r.mac, r.vtep]));
          expect(new Map([...fdb].map(([m, dsts]) => [m, [...dsts]]))).toEqual(new Map([...wanted].map(([m, v]) => [m, [v]])));
        }
        expect([...kernel.fdb.get("vxlan0")!.get("02:42:00:00:00:01")!]).toEqual(["192.168.0.9"]);
        expect(kernel.links.has("eth0")).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

