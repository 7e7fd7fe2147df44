// The background half of Join: waits until dockerd reports the container's process (it exists only
// after Join returns, when dockerd starts the container), then attaches a weft endpoint in that
// process's namespace (/proc/PID/ns/net, which weft accepts and watches: the endpoint is withdrawn
// when the namespace goes). The container's first instants may run before the interface is there.
import { errorText, printable, WeftError } from "../../proto/values/index.js";
import type { DockerAgent, DockerEngine } from "./docker-agent.js";
import { endpointNameFor, type Attacher } from "./docker-driver.js";
import type { DockerNetworkRecord } from "./network-store.js";
import { weftResolvConf } from "./resolv-conf.js";

export interface AttacherOptions {
  agent: DockerAgent;
  engine: DockerEngine;
  /**
   * Records the attached weft endpoint under the driver's lock, if `wanted()` there (Leave may have
   * come meanwhile); false when not recorded, and the attacher then detaches it again.
   */
  record: (networkId: string, endpointId: string, weftName: string, wanted: () => boolean) => Promise<boolean>;
  /** The container's interface on the weft network. */
  ifName?: string;
  /** Rewrites a container's resolv.conf (resolv-conf.ts); true when it did. */
  pointResolvConf?: (path: string, content: string) => Promise<boolean>;
  pollMs?: number;
  timeoutMs?: number;
  log: (line: string) => void;
}

interface Pending {
  cancelled: boolean;
  done: Promise<void>;
}

export class EndpointAttacher implements Attacher {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly options: AttacherOptions) {}

  start(record: DockerNetworkRecord, endpointId: string): void {
    const running = this.pending.get(endpointId);
    if (running && !running.cancelled) return;
    const entry: Pending = { cancelled: false, done: Promise.resolve() };
    entry.done = this.attach(record, endpointId, entry).catch((err: unknown) => {
      this.options.log(`docker: endpoint ${endpointId.slice(0, 12)}: ${errorText(err)}`);
    });
    this.pending.set(endpointId, entry);
    void entry.done.then(() => {
      if (this.pending.get(endpointId) === entry) this.pending.delete(endpointId);
    });
  }

  /** Called under the driver's lock: an attach still running detaches what it made itself. */
  cancel(endpointId: string): void {
    const entry = this.pending.get(endpointId);
    if (entry) entry.cancelled = true;
  }

  /** Resolves when no attach is pending (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.pending.values()].map((p) => p.done));
  }

  private async attach(record: DockerNetworkRecord, endpointId: string, entry: Pending): Promise<void> {
    const { agent, engine, pollMs = 50, timeoutMs = 60_000 } = this.options;
    const deadline = Date.now() + timeoutMs;
    // dockerd failing to answer once (busy starting the container) is retried like "not yet".
    let lastError = "";
    const look = () =>
      engine.containerFor(record.networkId, endpointId).catch((err: unknown) => {
        lastError = `; last: ${errorText(err)}`;
        return undefined;
      });
    let container = await look();
    while (!container) {
      if (entry.cancelled) return;
      if (Date.now() > deadline) throw new WeftError("unavailable", `dockerd did not start the container within ${timeoutMs} ms${lastError}; not attached`);
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      container = await look();
    }
    if (entry.cancelled) return;
    const ip = record.addresses?.[endpointId];
    const request = { network: record.weftNetwork, netns: `/proc/${container.pid}/ns/net`, ifName: this.options.ifName ?? "eth0", aliases: [], ...(ip ? { ip } : {}) };
    let name = endpointNameFor(container.name, endpointId);
    let endpoint;
    try {
      endpoint = await agent.attach({ ...request, name });
    } catch (err) {
      // A name weft already has (another container of that name elsewhere) falls back to the id.
      if (!(err instanceof WeftError && err.code === "already-exists" && err.field === "name")) throw err;
      name = endpointNameFor("", endpointId);
      endpoint = await agent.attach({ ...request, name });
    }
    if (!(await this.options.record(record.networkId, endpointId, name, () => !entry.cancelled))) {
      // Leave came while attaching.
      await agent.detach(name).catch(() => undefined);
      return;
    }
    this.options.log(`docker: container ${printable(container.name)} attached to ${record.weftNetwork} as ${name}`);
    const resolvConf = weftResolvConf(endpoint.dns, record.weftNetwork);
    if (container.resolvConfPath && resolvConf && this.options.pointResolvConf) {
      try {
        await this.options.pointResolvConf(container.resolvConfPath, resolvConf);
      } catch (err) {
        this.options.log(`docker: container ${printable(container.name)}: resolv.conf left as dockerd wrote it: ${errorText(err)}`);
      }
    }
  }
}
