// A small in-memory cluster of real GossipNodes on a MemoryNetwork and a FakeClock, for tests.
import { create } from "@bufbuild/protobuf";
import nacl from "tweetnacl";
import { Registry } from "prom-client";
import { GossipMessageSchema, PushDeltaSchema, type GossipMessage, type SignedEntry } from "../../../proto/gen/weft/v1/gossip_pb.js";
import {
  ed25519Signatures,
  encodeAndSignEntry,
  encodeFrame,
  FakeClock,
  GossipNode,
  type EndpointRecord,
  type EntryPolicy,
  type GossipConfig,
  type GossipPeer,
} from "../../../controlplane/gossip/index.js";
import { MemoryNetwork } from "../../../controlplane/gossip/memory-network.js";
import { macForAddress } from "../../../proto/values/index.js";

export const NETWORK = "blue";

/** Node i owns 10.40.i.0/24 in network "blue". */
export function sliceOf(index: number): string {
  return `10.40.${index}.0/24`;
}

export function ipOf(index: number, host: number): string {
  return `10.40.${index}.${host}`;
}

export function macOf(index: number, host: number): string {
  return macForAddress(ipOf(index, host));
}

/** Node i's registered underlay IP. */
export function vtepOf(index: number): string {
  return `192.168.0.${index}`;
}

function indexOf(owner: string): number | undefined {
  const match = /^n(\d+)$/.exec(owner);
  return match ? Number(match[1]) : undefined;
}

export const staticPolicy: EntryPolicy = {
  isKnownNetwork: (network) => network === NETWORK,
  ownerSlices: (owner, network) => {
    const index = indexOf(owner);
    return network === NETWORK && index !== undefined ? [sliceOf(index)] : [];
  },
  ownerVtep: (owner) => {
    const index = indexOf(owner);
    return index === undefined ? undefined : vtepOf(index);
  },
};

export interface TestMember {
  readonly index: number;
  readonly name: string;
  readonly address: string;
  readonly keyPair: nacl.SignKeyPair;
  node: GossipNode;
  readonly logs: string[];
  readonly metrics: Registry;
}

export interface ClusterOptions {
  readonly size: number;
  readonly config?: Partial<GossipConfig>;
  readonly clusterKey?: Uint8Array;
  readonly seed?: number;
  /** Default staticPolicy. */
  readonly policy?: EntryPolicy;
  /** Passed to every node as GossipNodeOptions.beforeAck. */
  readonly beforeAck?: (node: string) => Promise<unknown>;
}

export class TestCluster {
  readonly clock = new FakeClock();
  readonly network: MemoryNetwork;
  readonly members: TestMember[] = [];
  readonly random: () => number;

  constructor(readonly options: ClusterOptions) {
    this.random = seededRandom(options.seed ?? 42);
    this.network = new MemoryNetwork({ clock: this.clock, random: this.random });
    for (let i = 1; i <= options.size; i++) {
      const name = `n${i}`;
      const member: TestMember = {
        index: i,
        name,
        address: `mem:${name}`,
        keyPair: nacl.sign.keyPair.fromSeed(seedBytes(i)),
        node: undefined as never,
        logs: [],
        metrics: new Registry(),
      };
      member.node = this.makeNode(member);
      this.members.push(member);
    }
  }

  makeNode(member: TestMember, versionFloor?: number): GossipNode {
    return new GossipNode({
      name: member.name,
      keyPair: member.keyPair,
      transport: this.network.transport(member.address),
      policy: this.options.policy ?? staticPolicy,
      clock: this.clock,
      config: { antiEntropyIntervalMs: 1000, ...this.options.config },
      log: (line) => member.logs.push(line),
      metrics: member.metrics,
      random: this.random,
      ...(this.options.clusterKey ? { clusterKey: this.options.clusterKey } : {}),
      ...(versionFloor !== undefined ? { versionFloor } : {}),
      ...(this.options.beforeAck ? { beforeAck: () => this.options.beforeAck!(member.name) } : {}),
    });
  }

  peersOf(member: TestMember, members: readonly TestMember[] = this.members): GossipPeer[] {
    return members.filter((m) => m !== member).map((m) => ({ name: m.name, gossipAddr: m.address, publicKey: m.keyPair.publicKey }));
  }

  async start(): Promise<void> {
    for (const member of this.members) member.node.setPeers(this.peersOf(member));
    for (const member of this.members) await member.node.start();
  }

