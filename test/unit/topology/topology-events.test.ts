import { EventEmitter } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { TopologyEvents, structureOf } from "../../../agent/topology/topology-events.js";
import { buildTopologySnapshot, type TopologySnapshot } from "../../../agent/topology/topology-snapshot.js";
import { ENDPOINTS, NETWORK, PEERS, SERVICES } from "./fixtures.js";

class FakeResponse extends EventEmitter {
  frames: string[] = [];
  writableLength = 0;
  destroyed = false;
  status = 0;
  writeHead(status: number): this {
    this.status = status;
    return this;
  }
  write(chunk: string): boolean {
    this.frames.push(chunk);
    return true;
  }
  destroy(): void {
    this.destroyed = true;
    this.emit("close");
  }
  snapshots(): number {
    return this.frames.filter((f) => f.startsWith("event: snapshot")).length;
  }
}

const snapshot = (nowMs = 1): TopologySnapshot =>
  buildTopologySnapshot({ self: { name: "h1", underlayIp: "10.251.0.1" }, nowMs, peers: PEERS, networks: [NETWORK], endpoints: ENDPOINTS, services: SERVICES });

const hubs: TopologyEvents[] = [];
afterEach(() => {
  for (const hub of hubs.splice(0)) hub.close();
});

function hub(options: { maxClients?: number; maxSkippedFrames?: number } = {}): TopologyEvents {
  const events = new TopologyEvents({ feed: { snapshot: async () => snapshot(Date.now()), current: () => snapshot(), structure: () => snapshot() }, intervalMs: 10, structureCheckMs: 10, ...options });
  hubs.push(events);
  return events;
}

function connect(events: TopologyEvents): { req: EventEmitter; res: FakeResponse; accepted: boolean } {
  const req = new EventEmitter();
  const res = new FakeResponse();
  const accepted = events.accept(req as unknown as IncomingMessage, res as unknown as ServerResponse);
  return { req, res, accepted };
}

async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error("condition not met within 5 s");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("topology event stream", () => {
  it("sends a snapshot at once, then keeps sending", async () => {
    const events = hub();
    const { res, accepted } = connect(events);
    expect(accepted).toBe(true);
    expect(res.status).toBe(200);
    await until(() => res.snapshots() >= 3);
    const frame = res.frames.find((f) => f.startsWith("event: snapshot"))!;
    expect(frame).toMatch(/^event: snapshot\ndata: \{.*\}\n\n$/s);
    expect(frame.split("\n")).toHaveLength(4);
  });

  it("refuses clients beyond the limit, and takes new ones when one leaves", () => {
    const events = hub({ maxClients: 2 });
    const a = connect(events);
    expect(connect(events).accepted).toBe(true);
    const refused = connect(events);
    expect(refused.accepted).toBe(false);
    expect(refused.res.frames).toEqual([]);
    a.req.emit("close");
    expect(events.clientCount).toBe(1);
    expect(connect(events).accepted).toBe(true);
  });

  it("queues nothing for a client that has not taken the last frame, and drops it when it keeps not reading", async () => {
    const events = hub({ maxSkippedFrames: 3 });
    const slow = connect(events);
    const fast = connect(events);
    await until(() => slow.res.snapshots() >= 1);
    slow.res.writableLength = 50_000;
    const sent = slow.res.frames.length;
    await until(() => slow.res.destroyed);
    expect(slow.res.frames.length).toBe(sent);
    await until(() => fast.res.snapshots() >= 5);
    expect(events.clientCount).toBe(1);
  });

  it("a client that catches up gets frames again", async () => {
    const events = hub({ maxSkippedFrames: 1000 });
    const { res } = connect(events);
    const other = connect(events);
    await until(() => res.snapshots() >= 1);
    res.writableLength = 1;
    const sent = res.snapshots();
    const otherSent = other.res.snapshots();
    await until(() => other.res.snapshots() >= otherSent + 3);
    expect(res.snapshots()).toBe(sent);
    res.writableLength = 0;
    await until(() => res.snapshots() > sent);
  });

  it("forgets a client that left; once closed it ends every stream and takes no new one", async () => {
    const events = hub();
    const { req, res } = connect(events);
    await until(() => res.snapshots() >= 1);
    req.emit("close");
    expect(events.clientCount).toBe(0);
    const late = connect(events);
    events.close();
    expect(late.res.destroyed).toBe(true);
    expect(connect(events).accepted).toBe(false);
  });

  it("the structure leaves out time and counters, so only real changes push", () => {
    const a = snapshot(1);
    const b = { ...snapshot(2), links: [{ key: "k", host: "h1", kind: "endpoint" as const, name: "x", rxBytes: 1, txBytes: 1, rxPackets: 1, txPackets: 1 }] };
    expect(structureOf(a)).toBe(structureOf(b));
    expect(structureOf({ ...a, hosts: a.hosts.map((h) => (h.name === "h3" ? { ...h, state: "dead" as const } : h)) })).not.toBe(structureOf(a));
  });
});
