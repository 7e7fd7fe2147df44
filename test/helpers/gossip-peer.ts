// A gossip speaker that lives inside a lab's namespaces, for the trust tests and the scale bench.
//
// Lab agents listen on the underlay (10.251.0.x), which exists only inside the lab's namespaces,
// so the talking happens in a child process started with `ip netns exec`. This file is both halves:
// the functions tests call from the root namespace (runShots, runFlood, startGossipPeer, ...) and,
// run as a script, the child that sends forged frames ("shots", "flood") or acts as a synthetic node
// registered in etcd with its own key, subnet slice and real GossipNode ("peer").
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import nacl from "tweetnacl";
import { etcdClientOptions } from "../../agent/etcd-client-options.js";
import {
  EndpointEntrySchema,
  ExchangeRequestSchema,
  FrameSchema,
  GossipMessageSchema,
  PingSchema,
  PushDeltaSchema,
  SignedEntrySchema,
  type GossipMessage,
} from "../../proto/gen/weft/v1/gossip_pb.js";
import { createGrpcTransport, ed25519Signatures, encodeFrame, GossipNode, type GossipPeer } from "../../controlplane/gossip/index.js";
import { formatIPv4, macForAddress, parseIPv4Cidr } from "../../proto/values/index.js";
import { createEtcdRegistry, type Registry } from "../../controlplane/registry/index.js";
import { vtepMacFor } from "../../dataplane/index.js";

const run = promisify(execFile);
const THIS_FILE = fileURLToPath(import.meta.url);
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const EXCHANGE_PATH = "/weft.v1.GossipService/Exchange";

// ---- what crosses the process boundary (JSON) ----------------------------------------------------

/** An entry to put in a forged PushDelta; signed with `secretKey` (base64, 64 bytes) or a fresh random key. */
export interface ForgedEntry {
  network: string;
  endpointId: string;
  owner: string;
  ip: string;
  mac: string;
  vtep: string;
  name?: string;
  version?: number;
  secretKey?: string;
}

/** One request to a gossip port. Exactly one of raw, garbageFrame, push, ping. */
export interface Shot {
  label: string;
  /** host:port of the agent's gossip listener. */
  target: string;
  /** Bytes (base64) sent as the gRPC request message itself, bypassing ExchangeRequest encoding. */
  raw?: string;
  /** A well-formed ExchangeRequest whose Frame holds random payload and signature bytes. */
  garbageFrame?: boolean;
  push?: ForgedEntry[];
  ping?: boolean;
  /** GossipMessage.origin for push/ping. */
  origin?: string;
  /** GossipMessage.receiver for push/ping: the target node's name (frames to anyone else are refused). */
  receiver?: string;
  /** Added to the send time (now); beyond the receiver's allowed clock skew the frame is refused. */
  sentAtOffsetMs?: number;
  /** Sends the very same bytes this many times (default 1): the copies are replays. */
  repeat?: number;
  /** Frame signing key (base64, 64 bytes); default a fresh random key. */
  secretKey?: string;
  /** Cluster key (hex, 32 bytes) to seal the frame with; unsealed when absent. */
  sealWith?: string;
  /** Cluster key (hex) to open a sealed reply with. */
  openWith?: string;
}

export interface ShotResult {
  label: string;
  /** The gRPC call failed (status message); undefined when it returned a reply. */
  error?: string;
  replyBytes: number;
  /** Nonce length of the reply frame: 24 when sealed, 0 when not. */
  replyNonceBytes: number;
  /** The reply's origin and body case, when it could be read (opened with openWith if sealed). */
  replyOrigin?: string;
  replyBody?: string;
}

export interface PeerOptions {
  /** etcd client URL, reachable from the namespace. */
  etcd: string;
  node: string;
  /** host:port to serve gossip on (an address of the namespace the peer runs in). */
  gossipListen: string;
  /** Underlay IP put into the entries as their VTEP. */
  vtep: string;
  network: string;
  /** Endpoints published at start. */
  endpoints: number;
  clusterKey?: string;
  /** Entries per pushed message. */
  maxEntriesPerMessage?: number;
}

export interface PeerReady {
  event: "ready";
  slice: string;
  publicKey: string;
  secretKey: string;
  publishedMs: number;
  published: number;
}

// ---- root-namespace side --------------------------------------------------------------------------

