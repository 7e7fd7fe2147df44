// A hostile flood against one real GossipNode, and the longest event-loop stall it causes.
//
//   npx tsx test/bench/gossip-flood.ts [--duration-ms 5000] [--concurrency 4] [--kinds forged-entries,replay]
//
// The victim runs in this process on the real gRPC transport with real ed25519 and the default config.
// The attacker runs in a child process (its own core and event loop, so its work is not measured) and
// sends, round robin, as fast as the victim answers:
//   - 1 MiB frames of ~10,000 junk entries from a compromised member (refused at the entry limit);
//   - frames of as many entries as a frame may carry (4,000), each well formed and within the
//     member's slice but forged (signed by another key): the dearest case, every entry's signature is
//     checked, until the member's rate limit refuses its frames;
//   - replays of one valid frame, frames from a node nobody knows, and 1 MiB of random bytes.
// The stall is perf_hooks' monitorEventLoopDelay maximum (1 ms resolution) while the flood lasts.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import { createInterface } from "node:readline";
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { create } from "@bufbuild/protobuf";
import { Registry } from "prom-client";
import nacl from "tweetnacl";
import { GossipMessageSchema, PushDeltaSchema, SignedEntrySchema, type SignedEntry } from "../../proto/gen/weft/v1/gossip_pb.js";
import {
  createGrpcTransport,
  encodeAndSignEntry,
  encodeFrame,
  ed25519Signatures,
  GossipNode,
  type EndpointRecord,
  type GrpcGossipTransport,
} from "../../controlplane/gossip/index.js";
import { formatIPv4, macForAddress } from "../../proto/values/index.js";

const THIS_FILE = fileURLToPath(import.meta.url);
const NETWORK = "flood";
const MEMBER = "member";
const MEMBER_SLICE_BASE = 0x0a320000; // 10.50.0.0/16
const MEMBER_VTEP = "127.0.0.2";

export interface FloodOptions {
  durationMs?: number;
  /** Frames in flight at once. */
  concurrency?: number;
  /** Only these kinds of frame (default all): 10k-entries, forged-entries, replay, unknown-origin, garbage. */
  kinds?: string[];
}

export interface FloodResult {
  /** Longest event-loop stall of the victim while flooded, ms. */
  maxStallMs: number;
  p99StallMs: number;
  /**
   * The same measured over as long a time just before, without the flood: what the machine's own load
   * (other processes, scheduling) adds to any figure here.
   */
  idleMaxStallMs: number;
  /** Longest garbage-collection pause while flooded, ms (part of the stall). */
  maxGcPauseMs: number;
  /** os.loadavg()[0] when the flood ended: on a busy machine every stall is longer. */
  loadAverage: number;
  framesSent: number;
  /** Frames by kind, as sent. */
  sentByKind: Record<string, number>;
  /** weft_gossip_rejected_total by reason, on the victim. */
  rejected: Record<string, number>;
  durationMs: number;
}

interface AttackPlan {
  target: string;
  receiver: string;
  memberSecretKey: string;
  durationMs: number;
  concurrency: number;
  kinds: string[] | undefined;
}

export async function measureFloodStall(options: FloodOptions = {}): Promise<FloodResult> {
  const durationMs = options.durationMs ?? 5000;
  const concurrency = options.concurrency ?? 4;
  const metrics = new Registry();
  const member = nacl.sign.keyPair();
  const transport: GrpcGossipTransport = createGrpcTransport({ listen: "127.0.0.1:0" });
  const victim = new GossipNode({
    name: "victim",
    keyPair: nacl.sign.keyPair(),
    transport,
    metrics,
    policy: {
      isKnownNetwork: (network) => network === NETWORK,
      ownerSlices: (owner) => (owner === MEMBER ? [`${formatIPv4(MEMBER_SLICE_BASE)}/16`] : []),
      ownerVtep: (owner) => (owner === MEMBER ? MEMBER_VTEP : undefined),
    },
  });
  await victim.start();
  // The member's address is closed: the victim's pings to it fail at once, as to a crashed peer.
  victim.setPeers([{ name: MEMBER, gossipAddr: "127.0.0.1:9", publicKey: member.publicKey }]);
  const child = spawn(process.execPath, ["--import", "tsx", THIS_FILE, "attack"], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout! });
  const next = () => new Promise<Record<string, unknown>>((resolve, reject) => {
    lines.once("line", (line) => resolve(JSON.parse(line) as Record<string, unknown>));
    child.once("exit", (code) => reject(new Error(`flood attacker exited (${code})`)));
  });
  try {
    const plan: AttackPlan = {
      target: transport.boundAddress!,
      receiver: victim.name,
      memberSecretKey: Buffer.from(member.secretKey).toString("base64"),
      durationMs,
      concurrency,
      kinds: options.kinds,
    };
    const ready = next();
    child.stdin!.write(JSON.stringify(plan) + "\n");
    await ready; // frames built; the flood starts now
    const idle = monitorEventLoopDelay({ resolution: 1 });
    idle.enable();
    await new Promise((resolve) => setTimeout(resolve, durationMs));
    idle.disable();
    child.stdin!.write("go\n");
    const delay = monitorEventLoopDelay({ resolution: 1 });
    let maxGcPauseMs = 0;
    const gc = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) maxGcPauseMs = Math.max(maxGcPauseMs, entry.duration);
    });
    const done = next();
    delay.enable();
    gc.observe({ entryTypes: ["gc"] });
    const report = (await done) as { framesSent: number; sentByKind: Record<string, number>; durationMs: number };
    delay.disable();
    gc.disconnect();
    const rejected: Record<string, number> = {};
    for (const value of (await metrics.getSingleMetric("weft_gossip_rejected_total")?.get())?.values ?? []) {
      rejected[String(value.labels["reason"])] = value.value;
    }
    return {
      maxStallMs: round(delay.max / 1e6),
      p99StallMs: round(delay.percentile(99) / 1e6),
      idleMaxStallMs: round(idle.max / 1e6),
      maxGcPauseMs: round(maxGcPauseMs),
      loadAverage: round(loadavg()[0]!),
      framesSent: report.framesSent,
      sentByKind: report.sentByKind,
      rejected,
      durationMs: report.durationMs,
    };
  } finally {
    child.kill();
    await victim.stop();
  }
}

