import { describe, expect, it } from "vitest";
import { KernelError, NftablesFirewall, firewallTable, renderFirewall, type NftRunner } from "../../../../dataplane/index.js";
import { GOLDEN_CASES } from "./firewall-fixtures.js";

/** A stand-in for nft holding one table: `-f -` stores the script, `list table` prints it back. */
class FakeNft {
  table: string | undefined;
  calls: string[][] = [];
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
    if (args.join(" ") === "list table inet weft") {
      if (this.table === undefined) throw new KernelError("nft list table inet weft: Error: No such file or directory", { errno: 2 });
      return this.table;
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
    for (const call of nft.calls) expect(call.join(" ")).toMatch(/^(-f -|list table inet weft)$/);
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
