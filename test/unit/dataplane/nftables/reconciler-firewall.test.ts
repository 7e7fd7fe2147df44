import { describe, expect, it } from "vitest";
import { FakeKernel } from "../../../../dataplane/fake-kernel.js";
import { KernelError, Reconciler, firewallChange, renderFirewall, type DesiredState, type Firewall, type NftTable } from "../../../../dataplane/index.js";
import { desiredState, network } from "../fixtures.js";
import { GOLDEN_CASES } from "./firewall-fixtures.js";
import { MESH_GOLDEN_CASES } from "./mesh-fixtures.js";

/** Records what the reconciler asks of the firewall; `present` stands for the table in the kernel. */
class RecordingFirewall implements Firewall {
  written: string | undefined;
  present = false;
  events: string[] = [];
  failApply: Error | undefined;

  constructor(private readonly kernel: FakeKernel) {}

  async apply(table: NftTable): Promise<boolean> {
    const change = firewallChange(undefined, table);
    const rendered = change.kind === "none" ? "" : change.script;
    this.events.push(`apply after ${this.kernel.applyCalls} kernel applies`);
    if (this.failApply) throw this.failApply;
    if (rendered === this.written) return false;
    this.written = rendered;
    this.present = true;
    return true;
  }

  async observeTable(): Promise<boolean> {
    this.events.push("observe");
    if (this.written !== undefined && this.present) return true;
    this.written = undefined;
    return false;
  }
}

const withFirewall = (desired: DesiredState, firewall = GOLDEN_CASES.egress!): DesiredState => ({ ...desired, firewall });

describe("Reconciler with a firewall", () => {
  it("writes the firewall after the netlink parts, and not again while nothing changed", async () => {
    const kernel = new FakeKernel();
    const firewall = new RecordingFirewall(kernel);
    const reconciler = new Reconciler(kernel, { firewall });
    const desired = withFirewall(desiredState([network(42)]));
    const first = await reconciler.reconcile(desired);
    expect(first).toMatchObject({ linksCreated: 2, firewallApplied: true, errors: [], skipped: [] });
    expect(firewall.events).toEqual(["observe", "apply after 1 kernel applies"]);
    expect(firewall.written).toBe(renderFirewall(GOLDEN_CASES.egress!));
    const second = await reconciler.reconcile(desired);
    expect(second.firewallApplied).toBe(false);
  });

  it("writes again when a full run finds the table gone (a foreign nft flush ruleset)", async () => {
    const kernel = new FakeKernel();
    const firewall = new RecordingFirewall(kernel);
    const reconciler = new Reconciler(kernel, { firewall, firewallCheckIntervalMs: 0 });
    const desired = withFirewall(desiredState([network(42)]));
    await reconciler.reconcile(desired);
    firewall.present = false;
    expect((await reconciler.reconcile(desired)).firewallApplied).toBe(true);
    expect(firewall.present).toBe(true);
  });

  it("lists the table at most once per check interval, however many full runs there are", async () => {
    const kernel = new FakeKernel();
    const firewall = new RecordingFirewall(kernel);
    const reconciler = new Reconciler(kernel, { firewall, firewallCheckIntervalMs: 3_600_000 });
    const desired = withFirewall(desiredState([network(42)]));
    for (let i = 0; i < 5; i++) await reconciler.reconcile(desired);
    expect(firewall.events.filter((e) => e === "observe")).toEqual(["observe"]);
  });

  it("writes a changed firewall", async () => {
    const kernel = new FakeKernel();
    const firewall = new RecordingFirewall(kernel);
    const reconciler = new Reconciler(kernel, { firewall });
    await reconciler.reconcile(withFirewall(desiredState([network(42)])));
    const report = await reconciler.reconcile(withFirewall(desiredState([network(42), network(43)]), GOLDEN_CASES["two-networks"]));
    expect(report.firewallApplied).toBe(true);
    expect(firewall.written).toBe(renderFirewall(GOLDEN_CASES["two-networks"]!));
  });

  it("leaves the table alone when the desired state has no firewall part, and on entry-only runs", async () => {
    const kernel = new FakeKernel();
    const firewall = new RecordingFirewall(kernel);
    const reconciler = new Reconciler(kernel, { firewall });
    const report = await reconciler.reconcile(desiredState([network(42)]));
    expect(report.firewallApplied).toBe(false);
    const entries = await reconciler.applyEntryChanges({ fdbAdd: [], fdbRemove: [], neighboursAdd: [], neighboursRemove: [] });
    expect(entries.firewallApplied).toBe(false);
    expect(firewall.events).toEqual([]);
  });

  it("skips a firewall it cannot render, naming the field, and still programs the links", async () => {
    const kernel = new FakeKernel();
    const firewall = new RecordingFirewall(kernel);
    const reconciler = new Reconciler(kernel, { firewall });
    const report = await reconciler.reconcile(withFirewall(desiredState([network(42)]), { ...GOLDEN_CASES.egress!, underlayIface: "eth0*" }));
    expect(report.skipped).toEqual([{ object: "firewall", reason: expect.stringMatching(/^firewall\.underlayIface: /) }]);
    expect(report).toMatchObject({ linksCreated: 2, firewallApplied: false });
    expect(firewall.events.filter((e) => e.startsWith("apply"))).toEqual([]);
  });

  it("reports nft's refusal as an error of the firewall and keeps the rest of the run", async () => {
    const kernel = new FakeKernel();
    const firewall = new RecordingFirewall(kernel);
    firewall.failApply = new KernelError("nft -f -: Error: Could not process rule: No such file or directory");
    const reconciler = new Reconciler(kernel, { firewall });
    const report = await reconciler.reconcile(withFirewall(desiredState([network(42)])));
    expect(report.errors).toEqual([{ object: "firewall", message: expect.stringMatching(/Could not process rule/) }]);
    expect(report).toMatchObject({ linksCreated: 2, firewallApplied: false });
  });

  it("writes the mesh with the firewall part, and skips the whole write when the mesh is invalid", async () => {
    const kernel = new FakeKernel();
    const firewall = new RecordingFirewall(kernel);
    const reconciler = new Reconciler(kernel, { firewall });
    const mesh = MESH_GOLDEN_CASES["mesh-services"]!.mesh;
    const report = await reconciler.reconcile({ ...withFirewall(desiredState([network(42)])), mesh });
    expect(report.firewallApplied).toBe(true);
    expect(firewall.written).toBe(renderFirewall(GOLDEN_CASES.egress!, mesh));
    const bad = { services: [{ ...mesh.services[0]!, bridge: "weft-br99" }] };
    const refused = await reconciler.reconcile({ ...withFirewall(desiredState([network(42)])), mesh: bad });
    expect(refused.firewallApplied).toBe(false);
    expect(refused.skipped).toEqual([{ object: "firewall", reason: expect.stringMatching(/^mesh\.services\[0\]\.bridge: weft-br99 is not the bridge of a network/) }]);
    expect(firewall.written).toBe(renderFirewall(GOLDEN_CASES.egress!, mesh));
  });
});