function childArgs(netns: string, command: string, payload: unknown): string[] {
  return ["netns", "exec", netns, process.execPath, "--import", "tsx", THIS_FILE, command, JSON.stringify(payload)];
}

/** Sends each shot from inside `netns` and returns what came back, in order. */
export async function runShots(netns: string, shots: Shot[]): Promise<ShotResult[]> {
  const { stdout } = await run("ip", childArgs(netns, "shots", shots), { cwd: REPO_ROOT, timeout: 60_000, maxBuffer: 16 << 20 });
  return JSON.parse(lastLine(stdout)) as ShotResult[];
}

export interface FloodPlan {
  /** host:port of the victim's gossip listener, and its node name. */
  target: string;
  receiver: string;
  /** A registered member's name and secret key (base64): its frames are authentic. */
  origin: string;
  secretKey: string;
  network: string;
  /** The member's slice: the forged entries' addresses lie in it, so each needs a signature check. */
  slice: string;
  vtep: string;
  durationMs: number;
  concurrency: number;
}

/**
 * From inside `netns`, floods the target for plan.durationMs with authentic frames of 4,000 entries
 * each, every entry well formed and in the member's slice but signed by another key (the dearest
 * kind of frame to take in). Resolves with how many frames were sent.
 */
export async function runFlood(netns: string, plan: FloodPlan): Promise<{ framesSent: number }> {
  const { stdout } = await run("ip", childArgs(netns, "flood", plan), { cwd: REPO_ROOT, timeout: plan.durationMs + 60_000, maxBuffer: 1 << 20 });
  return JSON.parse(lastLine(stdout)) as { framesSent: number };
}

/** A body fetched over HTTP from inside `netns` (curl). */
export async function fetchTextInNetns(netns: string, url: string): Promise<string> {
  const { stdout } = await run("ip", ["netns", "exec", netns, "curl", "-sS", "--max-time", "5", url], { timeout: 10_000, maxBuffer: 64 << 20 });
  return stdout;
}

/**
 * The value of one Prometheus sample in an exposition text, e.g.
 * metricValue(text, "weft_gossip_rejected_total", { reason: "unknown-origin" }); 0 when absent.
 */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== " " && rest[0] !== "{") continue;
    const labelText = rest[0] === "{" ? rest.slice(1, rest.indexOf("}")) : "";
    if (!wanted.every((w) => labelText.split(",").includes(w))) continue;
    return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return 0;
}

export interface GossipPeerProcess {
  ready: PeerReady;
  /** Publishes `count` more endpoints; resolves once they are in the peer's table (not yet delivered). */
  publish(count: number): Promise<void>;
  /** Stops the peer (its etcd lease expires on its own ~10 s later). */
  stop(): Promise<void>;
  readonly pid: number;
}

