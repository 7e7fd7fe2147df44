// This node's record in etcd, bound to a lease kept alive by the client. A lease lost (revoked, or
// expired while etcd was stalled or unreachable) is replaced and the record put again as soon as etcd
// answers, so that peers see the node back at once.
import type { Lease } from "etcd3";
import { errorText } from "../../proto/values/index.js";
import { isRetryable, retry } from "../retryable.js";
import { toWeftError, type EtcdRequests } from "./etcd-requests.js";
import { parseNodeRecord, type NodeRecord } from "./records.js";

export class NodeLeaseKeeper {
  // The record this agent registered, and the lease keeping it; replaced when the lease is lost.
  private node: NodeRecord | undefined;
  private lease: Lease | undefined;
  private reacquiring = false;
  private readonly closing = new AbortController();

  constructor(
    private readonly etcd: EtcdRequests,
    private readonly ttlSeconds: number,
  ) {}

  async register(record: NodeRecord): Promise<void> {
    const valid = parseNodeRecord("", record);
    this.node = valid;
    const lease = this.lease;
    if (lease) {
      try {
        await lease.put(this.etcd.keys.node(valid.name)).value(JSON.stringify(valid)).exec();
        return;
      } catch (err) {
        if (isRetryable(err)) throw toWeftError(err, "etcd: could not register node");
        // The lease is gone on the server (revoked or expired): take a new one below.
        if (this.lease === lease) this.lease = undefined;
        lease.release();
      }
    }
    await this.acquireLeaseAndPut(valid);
  }

  /** Stops keepalive without revoking the lease (see Registry.close). */
  close(): void {
    this.closing.abort(new Error("the registry is closed"));
    this.lease?.release();
    this.lease = undefined;
  }

  /**
   * Back in touch with etcd: if the lease expired meanwhile (a stall or partition longer than its
   * TTL), re-register at once rather than at the next keepalive, up to TTL/3 later.
   */
  async checkNow(): Promise<void> {
    const lease = this.lease;
    if (lease === undefined) return;
    try {
      const response = await lease.keepaliveOnce({ deadline: Date.now() + 2000 });
      if (String(response.TTL) !== "0" || this.lease !== lease || this.closing.signal.aborted) return;
      this.etcd.log("node lease expired while etcd was unreachable; re-registering");
      this.replace(lease);
    } catch {
      // Still unreachable, or the lease is unknown: the keepalive loop reports loss as usual.
    }
  }

  private async acquireLeaseAndPut(record: NodeRecord): Promise<void> {
    const lease = this.etcd.client.lease(this.ttlSeconds);
    lease.on("lost", (err) => {
      if (this.lease !== lease || this.closing.signal.aborted) return;
      this.etcd.log(`node lease lost (${err.message}); re-acquiring and re-registering ${record.name}`);
      this.replace(lease);
    });
    try {
      await lease.grant();
      await lease.put(this.etcd.keys.node(record.name)).value(JSON.stringify(this.node ?? record)).exec();
    } catch (err) {
      lease.release();
      throw toWeftError(err, "etcd: could not register node");
    }
    if (this.closing.signal.aborted) {
      lease.release();
      return;
    }
    this.lease?.release();
    this.lease = lease;
  }

  private replace(lost: Lease): void {
    if (this.lease === lost) this.lease = undefined;
    lost.release();
    void this.reacquire();
  }

  /** Takes a new lease and puts the record again, retrying until it works or the registry closes. */
  private async reacquire(): Promise<void> {
    if (this.reacquiring || !this.node) return;
    this.reacquiring = true;
    try {
      await retry(
        async () => {
          if (this.lease || !this.node) return;
          await this.acquireLeaseAndPut(this.node);
          this.etcd.log(`node ${this.node.name} registered again under a new lease`);
        },
        {
          minDelayMs: 200,
          maxDelayMs: 2000,
          signal: this.closing.signal,
          onFailure: (err: unknown) => this.etcd.log(`re-registering node failed (${errorText(err)}); retrying`),
        },
      );
    } catch {
      // Closed while retrying.
    } finally {
      this.reacquiring = false;
    }
  }
}
