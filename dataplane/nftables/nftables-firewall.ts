// The shell that writes weft's nftables table. It keeps its own record of what it last wrote, so a
// reconcile that changes nothing runs no nft at all, and it never lists the whole ruleset: drift (a
// foreign `nft flush ruleset`, a deleted or flushed table) is found by listing weft's table alone.
import { KernelError } from "../kernel-error.js";
import { FIREWALL_FAMILY, FIREWALL_TABLE } from "./render-firewall.js";
import { nftRunner, type NftRunner } from "./nft-command.js";

/** What the Reconciler needs from a firewall. */
export interface Firewall {
  /** Writes `rendered` (one transaction) unless it is what was last written; true when it wrote. */
  apply(rendered: string): Promise<boolean>;
  /** True when weft's table is present as last written; false (and the record forgotten) otherwise. */
  observeTable(): Promise<boolean>;
}

export interface NftablesFirewallOptions {
  /** How to run nft; nft in the agent's namespace by default. */
  run?: NftRunner;
  /** Called after each successful write with how long the nft transaction took (for metrics). */
  onWrite?: (durationMs: number) => void;
}

export class NftablesFirewall implements Firewall {
  private readonly run: NftRunner;
  private readonly onWrite: (durationMs: number) => void;
  // What apply() last wrote, and nft's listing of the table right after: observeTable() compares
  // against the listing, since nft prints a table in its own layout.
  private written: string | undefined;
  private listed: string | undefined;

  constructor(options: NftablesFirewallOptions = {}) {
    this.run = options.run ?? nftRunner();
    this.onWrite = options.onWrite ?? (() => {});
  }

  async apply(rendered: string): Promise<boolean> {
    if (rendered === this.written) return false;
    this.written = undefined;
    this.listed = undefined;
    const started = performance.now();
    await this.run(["-f", "-"], rendered);
    this.onWrite(performance.now() - started);
    this.listed = await this.listTable();
    this.written = rendered;
    return true;
  }

  async observeTable(): Promise<boolean> {
    if (this.written === undefined) return false;
    const listed = await this.listTable();
    if (listed !== undefined && listed === this.listed) return true;
    this.written = undefined;
    this.listed = undefined;
    return false;
  }

  /** nft's listing of weft's table, or undefined when there is none. */
  private async listTable(): Promise<string | undefined> {
    try {
      return await this.run(["list", "table", FIREWALL_FAMILY, FIREWALL_TABLE]);
    } catch (error) {
      if (error instanceof KernelError && error.errno === 2) return undefined;
      throw error;
    }
  }
}
