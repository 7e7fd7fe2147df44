// Issues 3 and 6 on real agents: forged, unknown, garbage, unsealed, misaddressed, stale and replayed
// gossip sent to a lab agent's gossip port from inside the lab's underlay, and entries not bound to
// their owner. The agent keeps serving, counts each refusal by reason in /metrics, and programs
// nothing of what it refused (no FDB entry, no endpoint in its API).
import { create } from "@bufbuild/protobuf";
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUnaryClient, type UnaryClient } from "../../proto/grpc-binding.js";
import {
  GetStatusRequestSchema,
  InspectNetworkRequestSchema,
  ListEndpointsRequestSchema,
  ListPeersRequestSchema,
  WeftService,
} from "../../proto/gen/weft/v1/api_pb.js";
import type { LabHost } from "../../agent/lab/index.js";
import {
  fetchTextInNetns,
  metricValue,
  runFlood,
  runShots,
  startGossipPeer,
  type ForgedEntry,
  type GossipPeerProcess,
  type Shot,
  type ShotResult,
} from "../helpers/gossip-peer.js";
import { pollUntil, withLab, type TestLab } from "../helpers/lab.js";
import { macForAddress } from "../../proto/values/index.js";

const run = promisify(execFile);
const NETWORK = "weft-lab";
const VXLAN_DEVICE = "weft-vx42";
const REJECTED = "weft_gossip_rejected_total";

type Api = UnaryClient<typeof WeftService.method>;

async function withApi<T>(host: LabHost, fn: (client: Api) => Promise<T>): Promise<T> {
  const client = createUnaryClient(WeftService, `unix:${host.apiSocket}`);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

function hostOf(lab: TestLab, name: string): LabHost {
  const host = lab.state.hosts.find((h) => h.name === name);
  if (!host) throw new Error(`lab ${lab.prefix} has no host ${name}`);
  return host;
}

async function metrics(host: LabHost): Promise<string> {
  return fetchTextInNetns(host.netns, `http://${host.metricsAddr}/metrics`);
}

function rejected(text: string, reason: string): number {
  return metricValue(text, REJECTED, { reason });
}

/** MACs with a VXLAN FDB entry (one with a VTEP dst) on the host's weft-vx42. */
function fdbMacs(host: LabHost): Set<string> {
  return new Set(fdbEntries(host).keys());
}

/** VTEP per MAC of the host's weft-vx42 FDB entries that have one. */
function fdbEntries(host: LabHost): Map<string, string> {
  let out = "[]";
  try {
    out = execFileSync("ip", ["netns", "exec", host.netns, "bridge", "-j", "fdb", "show", "dev", VXLAN_DEVICE], { encoding: "utf8", timeout: 5000 });
  } catch {
    // no device: no entries
  }
  const entries = (out.trim() === "" ? [] : JSON.parse(out)) as { mac?: string; dst?: string }[];
  return new Map(entries.filter((e) => e.dst !== undefined).map((e) => [(e.mac ?? "").toLowerCase(), e.dst!]));
}

async function endpointIds(host: LabHost): Promise<string[]> {
  const { endpoints } = await withApi(host, (c) => c.listEndpoints(create(ListEndpointsRequestSchema, {}), { deadlineMs: 5000 }));
  return endpoints.map((e) => e.id);
}

async function sliceOf(lab: TestLab, node: string): Promise<string> {
  const res = await withApi(hostOf(lab, "h1"), (c) => c.inspectNetwork(create(InspectNetworkRequestSchema, { name: NETWORK }), { deadlineMs: 5000 }));
  const slice = res.slices.find((s) => s.node === node)?.cidr;
  if (!slice) throw new Error(`no slice of ${node} in ${NETWORK}: ${JSON.stringify(res.slices)}`);
  return slice;
}

/** An address near the top of a /24-or-larger slice, away from what the agents allocate from the bottom. */
function highAddressIn(cidr: string, offset: number): string {
  const [base, len] = cidr.split("/") as [string, string];
  const value = base.split(".").reduce((n, o) => n * 256 + Number(o), 0) + 2 ** (32 - Number(len)) - 2 - offset;
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".");
}

function byLabel(results: ShotResult[], label: string): ShotResult {
  const result = results.find((r) => r.label === label);
  if (!result) throw new Error(`no result for shot ${label}`);
  return result;
}

/** The gRPC call succeeded and the agent answered with an empty frame: no signing work for unauthenticated input. */
function expectRefusedQuietly(result: ShotResult): void {
  expect(result.error, result.label).toBeUndefined();
  expect(result.replyBytes, result.label).toBe(0);
}