// ---- the attacker (child process) ----------------------------------------------------------------

async function attack(plan: AttackPlan, go: Promise<unknown>): Promise<void> {
  const memberKey = new Uint8Array(Buffer.from(plan.memberSecretKey, "base64"));
  const stranger = nacl.sign.keyPair();
  const forger = nacl.sign.keyPair();
  const record = (i: number): EndpointRecord => {
    const ip = formatIPv4(MEMBER_SLICE_BASE + 2 + (i % 65_000));
    return { network: NETWORK, endpointId: `f${i}`, owner: MEMBER, version: 1 + i, tombstone: false, ip, mac: macForAddress(ip), vtep: MEMBER_VTEP, name: "", aliases: [], labels: {}, deletedAtMs: 0 };
  };
  // Forged: signed by a key that is not the member's, so each costs the victim a signature check.
  const forged = Array.from({ length: 4000 }, (_, i) => encodeAndSignEntry(record(i), forger.secretKey).signed);
  // ~100 bytes each: 10,000 of them fill 1 MiB.
  const tiny = Array.from({ length: 10_000 }, () => create(SignedEntrySchema, { entry: randomBytes(30), signature: randomBytes(64) }));
  const valid = encodeAndSignEntry(record(99_999), memberKey).signed;
  let messageId = BigInt(Date.now()) << 8n;
  const frame = (secretKey: Uint8Array, origin: string, entries: SignedEntry[]) =>
    encodeFrame(
      create(GossipMessageSchema, {
        origin,
        receiver: plan.receiver,
        sentAtMs: BigInt(Date.now()),
        messageId: messageId++,
        body: { case: "push", value: create(PushDeltaSchema, { entries }) },
      }),
      { secretKey, scheme: ed25519Signatures },
    );
  const replayed = frame(memberKey, MEMBER, [valid]);
  const garbage = randomBytes(1024 * 1024);
  const allKinds: Array<[string, () => Uint8Array]> = [
    ["10k-entries", () => frame(memberKey, MEMBER, tiny)],
    ["forged-entries", () => frame(memberKey, MEMBER, forged)],
    ["replay", () => replayed],
    ["unknown-origin", () => frame(stranger.secretKey, "stranger", forged)],
    ["garbage", () => garbage],
  ];
  const kinds = allKinds.filter(([kind]) => plan.kinds === undefined || plan.kinds.includes(kind));
  process.stdout.write(JSON.stringify({ event: "ready" }) + "\n");
  await go;

  // The victim's gRPC must be the one refusing what is too large, so ours sends anything.
  const transport = createGrpcTransport({ listen: "127.0.0.1:0", maxFrameBytes: 16 * 1024 * 1024 });
  const sentByKind: Record<string, number> = {};
  let framesSent = 0;
  let turn = 0;
  const started = Date.now();
  const sender = async () => {
    while (Date.now() - started < plan.durationMs) {
      const [kind, make] = kinds[turn % kinds.length]!;
      turn += 1;
      const bytes = make();
      try {
        await transport.call(plan.target, bytes, 10_000);
      } catch {
        // refused by gRPC (garbage) or timed out: sent all the same
      }
      framesSent += 1;
      sentByKind[kind] = (sentByKind[kind] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: plan.concurrency }, sender));
  process.stdout.write(JSON.stringify({ framesSent, sentByKind, durationMs: Date.now() - started }) + "\n");
  await transport.close();
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

async function main(): Promise<void> {
  if (process.argv[2] === "attack") {
    const input = createInterface({ input: process.stdin });
    const plan = await new Promise<string>((resolve) => input.once("line", resolve));
    const go = new Promise<string>((resolve) => input.once("line", resolve));
    await attack(JSON.parse(plan) as AttackPlan, go);
    input.close();
    return;
  }
  const { values } = parseArgs({
    options: { "duration-ms": { type: "string", default: "5000" }, concurrency: { type: "string", default: "4" }, kinds: { type: "string" } },
  });
  const result = await measureFloodStall({
    durationMs: Number(values["duration-ms"]),
    concurrency: Number(values.concurrency),
    ...(values.kinds ? { kinds: values.kinds.split(",") } : {}),
  });
  process.stdout.write(JSON.stringify(result, null, 2) + "\n");
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
