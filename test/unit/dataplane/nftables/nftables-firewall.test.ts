import { describe, expect, it } from "vitest";
import { KernelError, NftablesFirewall, firewallTable, nftCounterReader, renderFirewall, type Conntrack, type NftRunner, type SlotMapChange, type SlotWriter } from "../../../../dataplane/index.js";
import { GOLDEN_CASES } from "./firewall-fixtures.js";
import { service } from "./mesh-fixtures.js";

/** A stand-in for nft holding one table: `-f -` stores the script, `list table` prints it back (with counter values that move, unless -s). */
class FakeNft {
  table: string | undefined;
  chains = "table inet weft {\n\tchain input {\n\t}\n}\n";
  counter: string | undefined;
  calls: string[][] = [];
  private listings = 0;
  failNext: string | undefined;

  readonly run: NftRunner = async (args, input) => {
    this.calls.push([...args]);
    if (this.failNext !== undefined) {
      const text = this.failNext;
      this.failNext = undefined;
      throw new KernelError(`nft ${args.join(" ")}: ${text}`, { kernelMessage: text });
    }
    if (args[0] === "-f") {
      this.table = `listed: ${input ?? ""}`;
      return "";
    }
    if (args.join(" ") === "list table inet weft" || args.join(" ") === "-s list table inet weft") {
      if (this.table === undefined) throw new KernelError("nft list table inet weft: Error: No such file or directory", { errno: 2 });
      return args[0] === "-s" ? this.table : `${this.table}\npackets ${this.listings++}`;
    }
    if (args.join(" ") === "list chains inet") return this.chains;
    if (args.join(" ") === "list counter inet weft mesh_no_backend") {
      if (this.counter === undefined) throw new KernelError("nft list counter: Error: No such file or directory", { errno: 2 });
      return this.counter;
    }
    throw new Error(`unexpected nft ${args.join(" ")}`);
  };
}

const egress = firewallTable(GOLDEN_CASES.egress!);
const twoNetworks = firewallTable(GOLDEN_CASES["two-networks"]!);

describe("NftablesFirewall", () => {
  it("writes a rendering once, and again only when it changes", async () => {
    const nft = new FakeNft();
    const writes: number[] = [];
    const firewall = new NftablesFirewall({ run: nft.run, onWrite: (ms) => writes.push(ms) });
    expect(await firewall.apply(egress)).toBe(true);
    expect(nft.calls.filter((c) => c[0] === "-f")).toHaveLength(1);
    expect(writes).toHaveLength(1);
    expect(await firewall.apply(egress)).toBe(false);
    expect(await firewall.apply(twoNetworks)).toBe(true);
    expect(nft.calls.filter((c) => c[0] === "-f")).toHaveLength(2);
    expect(nft.table).toBe(`listed: ${renderFirewall(GOLDEN_CASES["two-networks"]!)}`);
  });

  it("never lists the whole ruleset, only its own table", async () => {
    const nft = new FakeNft();
    const firewall = new NftablesFirewall({ run: nft.run });
    await firewall.apply(egress);
    await firewall.observeTable();
    await firewall.apply(egress);
    for (const call of nft.calls) expect(call.join(" ")).toMatch(/^(-f -|-s list table inet weft)$/);
  });

  it("does not take moving counters (VXLAN per peer) for drift: it lists its table without their values", async () => {
    const nft = new FakeNft();
    const firewall = new NftablesFirewall({ run: nft.run });
    await firewall.apply(firewallTable({ ...GOLDEN_CASES.egress!, peers: [{ node: "h2", underlayIp: "10.0.0.2" }] }));
    expect(await firewall.observeTable()).toBe(true);
    expect(await firewall.observeTable()).toBe(true);
    expect(nft.calls.filter((c) => c[0] === "-f")).toHaveLength(1);
  });

  it("finds a removed table, forgets its record, and so writes again", async () => {
    const nft = new FakeNft();
    const firewall = new NftablesFirewall({ run: nft.run });
    await firewall.apply(egress);
    expect(await firewall.observeTable()).toBe(true);
    nft.table = undefined; // nft flush ruleset
    expect(await firewall.observeTable()).toBe(false);
    expect(await firewall.apply(egress)).toBe(true);
    expect(nft.table).toBe(`listed: ${renderFirewall(GOLDEN_CASES.egress!)}`);
  });

  it("finds a table that someone else changed (flushed chains) and writes again", async () => {
    const nft = new FakeNft();
    const firewall = new NftablesFirewall({ run: nft.run });
    await firewall.apply(egress);
    nft.table = "table inet weft {\n}\n";
    expect(await firewall.observeTable()).toBe(false);
    expect(await firewall.apply(egress)).toBe(true);
  });

  it("reports nothing written before its first write, without running nft", async () => {
    const nft = new FakeNft();
    const firewall = new NftablesFirewall({ run: nft.run });
    expect(await firewall.observeTable()).toBe(false);
    expect(nft.calls).toEqual([]);
  });

  it("rejects with nft's message when nft refuses the script, and retries it on the next apply", async () => {
    const nft = new FakeNft();
    const firewall = new NftablesFirewall({ run: nft.run });
    nft.failNext = "Error: Could not process rule: Operation not supported";
    const error = await firewall.apply(egress).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KernelError);
    expect((error as KernelError).message).toMatch(/Operation not supported/);
    expect(await firewall.apply(egress)).toBe(true);
  });
});

