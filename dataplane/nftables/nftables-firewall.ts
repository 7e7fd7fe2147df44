// The shell that writes weft's nftables table. It keeps its own record of what it last wrote, so a
// reconcile that changes nothing runs no nft at all, a change of the mesh's per-service objects writes
// only those (firewallChange), and it never lists the whole ruleset: drift (a foreign `nft flush
// ruleset`, a deleted or flushed table) is found by listing weft's table alone. Listing a table of
// hundreds of thousands of map elements takes seconds, so a big table is checked by its chains only.
import { KernelError } from "../kernel-error.js";
import { conntrackCommand, type Conntrack } from "../mesh/conntrack.js";
import { MESH_NO_BACKEND_COUNTER } from "../mesh/mesh-objects.js";
import { readInetCounterPackets } from "./nft-counter.js";
import { netlinkSlotWriter, type SlotWriter } from "./nft-slot-writer.js";
import { elementCount, type NftTable } from "./nft-table.js";
import { nftRunner, type NftRunner } from "./nft-command.js";
import { firewallChange } from "./render-firewall.js";
import { FIREWALL_FAMILY, FIREWALL_TABLE } from "./table-name.js";

export type FirewallWriteKind = "full" | "incremental";

/** What the Reconciler needs from a firewall. */
export interface Firewall {
  /** Writes `table` (one transaction, whole or only what changed) unless it is what was last written; true when it wrote. */
  apply(table: NftTable): Promise<boolean>;
  /** True when weft's table is present as last written; false (and the record forgotten) otherwise. */
  observeTable(): Promise<boolean>;
}

export interface NftablesFirewallOptions {
  /** How to run nft; nft in the agent's namespace by default. */
  run?: NftRunner;
  /** Called after each successful write with how long the nft transaction took and what it wrote (for metrics). */
  onWrite?: (durationMs: number, kind: FirewallWriteKind) => void;
  /** Deletes conntrack entries towards backends that left; conntrack(8) in the agent's namespace by default. */
  conntrack?: Conntrack;
  /** Above this many set elements, drift is looked for in the table's chains only. Default 20,000. */
  fullListingLimit?: number;
  /**
   * Reads a counter of weft's table. Default: netlink in the agent's namespace (nft-counter.ts) when
   * `run` is not given, else through `run`'s nft (which may be in another namespace).
   */
  readCounter?: CounterReader;
  /**
   * Writes changes confined to Maglev slot maps without nft. Default: netlink in the agent's namespace
   * (nft-slot-writer.ts) when `run` is not given, else none (nft writes them).
   */
  writeSlots?: SlotWriter;
}

/** The packet count of a named counter of weft's table, undefined when it (or the table) is absent. */
export type CounterReader = (name: string) => Promise<number | undefined>;

/** A CounterReader through `nft list counter` (for a namespace other than the agent's; slow on a big table). */
export function nftCounterReader(run: NftRunner): CounterReader {
  return async (name) => {
    let listed: string;
    try {
      listed = await run(["list", "counter", FIREWALL_FAMILY, FIREWALL_TABLE, name]);
    } catch (error) {
      if (error instanceof KernelError && error.errno === 2) return undefined;
      throw error;
    }
    const packets = /packets (\d+)/.exec(listed);
    if (packets === null) throw new KernelError(`nft list counter ${name}: no packet count in its listing`);
    return Number(packets[1]);
  };
}

export class NftablesFirewall implements Firewall {
  private readonly run: NftRunner;
  private readonly onWrite: (durationMs: number, kind: FirewallWriteKind) => void;
  private readonly conntrack: Conntrack;
  private readonly fullListingLimit: number;
  private readonly readCounter: CounterReader;
  private readonly writeSlots: SlotWriter | undefined;
  // What apply() last wrote, and nft's listing right after: observeTable() compares against the
  // listing, since nft prints a table in its own layout.
  private written: NftTable | undefined;
  private listed: string | undefined;

  constructor(options: NftablesFirewallOptions = {}) {
    this.run = options.run ?? nftRunner();
    this.onWrite = options.onWrite ?? (() => {});
    this.conntrack = options.conntrack ?? conntrackCommand();
    this.fullListingLimit = options.fullListingLimit ?? 20_000;
    // Netlink talks to the namespace of the calling thread: only the default nft runs there too.
    const own = options.run === undefined;
    this.readCounter = options.readCounter ?? (own ? async (name) => readInetCounterPackets(FIREWALL_TABLE, name) : nftCounterReader(this.run));
    this.writeSlots = options.writeSlots ?? (own ? netlinkSlotWriter : undefined);
  }

  async apply(table: NftTable): Promise<boolean> {
    const change = firewallChange(this.written, table);
    if (change.kind === "none") return false;
    const before = this.written;
    const listedBefore = this.listed;
    this.written = undefined;
    this.listed = undefined;
    let kind: FirewallWriteKind = change.kind;
    let started = performance.now();
    try {
      if (change.kind === "incremental" && change.slots !== undefined && this.writeSlots !== undefined) await this.writeSlots(FIREWALL_TABLE, change.slots, change.addressSets);
      else await this.run(["-f", "-"], change.script);
    } catch (error) {
      // The table is not as recorded (someone changed it since): write it whole instead.
      if (kind !== "incremental") throw error;
      const whole = firewallChange(undefined, table);
      if (whole.kind === "none") throw error;
      kind = "full";
      started = performance.now();
      await this.run(["-f", "-"], whole.script);
    }
    this.onWrite(performance.now() - started, kind);
    // A big table's record is its chains alone: an incremental write of elements leaves it as it was.
    const sameChains = kind === "incremental" && change.kind === "incremental" && !change.chainsChanged && listedBefore !== undefined;
    this.listed = sameChains && elementCount(table) > this.fullListingLimit ? listedBefore : await this.listTable(table);
    this.written = table;
    const gone = before === undefined ? [] : [...before.meshBackends].filter((ip) => !table.meshBackends.has(ip));
    if (gone.length > 0) await this.conntrack.deleteMeshEntries(gone);
    return true;
  }

  async observeTable(): Promise<boolean> {
    if (this.written === undefined) return false;
    const listed = await this.listTable(this.written);
    if (listed !== undefined && listed === this.listed) return true;
    this.written = undefined;
    this.listed = undefined;
    return false;
  }

  /** Connections rejected at once for lack of a backend since the table was last written whole (for metrics). */
  async rejectedConnections(): Promise<number> {
    return (await this.readCounter(MESH_NO_BACKEND_COUNTER)) ?? 0;
  }

  /** nft's listing of weft's table (of its chains alone for a big table), or undefined when there is none. */
  private async listTable(table: NftTable): Promise<string | undefined> {
    try {
      // Stateless (-s): without counter values, which move with traffic and are no drift.
      if (elementCount(table) <= this.fullListingLimit) return await this.run(["-s", "list", "table", FIREWALL_FAMILY, FIREWALL_TABLE]);
      return weftSection(await this.run(["list", "chains", FIREWALL_FAMILY]));
    } catch (error) {
      if (error instanceof KernelError && error.errno === 2) return undefined;
      throw error;
    }
  }
}

/** weft's table's part of `nft list chains inet`, or undefined when it has none. */
function weftSection(listed: string): string | undefined {
  const start = listed.indexOf(`table ${FIREWALL_FAMILY} ${FIREWALL_TABLE} {\n`);
  if (start < 0) return undefined;
  const end = listed.indexOf("\n}", start);
  return listed.slice(start, end < 0 ? undefined : end + 2);
}