/** Starts a synthetic node inside `netns`; resolves once it is registered, serving and has published. */
export async function startGossipPeer(netns: string, options: PeerOptions, timeoutMs = 180_000): Promise<GossipPeerProcess> {
  const child = spawn("ip", childArgs(netns, "peer", options), { cwd: REPO_ROOT, stdio: ["pipe", "pipe", "pipe"] });
  const stderr: string[] = [];
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr.push(chunk.toString());
    if (stderr.length > 200) stderr.shift();
  });
  const lines = createInterface({ input: child.stdout! });
  const waiters: Array<(event: Record<string, unknown>) => void> = [];
  const failures: Array<(err: Error) => void> = [];
  lines.on("line", (line) => {
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    waiters.shift()?.(event);
    failures.shift();
  });
  child.on("exit", (code) => {
    for (const fail of failures.splice(0)) fail(new Error(`gossip peer exited (${code}): ${stderr.join("").slice(-2000)}`));
    waiters.splice(0);
  });
  const next = (ms: number) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`gossip peer did not answer within ${ms} ms: ${stderr.join("").slice(-2000)}`)), ms);
      waiters.push((event) => {
        clearTimeout(timer);
        resolve(event);
      });
      failures.push((err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.stdin!.end();
    const force = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(force);
  };
  let ready: PeerReady;
  try {
    const event = await next(timeoutMs);
    if (event["event"] !== "ready") throw new Error(`gossip peer failed: ${String(event["error"] ?? JSON.stringify(event))}`);
    ready = event as unknown as PeerReady;
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  return {
    ready,
    pid: child.pid ?? 0,
    async publish(count) {
      const answer = next(60_000);
      child.stdin!.write(JSON.stringify({ cmd: "publish", count }) + "\n");
      const event = await answer;
      if (event["event"] !== "published") throw new Error(`publish failed: ${JSON.stringify(event)}`);
    },
    stop,
  };
}

/**
 * A namespace of the test's own (`<prefix>-gp`, which `lab down` does not know) joined to the lab's
 * underlay bridge with `ip` on its veth; delete it with deletePeerNamespace.
 */
export async function createPeerNamespace(prefix: string, ip: string): Promise<string> {
  const netns = `${prefix}-gp`;
  const ul = `${prefix}-ul`;
  const port = `gp${ip.split(".").at(-1)}`;
  await run("ip", ["netns", "add", netns]);
  try {
    await run("ip", ["-n", netns, "link", "set", "lo", "up"]);
    await run("ip", ["-n", ul, "link", "add", port, "type", "veth", "peer", "name", "ul0", "netns", netns]);
    await run("ip", ["-n", ul, "link", "set", port, "master", "br0", "up"]);
    await run("ip", ["-n", netns, "addr", "add", `${ip}/24`, "dev", "ul0"]);
    await run("ip", ["-n", netns, "link", "set", "ul0", "up"]);
  } catch (err) {
    await deletePeerNamespace(netns);
    throw err;
  }
  return netns;
}

/** Kills what still runs in the namespace and deletes it (its veth goes with it). */
export async function deletePeerNamespace(netns: string): Promise<void> {
  const pids = await run("ip", ["netns", "pids", netns]).then((r) => r.stdout.split(/\s+/).filter(Boolean).map(Number), () => [] as number[]);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await run("ip", ["netns", "del", netns]).catch(() => undefined);
}

function lastLine(text: string): string {
  const lines = text.trim().split("\n");
  return lines[lines.length - 1] ?? "";
}

// ---- child side: forged frames ---------------------------------------------------------------------

function keyFrom(base64: string | undefined): Uint8Array {
  return base64 === undefined ? nacl.sign.keyPair().secretKey : new Uint8Array(Buffer.from(base64, "base64"));
}

function hexKey(hex: string | undefined): Uint8Array | undefined {
  return hex === undefined ? undefined : new Uint8Array(Buffer.from(hex, "hex"));
}

function signedEntry(forged: ForgedEntry) {
  const entry = toBinary(
    EndpointEntrySchema,
    create(EndpointEntrySchema, {
      network: forged.network,
      endpointId: forged.endpointId,
      owner: forged.owner,
      version: BigInt(forged.version ?? Date.now() + 1_000_000_000),
      tombstone: false,
      ip: forged.ip,
      mac: forged.mac,
      vtep: forged.vtep,
      name: forged.name ?? forged.endpointId,
    }),
  );
  const signature = ed25519Signatures.sign(entry, keyFrom(forged.secretKey));
  return create(SignedEntrySchema, { entry, signature });
}

function shotBytes(shot: Shot): Buffer {
  if (shot.raw !== undefined) return Buffer.from(shot.raw, "base64");
  let frame: Uint8Array;
  if (shot.garbageFrame) {
    frame = toBinary(FrameSchema, create(FrameSchema, { payload: randomBytes(200), signature: randomBytes(64) }));
  } else {
    const body: GossipMessage["body"] = shot.push
      ? { case: "push", value: create(PushDeltaSchema, { entries: shot.push.map(signedEntry) }) }
      : { case: "ping", value: create(PingSchema, { nonce: 7n }) };
    const message = create(GossipMessageSchema, {
      origin: shot.origin ?? "unknown",
      receiver: shot.receiver ?? "",
      sentAtMs: BigInt(Date.now() + (shot.sentAtOffsetMs ?? 0)),
      messageId: randomBytes(8).readBigUInt64BE(),
      body,
    });
    const clusterKey = hexKey(shot.sealWith);
    frame = encodeFrame(message, { secretKey: keyFrom(shot.secretKey), scheme: ed25519Signatures, ...(clusterKey ? { clusterKey } : {}) });
  }
  return Buffer.from(toBinary(ExchangeRequestSchema, create(ExchangeRequestSchema, { frame: fromBinary(FrameSchema, frame) })));
}

function describeReply(bytes: Buffer, openWith: string | undefined): Omit<ShotResult, "label"> {
  const result: Omit<ShotResult, "label"> = { replyBytes: bytes.length, replyNonceBytes: 0 };
  try {
    // ExchangeResponse has the frame as field 1, like ExchangeRequest.
    const frame = fromBinary(ExchangeRequestSchema, bytes).frame ?? create(FrameSchema);
    result.replyBytes = frame.payload.length;
    result.replyNonceBytes = frame.nonce.length;
    let plain: Uint8Array | null = frame.payload;
    if (frame.nonce.length > 0) plain = openWith ? nacl.secretbox.open(frame.payload, frame.nonce, hexKey(openWith)!) : null;
    if (plain !== null && plain.length > 0) {
      const message = fromBinary(GossipMessageSchema, plain);
      result.replyOrigin = message.origin;
      result.replyBody = message.body.case ?? "empty";
    }
  } catch {
    // unreadable reply: the byte counts say enough
  }
  return result;
}

async function sendShots(shots: Shot[]): Promise<ShotResult[]> {
  const results: ShotResult[] = [];
  const clients = new Map<string, grpc.Client>();
  try {
    for (const shot of shots) {
      let client = clients.get(shot.target);
      if (client === undefined) {
        client = new grpc.Client(shot.target, grpc.credentials.createInsecure());
        clients.set(shot.target, client);
      }
      const request = shotBytes(shot);
      for (let copy = 0; copy < (shot.repeat ?? 1); copy++) {
        const outcome = await new Promise<Omit<ShotResult, "label">>((resolve) => {
          client!.makeUnaryRequest(
            EXCHANGE_PATH,
            (b: Buffer) => b,
            (b: Buffer) => b,
            request,
            new grpc.Metadata(),
            { deadline: Date.now() + 5000 },
            (err, reply) => resolve(err ? { error: err.message, replyBytes: 0, replyNonceBytes: 0 } : describeReply(reply!, shot.openWith)),
          );
        });
        results.push({ label: copy === 0 ? shot.label : `${shot.label}#${copy + 1}`, ...outcome });
      }
    }
  } finally {
    for (const client of clients.values()) client.close();
  }
  return results;
}

// ---- child side: a synthetic node ----------------------------------------------------------------

async function runPeer(options: PeerOptions): Promise<void> {
  const say = (event: Record<string, unknown>) => process.stdout.write(JSON.stringify(event) + "\n");
  const log = (line: string) => process.stderr.write(line + "\n");
  const keyPair = nacl.sign.keyPair();
  const registry: Registry = createEtcdRegistry({ client: etcdClientOptions({ endpoints: [options.etcd] }), log });
  await registry.start();
  const underlayIP = options.gossipListen.slice(0, options.gossipListen.lastIndexOf(":"));
  await registry.registerNode({
    name: options.node,
    underlayIP,
    vtepMAC: vtepMacFor(options.node, 0),
    gossipAddr: options.gossipListen,
    publicKey: Buffer.from(keyPair.publicKey).toString("base64"),
    agentVersion: "gossip-peer",
  });
  const lease = await registry.claimSubnet(options.network, options.node);
  const clusterKey = hexKey(options.clusterKey);
  const gossip = new GossipNode({
    name: options.node,
    keyPair,
    transport: createGrpcTransport({ listen: options.gossipListen }),
    ...(clusterKey ? { clusterKey } : {}),
    // The whole burst is queued for the one agent and sent in large messages rather than dropped.
    // A long call timeout: a push that times out while the agent is busy clears the queue, and
    // anti-entropy does not repair a gap of one owner beyond its first message's worth of entries.
    config: { maxQueuePerPeer: 1_000_000, maxEntriesPerMessage: options.maxEntriesPerMessage ?? 2000, callTimeoutMs: 60_000 },
    log,
    policy: {
      isKnownNetwork: (network) => registry.snapshot().networks.has(network),
      ownerSlices: (owner, network) => (registry.snapshot().subnets.get(network) ?? []).filter((l) => l.node === owner).map((l) => l.cidr),
      ownerVtep: (owner) => registry.snapshot().nodes.get(owner)?.underlayIP,
    },
  });
  const updatePeers = () => {
    const peers: GossipPeer[] = [...registry.snapshot().nodes.values()]
      .filter((n) => n.name !== options.node)
      .map((n) => ({ name: n.name, gossipAddr: n.gossipAddr, publicKey: new Uint8Array(Buffer.from(n.publicKey, "base64")) }));
    gossip.setPeers(peers);
  };
  registry.subscribe((event) => {
    if (event.kind === "node") updatePeers();
  });
  updatePeers();
  await gossip.start();

  const cidr = parseIPv4Cidr(lease.cidr, "slice");
  let published = 0;
  // In chunks, yielding between them: a 50,000-entry loop would otherwise starve the etcd lease
  // keepalive (10 s TTL) and the node would vanish from the registry half-way through.
  const publish = async (count: number) => {
    for (let i = 0; i < count; i++) {
      published += 1;
      const ip = formatIPv4(cidr.base + published + 1);
      gossip.publish({ network: options.network, endpointId: `gp${published}`, ip, mac: macForAddress(ip), vtep: options.vtep, name: `gp${published}` });
      if (i % 500 === 499) await new Promise((r) => setImmediate(r));
    }
  };
  const started = Date.now();
  await publish(options.endpoints);
  say({
    event: "ready",
    slice: lease.cidr,
    publicKey: Buffer.from(keyPair.publicKey).toString("base64"),
    secretKey: Buffer.from(keyPair.secretKey).toString("base64"),
    publishedMs: Date.now() - started,
    published,
  });

  const input = createInterface({ input: process.stdin });
  for await (const line of input) {
    const command = JSON.parse(line) as { cmd: string; count?: number };
    if (command.cmd === "publish") {
      await publish(command.count ?? 1);
      say({ event: "published", published });
    }
  }
  await gossip.stop();
  await registry.close();
}

async function flood(plan: FloodPlan): Promise<{ framesSent: number }> {
  const memberKey = keyFrom(plan.secretKey);
  const forger = nacl.sign.keyPair();
  const cidr = parseIPv4Cidr(plan.slice, "slice");
  const entries = Array.from({ length: 4000 }, (_, i) => {
    const ip = formatIPv4(cidr.base + 2 + (i % 60_000));
    const entry = toBinary(
      EndpointEntrySchema,
      create(EndpointEntrySchema, { network: plan.network, endpointId: `flood${i}`, owner: plan.origin, version: BigInt(i + 1), ip, mac: macForAddress(ip), vtep: plan.vtep }),
    );
    return create(SignedEntrySchema, { entry, signature: ed25519Signatures.sign(entry, forger.secretKey) });
  });
  const transport = createGrpcTransport({ listen: "127.0.0.1:0" });
  let framesSent = 0;
  const started = Date.now();
  const sender = async () => {
    while (Date.now() - started < plan.durationMs) {
      const message = create(GossipMessageSchema, {
        origin: plan.origin,
        receiver: plan.receiver,
        sentAtMs: BigInt(Date.now()),
        messageId: randomBytes(8).readBigUInt64BE(),
        body: { case: "push", value: create(PushDeltaSchema, { entries }) },
      });
      try {
        await transport.call(plan.target, encodeFrame(message, { secretKey: memberKey, scheme: ed25519Signatures }), 10_000);
      } catch {
        // refused or timed out: sent all the same
      }
      framesSent += 1;
    }
  };
  await Promise.all(Array.from({ length: plan.concurrency }, sender));
  await transport.close();
  return { framesSent };
}

async function main(): Promise<void> {
  const [command, payload] = process.argv.slice(2);
  if (command === "shots") {
    process.stdout.write(JSON.stringify(await sendShots(JSON.parse(payload ?? "[]") as Shot[])) + "\n");
  } else if (command === "flood") {
    process.stdout.write(JSON.stringify(await flood(JSON.parse(payload ?? "{}") as FloodPlan)) + "\n");
  } else if (command === "peer") {
    await runPeer(JSON.parse(payload ?? "{}") as PeerOptions);
  } else {
    throw new Error(`usage: gossip-peer.ts shots|flood|peer '<json>' (got ${JSON.stringify(command)})`);
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stdout.write(JSON.stringify({ event: "error", error: err instanceof Error ? err.message : String(err) }) + "\n");
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