async function expectStillServing(host: LabHost): Promise<void> {
  const status = await withApi(host, (c) => c.getStatus(create(GetStatusRequestSchema, {}), { deadlineMs: 5000 }));
  expect(status.node).toBe(host.name);
  expect(status.etcdConnected).toBe(true);
}

describe("gossip trust on a real agent (no cluster key)", () => {
  let lab: TestLab;
  let impostor: GossipPeerProcess | undefined;

  beforeAll(async () => {
    lab = await withLab({ hosts: 2, containers: 1 });
  }, 180_000);

  afterAll(async () => {
    await impostor?.stop();
    await lab?.down();
  }, 60_000);

  it("refuses forged, unknown and garbage frames, counts them, and programs none of it", async () => {
    const h1 = hostOf(lab, "h1");
    const h2 = hostOf(lab, "h2");
    const ul = lab.state.underlay.netns;
    const h2Slice = await sliceOf(lab, "h2");
    const forged = (id: string, owner: string, ip: string): ForgedEntry => ({
      network: NETWORK,
      endpointId: id,
      owner,
      ip,
      mac: macForAddress(ip),
      vtep: h2.underlayIp,
    });
    const asH2 = forged("forged-as-h2", "h2", highAddressIn(h2Slice, 0));
    const asStranger = forged("forged-as-stranger", "weftstranger", highAddressIn(h2Slice, 1));
    const shots: Shot[] = [
      // (a) claims to come from h2 and to be h2's entry; frame and entry signed by a key that is not h2's.
      { label: "forged-h2", target: h1.gossipAddr, origin: "h2", receiver: "h1", push: [asH2] },
      // (b) a node etcd has never heard of.
      { label: "unknown-origin", target: h1.gossipAddr, origin: "weftstranger", receiver: "h1", push: [asStranger] },
      // (c) garbage: as the gRPC message itself, and as the bytes of an otherwise well-formed Frame.
      { label: "garbage-grpc", target: h1.gossipAddr, raw: randomBytes(512).toString("base64") },
      { label: "garbage-frame", target: h1.gossipAddr, garbageFrame: true },
    ];
    const before = await metrics(h1);

    const results = await runShots(ul, shots);

    // Unauthenticated frames get an empty reply; raw garbage is refused by gRPC itself.
    for (const label of ["forged-h2", "unknown-origin", "garbage-frame"]) {
      expectRefusedQuietly(byLabel(results, label));
    }
    expect(byLabel(results, "garbage-grpc").error).toBeDefined();
    await expectStillServing(h1);
    const after = await metrics(h1);
    expect(rejected(after, "bad-frame-signature")).toBeGreaterThanOrEqual(rejected(before, "bad-frame-signature") + 1);
    expect(rejected(after, "unknown-origin")).toBeGreaterThanOrEqual(rejected(before, "unknown-origin") + 1);
    expect(rejected(after, "malformed-frame")).toBeGreaterThanOrEqual(rejected(before, "malformed-frame") + 1);

    // Nothing programmed: the real h2 container is in the kernel, the forged MACs are not.
    const h2Container = lab.state.containers.find((c) => c.host === "h2")!;
    const macs = fdbMacs(h1);
    expect(macs.has(h2Container.mac.toLowerCase())).toBe(true);
    expect(macs.has(asH2.mac)).toBe(false);
    expect(macs.has(asStranger.mac)).toBe(false);
    const ids = await endpointIds(h1);
    expect(ids).toContain(h2Container.endpointId);
    expect(ids).not.toContain(asH2.endpointId);
    expect(ids).not.toContain(asStranger.endpointId);
  });

  it("a registered node may not speak for h2, claim addresses outside its own slice, nor bind its entries to another's MAC or VTEP", async () => {
    const h1 = hostOf(lab, "h1");
    const ul = lab.state.underlay.netns;
    // A real member: registered in etcd with its own key and a slice of weft-lab, serving gossip on the underlay.
    impostor = await startGossipPeer(ul, {
      etcd: lab.state.etcd.endpoint,
      node: "weftimpostor",
      gossipListen: "10.251.0.254:7946",
      vtep: "10.251.0.254",
      network: NETWORK,
      endpoints: 0,
    });
    const known = await pollUntil(
      () => withApi(h1, (c) => c.listPeers(create(ListPeersRequestSchema, {}), { deadlineMs: 5000 })),
      (res) => res.peers.some((p) => p.name === "weftimpostor"),
      10_000,
      200,
    );
    expect(known.peers.map((p) => p.name)).toContain("weftimpostor");

    const h2 = hostOf(lab, "h2");
    const h2Slice = await sliceOf(lab, "h2");
    const ownSlice = impostor.ready.slice;
    const ownKey = impostor.ready.secretKey;
    const entry = (endpointId: string, owner: string, ip: string, changes: Partial<ForgedEntry> = {}): ForgedEntry => ({
      network: NETWORK, endpointId, owner, ip, mac: macForAddress(ip), vtep: "10.251.0.254", secretKey: ownKey, ...changes,
    });
    const forH2 = entry("impostor-for-h2", "h2", highAddressIn(h2Slice, 2), { vtep: h2.underlayIp });
    const outside = entry("impostor-outside", "weftimpostor", highAddressIn(h2Slice, 3));
    // In its own slice, but with h2's VTEP (to steer traffic through h2's address) or h2's container's MAC.
    const wrongVtep = entry("impostor-vtep", "weftimpostor", highAddressIn(ownSlice, 0), { vtep: h2.underlayIp });
    const h2Container = lab.state.containers.find((c) => c.host === "h2")!;
    const stolenMac = entry("impostor-mac", "weftimpostor", highAddressIn(ownSlice, 1), { mac: h2Container.mac.toLowerCase() });
    const before = await metrics(h1);

    const [result] = await runShots(ul, [
      { label: "impostor", target: h1.gossipAddr, origin: "weftimpostor", receiver: "h1", secretKey: ownKey, push: [forH2, outside, wrongVtep, stolenMac] },
    ]);

    // The frame is authentic, so the agent answers (a signed PushAck); each entry is refused on its own.
    expect(result!.error).toBeUndefined();
    expect(result).toMatchObject({ replyOrigin: "h1", replyBody: "pushAck" });
    await expectStillServing(h1);
    const after = await metrics(h1);
    expect(rejected(after, "bad-entry-signature")).toBeGreaterThanOrEqual(rejected(before, "bad-entry-signature") + 1);
    expect(rejected(after, "ip-outside-slice")).toBeGreaterThanOrEqual(rejected(before, "ip-outside-slice") + 1);
    expect(rejected(after, "vtep-mismatch")).toBeGreaterThanOrEqual(rejected(before, "vtep-mismatch") + 1);
    expect(rejected(after, "malformed-entry")).toBeGreaterThanOrEqual(rejected(before, "malformed-entry") + 1);
    const macs = fdbMacs(h1);
    for (const forged of [forH2, outside, wrongVtep]) expect(macs.has(forged.mac)).toBe(false);
    const ids = await endpointIds(h1);
    for (const forged of [forH2, outside, wrongVtep, stolenMac]) expect(ids).not.toContain(forged.endpointId);
    // h2's container is still reached through h2.
    expect(fdbEntries(h1).get(h2Container.mac.toLowerCase())).toBe(h2.underlayIp);
  });

  it("a member flooding h1 with forged entries costs h1 neither its etcd lease nor its traffic", async () => {
    expect(impostor, "started by the previous test").toBeDefined();
    const h1 = hostOf(lab, "h1");
    const h2 = hostOf(lab, "h2");
    const c1 = lab.state.containers.find((c) => c.host === "h1")!;
    const c2 = lab.state.containers.find((c) => c.host === "h2")!;
    const before = await metrics(h1);
    // 15 s, longer than a node lease (10 s): a stalled event loop would miss its keepalives.
    const flood = runFlood(lab.state.underlay.netns, {
      target: h1.gossipAddr,
      receiver: "h1",
      origin: "weftimpostor",
      secretKey: impostor!.ready.secretKey,
      network: NETWORK,
      slice: impostor!.ready.slice,
      vtep: "10.251.0.254",
      durationMs: 15_000,
      concurrency: 4,
    });
    let flooding = true;
    void flood.finally(() => (flooding = false));
    // Traffic into h1's container while it is flooded: 20 ms pings for 10 s.
    const pings = run("ip", ["netns", "exec", c2.netns, "ping", "-q", "-c", "500", "-i", "0.02", "-W", "1", c1.ip]);
    // Meanwhile h2 never sees h1 leave (its node record would go with its lease), and h1 answers its API.
    const h1States = new Set<string>();
    while (flooding) {
      const peers = await withApi(h2, (c) => c.listPeers(create(ListPeersRequestSchema, {}), { deadlineMs: 5000 }));
      h1States.add(peers.peers.find((p) => p.name === "h1")?.state ?? "absent");
      await expectStillServing(h1);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const { framesSent } = await flood;
    const { stdout } = await pings;
    expect(framesSent).toBeGreaterThan(0);
    // Never gone: at worst suspect for a moment, if a ping to it timed out.
    expect([...h1States].filter((state) => state !== "alive" && state !== "suspect")).toEqual([]);
    expect(stdout).toMatch(/500 packets transmitted, 500 received/);
    const after = await metrics(h1);
    const refused = (text: string) => rejected(text, "bad-entry-signature") + rejected(text, "rate-limited");
    expect(refused(after)).toBeGreaterThan(refused(before));
    expect(fdbMacs(h1).has(c2.mac.toLowerCase())).toBe(true);
  }, 120_000);
});

describe("gossip trust on a real agent with a cluster key", () => {
  let lab: TestLab;

  beforeAll(async () => {
    lab = await withLab({ hosts: 2, containers: 1, clusterKey: true });
  }, 180_000);

  afterAll(async () => {
    await lab?.down();
  }, 60_000);

  it("refuses unsealed frames even when signed by the real node key, and seals its own replies", async () => {
    const h1 = hostOf(lab, "h1");
    const h2 = hostOf(lab, "h2");
    const clusterKey = readFileSync(lab.state.clusterKeyFile!, "utf8").trim();
    // h2's real ed25519 key (base64 of the 64-byte secret key): the signature is right, only the seal is missing.
    const h2Key = readFileSync(`${h2.stateDir}/node.key`, "utf8").trim();
    const h2Slice = await sliceOf(lab, "h2");
    const ip = highAddressIn(h2Slice, 0);
    const entry: ForgedEntry = { network: NETWORK, endpointId: "unsealed-but-signed", owner: "h2", ip, mac: macForAddress(ip), vtep: h2.underlayIp, secretKey: h2Key };
    const asH2 = { target: h1.gossipAddr, origin: "h2", secretKey: h2Key, receiver: "h1" };
    const sealed = { ...asH2, ping: true, sealWith: clusterKey, openWith: clusterKey };
    const before = await metrics(h1);

    const results = await runShots(lab.state.underlay.netns, [
      { label: "unsealed-push", ...asH2, push: [entry] },
      { label: "unsealed-ping", ...asH2, ping: true },
      { label: "wrong-key-ping", ...asH2, ping: true, sealWith: randomBytes(32).toString("hex") },
      // Control: the same ping sealed with the cluster key is answered, and the answer is sealed;
      // the very same bytes again are a replay.
      { label: "sealed-ping", ...sealed, repeat: 2 },
      // h2's key and the cluster key, but addressed to h3, or sent two minutes ago.
      { label: "for-h3", ...sealed, receiver: "h3" },
      { label: "stale", ...sealed, sentAtOffsetMs: -120_000 },
    ]);

    for (const label of ["unsealed-push", "unsealed-ping", "wrong-key-ping", "sealed-ping#2", "for-h3", "stale"]) expectRefusedQuietly(byLabel(results, label));
    const control = byLabel(results, "sealed-ping");
    expect(control.error).toBeUndefined();
    expect(control).toMatchObject({ replyNonceBytes: 24, replyOrigin: "h1", replyBody: "pong" });
    await expectStillServing(h1);
    const after = await metrics(h1);
    expect(rejected(after, "unsealed-frame")).toBeGreaterThanOrEqual(rejected(before, "unsealed-frame") + 2);
    expect(rejected(after, "wrong-cluster-key")).toBeGreaterThanOrEqual(rejected(before, "wrong-cluster-key") + 1);
    expect(rejected(after, "replayed-frame")).toBeGreaterThanOrEqual(rejected(before, "replayed-frame") + 1);
    expect(rejected(after, "wrong-receiver")).toBeGreaterThanOrEqual(rejected(before, "wrong-receiver") + 1);
    expect(rejected(after, "stale-frame")).toBeGreaterThanOrEqual(rejected(before, "stale-frame") + 1);

    expect(fdbMacs(h1).has(entry.mac)).toBe(false);
    expect(await endpointIds(h1)).not.toContain(entry.endpointId);
    // The cluster still works with sealed gossip: h2's real container is programmed on h1.
    const h2Container = lab.state.containers.find((c) => c.host === "h2")!;
    expect(fdbMacs(h1).has(h2Container.mac.toLowerCase())).toBe(true);
  });
});