  async stop(): Promise<void> {
    for (const member of this.members) await member.node.stop();
  }

  member(name: string): TestMember {
    const member = this.members.find((m) => m.name === name);
    if (!member) throw new Error(`no member ${name}`);
    return member;
  }

  publish(member: TestMember, host: number, endpointId = `${member.name}-ep${host}`): EndpointRecord {
    return member.node.publish({
      network: NETWORK,
      endpointId,
      ip: ipOf(member.index, host),
      mac: macOf(member.index, host),
      vtep: vtepOf(member.index),
      name: endpointId,
    });
  }

  /** Advances simulated time in steps until `done` holds, failing after `deadlineMs` of simulated time. */
  async until(done: () => boolean, deadlineMs: number, stepMs = 10): Promise<number> {
    const start = this.clock.now();
    while (!done()) {
      if (this.clock.now() - start > deadlineMs) throw new Error(`condition not met within ${deadlineMs} ms of simulated time`);
      await this.clock.advance(stepMs);
    }
    return this.clock.now() - start;
  }

  /** Whether every member (or those given) holds the same set of (key, version, tombstone). */
  agree(members: readonly TestMember[] = this.members): boolean {
    const views = members.map((m) => tableFingerprint(m.node.allEntries()));
    return views.every((v) => v === views[0]);
  }
}

export function tableFingerprint(records: readonly EndpointRecord[]): string {
  return records
    .map((r) => `${r.network}/${r.endpointId}@${r.owner}#${r.version}${r.tombstone ? "x" : ""}`)
    .sort()
    .join("\n");
}

export function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

function seedBytes(i: number): Uint8Array {
  const seed = new Uint8Array(32);
  seed[0] = i;
  seed[1] = 0x77;
  return seed;
}

export async function counterValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  if (!metric) return 0;
  return metric.values
    .filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))
    .reduce((sum, v) => sum + v.value, 0);
}

let nextMessageId = 1n;

export interface FrameHead {
  /** The receiver named in the frame. */
  to: string;
  /** The send time; the tests pass their fake clock's now. */
  atMs: number;
  clusterKey?: Uint8Array;
  /** Default: a fresh id per frame. */
  messageId?: bigint;
  inReplyTo?: bigint;
}

/** A push frame as `origin` would send it to `head.to`, carrying the given signed entries. */
export function pushFrame(origin: { name: string; keyPair: { secretKey: Uint8Array } }, entries: readonly SignedEntry[], head: FrameHead): Uint8Array {
  return frameOf(origin, { case: "push", value: create(PushDeltaSchema, { entries: [...entries] }) }, head);
}

/** Any message as `origin` would send it. */
export function frameOf(origin: { name: string; keyPair: { secretKey: Uint8Array } }, body: GossipMessage["body"], head: FrameHead): Uint8Array {
  const message = create(GossipMessageSchema, {
    origin: origin.name,
    receiver: head.to,
    sentAtMs: BigInt(head.atMs),
    messageId: head.messageId ?? nextMessageId++,
    inReplyTo: head.inReplyTo ?? 0n,
    body,
  });
  const clusterKey = head.clusterKey;
  return encodeFrame(message, { secretKey: origin.keyPair.secretKey, scheme: ed25519Signatures, ...(clusterKey ? { clusterKey } : {}) });
}

/** Signs a record with the given secret key, whoever the record claims as owner. */
export function signedBy(record: EndpointRecord, secretKey: Uint8Array): SignedEntry {
  return encodeAndSignEntry(record, secretKey).signed;
}

/** A live entry as `owner` (n<i>) would announce it: the MAC its IP implies and the owner's VTEP. */
export function liveRecord(owner: string, endpointId: string, version: number, ip: string, network = NETWORK): EndpointRecord {
  const index = indexOf(owner);
  return {
    network,
    endpointId,
    owner,
    version,
    tombstone: false,
    ip,
    mac: macForAddress(ip),
    vtep: index === undefined ? "192.168.0.99" : vtepOf(index),
    name: "",
    aliases: [],
    labels: {},
    deletedAtMs: 0,
  };
}

export function tombstoneRecord(owner: string, endpointId: string, version: number, deletedAtMs: number, network = NETWORK): EndpointRecord {
  return { network, endpointId, owner, version, tombstone: true, ip: "", mac: "", vtep: "", name: "", aliases: [], labels: {}, deletedAtMs };
}
