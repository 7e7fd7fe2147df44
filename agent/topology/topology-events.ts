// The page's live stream (Server-Sent Events): a full snapshot every `intervalMs` (with fresh
// counters, so the rates move), and at once when the structure changed (a host, endpoint, service or
// peer state), checked every `structureCheckMs` from the agent's memory alone. Bounded: at most
// `maxClients` streams, and a client that does not read is dropped before its buffer passes
// `maxBufferedBytes`. Nothing runs while no one watches.
import type { IncomingMessage, ServerResponse } from "node:http";
import { errorText } from "../../proto/values/index.js";
import type { TopologySnapshot } from "./topology-snapshot.js";

export interface TopologyEventsOptions {
  feed: { snapshot(): Promise<TopologySnapshot>; structure(): TopologySnapshot };
  maxClients?: number;
  intervalMs?: number;
  structureCheckMs?: number;
  maxBufferedBytes?: number;
  log?: (line: string) => void;
}

export const DEFAULT_MAX_EVENT_CLIENTS = 16;

export class TopologyEvents {
  private readonly clients = new Set<ServerResponse>();
  private timers: NodeJS.Timeout[] = [];
  private lastStructure = "";
  private busy = false;
  private closed = false;

  constructor(private readonly options: TopologyEventsOptions) {}

  get clientCount(): number {
    return this.clients.size;
  }

  /** Starts a stream on `res`; false (nothing written) when the limit of clients is reached. */
  accept(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.closed || this.clients.size >= (this.options.maxClients ?? DEFAULT_MAX_EVENT_CLIENTS)) return false;
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive" });
    res.write("retry: 2000\n\n");
    this.clients.add(res);
    const drop = (): void => this.drop(res);
    req.once("close", drop);
    res.once("close", drop);
    res.once("error", drop);
    if (this.clients.size === 1) this.startTimers();
    void this.options.feed.snapshot().then(
      (snapshot) => this.send([res], snapshot),
      (err: unknown) => this.options.log?.(`topology: first snapshot failed: ${errorText(err)}`),
    );
    return true;
  }

  close(): void {
    this.closed = true;
    this.stopTimers();
    for (const res of this.clients) res.destroy();
    this.clients.clear();
  }

  private drop(res: ServerResponse): void {
    if (!this.clients.delete(res)) return;
    if (this.clients.size === 0) this.stopTimers();
  }

  private startTimers(): void {
    this.timers = [
      setInterval(() => void this.tick(() => this.options.feed.snapshot(), false), this.options.intervalMs ?? 1500),
      setInterval(() => void this.tick(async () => this.options.feed.structure(), true), this.options.structureCheckMs ?? 500),
    ];
    for (const timer of this.timers) timer.unref();
  }

  private stopTimers(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  private async tick(build: () => Promise<TopologySnapshot>, onlyWhenChanged: boolean): Promise<void> {
    if (this.busy || this.clients.size === 0) return;
    this.busy = true;
    try {
      const snapshot = await build();
      if (onlyWhenChanged && structureOf(snapshot) === this.lastStructure) return;
      this.send([...this.clients], snapshot);
    } catch (err) {
      this.options.log?.(`topology: snapshot failed: ${errorText(err)}`);
    } finally {
      this.busy = false;
    }
  }

  private send(clients: readonly ServerResponse[], snapshot: TopologySnapshot): void {
    this.lastStructure = structureOf(snapshot);
    const frame = `event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`;
    const limit = this.options.maxBufferedBytes ?? 1 << 20;
    for (const res of clients) {
      if (!this.clients.has(res)) continue;
      if (res.writableLength > limit) {
        this.options.log?.("topology: dropping an event stream whose client does not read");
        res.destroy();
        this.drop(res);
        continue;
      }
      res.write(frame);
    }
  }
}

/** Everything but the time and the counters: what makes the page redraw its boxes. */
export function structureOf(snapshot: TopologySnapshot): string {
  const { atMs: _at, links: _links, traffic: _traffic, ...structure } = snapshot;
  return JSON.stringify({ ...structure, hosts: structure.hosts.map(({ lastSeenMs: _seen, ...h }) => h) });
}
