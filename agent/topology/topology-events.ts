// The page's live stream (Server-Sent Events): a full snapshot every `intervalMs` (with fresh
// counters, so the rates move), and at once when the structure changed (a host, endpoint, service or
// peer state), checked every `structureCheckMs` from the agent's memory alone. Bounded: at most
// `maxClients` streams, each holding at most one unsent frame (a client still busy with the last one
// skips the next, and is dropped after `maxSkippedFrames` in a row). Nothing runs while no one watches.
import type { IncomingMessage, ServerResponse } from "node:http";
import { errorText } from "../../proto/values/index.js";
import type { TopologySnapshot } from "./topology-snapshot.js";

export interface TopologyEventsOptions {
  /** snapshot: with a fresh reading of the counters; current: with the last one; structure: without counters. */
  feed: { snapshot(): Promise<TopologySnapshot>; current(): TopologySnapshot; structure(): TopologySnapshot };
  maxClients?: number;
  intervalMs?: number;
  structureCheckMs?: number;
  maxSkippedFrames?: number;
  log?: (line: string) => void;
}

export const DEFAULT_MAX_EVENT_CLIENTS = 8;

export class TopologyEvents {
  /** Each stream, with the frames it skipped in a row because it had not taken the last one yet. */
  private readonly clients = new Map<ServerResponse, number>();
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
    this.clients.set(res, 0);
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
    for (const res of this.clients.keys()) res.destroy();
    this.clients.clear();
  }

  private drop(res: ServerResponse): void {
    if (!this.clients.delete(res)) return;
    if (this.clients.size === 0) this.stopTimers();
  }

  private startTimers(): void {
    this.timers = [
      setInterval(() => void this.tick(() => this.options.feed.snapshot()), this.options.intervalMs ?? 1500),
      setInterval(() => void this.tick(async () => (structureOf(this.options.feed.structure()) === this.lastStructure ? undefined : this.options.feed.current())), this.options.structureCheckMs ?? 500),
    ];
    for (const timer of this.timers) timer.unref();
  }

  private stopTimers(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  /** Sends what `build` gives, if anything. */
  private async tick(build: () => Promise<TopologySnapshot | undefined>): Promise<void> {
    if (this.busy || this.clients.size === 0) return;
    this.busy = true;
    try {
      const snapshot = await build();
      if (snapshot) this.send([...this.clients.keys()], snapshot);
    } catch (err) {
      this.options.log?.(`topology: snapshot failed: ${errorText(err)}`);
    } finally {
      this.busy = false;
    }
  }

  private send(clients: readonly ServerResponse[], snapshot: TopologySnapshot): void {
    this.lastStructure = structureOf(snapshot);
    const frame = `event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`;
    const maxSkipped = this.options.maxSkippedFrames ?? 20;
    for (const res of clients) {
      const skipped = this.clients.get(res);
      if (skipped === undefined) continue;
      if (res.writableLength === 0) {
        this.clients.set(res, 0);
        res.write(frame);
      } else if (skipped < maxSkipped) {
        this.clients.set(res, skipped + 1);
      } else {
        this.options.log?.(`topology: dropping an event stream whose client took no snapshot for ${maxSkipped} in a row`);
        res.destroy();
        this.drop(res);
      }
    }
  }
}

/** Everything but the time and what comes from the counters: a change in it is pushed at once. */
export function structureOf(snapshot: TopologySnapshot): string {
  const { atMs: _at, links: _links, traffic: _traffic, ...structure } = snapshot;
  return JSON.stringify({ ...structure, hosts: structure.hosts.map(({ lastSeenMs: _seen, trafficUnreachable: _unreachable, ...h }) => h) });
}