describe("NftablesFirewall with the mesh", () => {
  const b = (n: number) => Array.from({ length: n }, (_, i) => ({ ip: `10.40.2.${i + 1}`, local: false }));
  const meshOf = (n: number, name = "web") => ({ services: [service(name, b(n), { vip: "10.40.255.1" })] });
  const table = (n: number, name = "web") => firewallTable(GOLDEN_CASES.egress!, meshOf(n, name));

  class RecordingConntrack implements Conntrack {
    deleted: string[][] = [];
    async deleteMeshEntries(ips: readonly string[]): Promise<number> {
      this.deleted.push([...ips]);
      return ips.length;
    }
  }

  it("writes a backend change incrementally, says which kind it wrote, and deletes the conntrack entries of a removed backend", async () => {
    const nft = new FakeNft();
    const conntrack = new RecordingConntrack();
    const writes: string[] = [];
    const firewall = new NftablesFirewall({ run: nft.run, conntrack, onWrite: (_ms, kind) => writes.push(kind) });
    await firewall.apply(table(3));
    await firewall.apply(table(4));
    expect(nft.table).toMatch(/^listed: #[^\n]*\n(delete|add) element inet weft mesh_backends_web/);
    expect(conntrack.deleted).toEqual([]);
    await firewall.apply(table(2));
    expect(writes).toEqual(["full", "incremental", "incremental"]);
    expect(conntrack.deleted).toEqual([["10.40.2.3", "10.40.2.4"]]);
  });

  it("falls back to a whole write when nft refuses the incremental one (the table changed behind its back)", async () => {
    const nft = new FakeNft();
    const writes: string[] = [];
    const firewall = new NftablesFirewall({ run: nft.run, conntrack: new RecordingConntrack(), onWrite: (_ms, kind) => writes.push(kind) });
    await firewall.apply(table(3));
    nft.failNext = "Error: Could not process rule: No such file or directory";
    expect(await firewall.apply(table(4))).toBe(true);
    expect(writes).toEqual(["full", "full"]);
    expect(nft.table).toBe(`listed: ${renderFirewall(GOLDEN_CASES.egress!, meshOf(4))}`);
  });

  it("lists only the chains of a big table to look for drift", async () => {
    const nft = new FakeNft();
    const firewall = new NftablesFirewall({ run: nft.run, conntrack: new RecordingConntrack(), fullListingLimit: 3 });
    await firewall.apply(table(3));
    expect(nft.calls.map((c) => c.join(" "))).toEqual(["-f -", "list chains inet"]);
    expect(await firewall.observeTable()).toBe(true);
    nft.chains = "";
    expect(await firewall.observeTable()).toBe(false);
  });

  it("reads the no-backend counter alone for rejectedConnections() (here through nft), 0 when there is no table", async () => {
    const nft = new FakeNft();
    const firewall = new NftablesFirewall({ run: nft.run, readCounter: nftCounterReader(nft.run) });
    expect(await firewall.rejectedConnections()).toBe(0);
    nft.counter = "table inet weft {\n\tcounter mesh_no_backend {\n\t\tpackets 17 bytes 1020\n\t}\n}\n";
    expect(await firewall.rejectedConnections()).toBe(17);
    expect(nft.calls.at(-1)).toEqual(["list", "counter", "inet", "weft", "mesh_no_backend"]);
  });

  it("writes a change confined to slot maps through the slot writer, not nft, and falls back to nft when it fails", async () => {
    const nft = new FakeNft();
    const slots: SlotMapChange[][] = [];
    let fail = false;
    const writeSlots: SlotWriter = async (_table, changes) => {
      if (fail) throw new KernelError("nftables slot write: No such file or directory", { errno: 2 });
      slots.push([...changes]);
    };
    const writes: string[] = [];
    const firewall = new NftablesFirewall({ run: nft.run, writeSlots, conntrack: new RecordingConntrack(), onWrite: (_ms, kind) => writes.push(kind) });
    await firewall.apply(table(3));
    const scripts = (): number => nft.calls.filter((c) => c[0] === "-f").length;
    expect(scripts()).toBe(1);
    await firewall.apply(table(4));
    expect(scripts()).toBe(1);
    expect(slots).toHaveLength(1);
    expect(slots[0]![0]!.map).toBe("mesh_backends_web");
    expect(slots[0]![0]!.add.some(([, ip]) => ip === "10.40.2.4")).toBe(true);
    expect(slots[0]![0]!.remove).toEqual(slots[0]![0]!.add.map(([slot]) => slot));
    // A new service is not slots alone: nft writes it.
    await firewall.apply(firewallTable(GOLDEN_CASES.egress!, { services: [...meshOf(4).services, service("zz", b(1), { vip: "10.40.255.9" })] }));
    expect(scripts()).toBe(2);
    fail = true;
    await firewall.apply(firewallTable(GOLDEN_CASES.egress!, { services: [...meshOf(5).services, service("zz", b(1), { vip: "10.40.255.9" })] }));
    expect(writes).toEqual(["full", "incremental", "incremental", "full"]);
  });
});
