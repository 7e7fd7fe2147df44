// Networks served for their services: a published port on any node reaches backends on any node, so
// every node serves every network that has a service with published ports, even with no container
// there. Serving means holding a slice (its first address is this host's gateway on the overlay, the
// address the mesh masquerades to towards a remote backend). The slice is claimed when such a service
// appears and released when none is left and no local endpoint uses the network, as the last detach
// does. Claims and releases run under the endpoint lifecycle's lock, so an attach never sees its
// slice released under it.
import type { Registry } from "../../controlplane/registry/index.js";
import { errorText, printable } from "../../proto/values/index.js";

export interface ServiceSlicesOptions {
  node: string;
  registry: Pick<Registry, "snapshot" | "claimSubnet" | "releaseSubnet">;
  /** Networks (known ones) with a service that publishes ports. */
  wanted: () => ReadonlySet<string>;
  hasLocalEndpoints: (network: string) => boolean;
  /** This node's slice per network, kept across restarts (the one preferred on the next claim). */
  subnets: () => Record<string, string>;
  persist: () => Promise<void>;
  /** Runs work under the endpoint lifecycle's lock. */
  exclusive: <T>(work: () => Promise<T>) => Promise<T>;
  /** A slice was claimed or released: the kernel follows. */
  changed: () => void;
  log: (level: "info" | "warn", line: string) => void;
}

export class ServiceSlices {
  private syncing: Promise<void> | undefined;
  private again = false;
  // Claims and releases made here that the registry's cache may not show yet (etcd's watch follows
  // the transaction): network -> the claimed CIDR, or null once released.
  private readonly pending = new Map<string, string | null>();

  constructor(private readonly options: ServiceSlicesOptions) {}

  /** Networks served for services whose slice this node holds now (per the registry). */
  served(): string[] {
    return [...this.options.wanted()].filter((network) => this.heldCidr(network) !== undefined).sort();
  }

  /** Whether `cidr` is this node's slice of `network` held for its services. */
  holds(network: string, cidr: string): boolean {
    return this.options.wanted().has(network) && this.heldCidr(network) === cidr;
  }

  /** Whether the slice must stay although no local endpoint uses it. */
  keeps(network: string): boolean {
    return this.options.wanted().has(network);
  }

  /** A slice of the network changed in the registry's cache: from now on the cache knows. */
  noteLeaseChange(network: string): void {
    this.pending.delete(network);
  }

  /** Claims the missing slices and releases the unneeded ones; overlapping calls share a run. */
  sync(): Promise<void> {
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      do {
        this.again = false;
        await this.options.exclusive(() => this.syncOnce());
      } while (this.again);
    })().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    const { options } = this;
    const wanted = options.wanted();
    const subnets = options.subnets();
    let changed = false;
    for (const network of wanted) {
      if (this.heldCidr(network) !== undefined) continue;
      try {
        const lease = await options.registry.claimSubnet(network, options.node, subnets[network]);
        subnets[network] = lease.cidr;
        this.pending.set(network, lease.cidr);
        changed = true;
        options.log("info", `claimed slice ${lease.cidr} of ${printable(network)}: it has services with published ports, which every node serves`);
      } catch (err) {
        options.log("warn", `could not claim a slice of ${printable(network)} for its services: ${errorText(err)} (retried on the next change or resync)`);
      }
    }
    for (const [network, cidr] of Object.entries(subnets)) {
      if (wanted.has(network) || options.hasLocalEndpoints(network) || this.heldCidr(network) !== cidr) continue;
      try {
        await options.registry.releaseSubnet(network, cidr, options.node);
        this.pending.set(network, null);
        changed = true;
        options.log("info", `released slice ${cidr} of ${printable(network)}: no service publishes there and no local endpoint uses it`);
      } catch (err) {
        options.log("warn", `could not release slice ${cidr} of ${printable(network)}: ${errorText(err)}`);
      }
    }
    if (!changed) return;
    await options.persist();
    options.changed();
  }

  private heldCidr(network: string): string | undefined {
    const cached = (this.options.registry.snapshot().subnets.get(network) ?? []).find((l) => l.node === this.options.node)?.cidr;
    if (!this.pending.has(network)) return cached;
    const pending = this.pending.get(network) ?? undefined;
    if (cached === pending) this.pending.delete(network);
    return pending;
  }
}
