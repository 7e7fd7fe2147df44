// Claiming and releasing a node's slice of a network in etcd: read at one revision, decide with
// planSubnetClaim, commit with compare-and-swap.
import type { ICompare, IRequestOp } from "etcd3";
import { WeftError, parseName } from "../../proto/values/index.js";
import { classifyKey } from "./keys.js";
import { enc, prefixRange, type EtcdRequests } from "./etcd-requests.js";
import type { SubnetLease, SubnetLeaseValue } from "./records.js";
import { planSubnetClaim } from "./subnet-claim-plan.js";

export interface ClaimPolicy {
  reclaimAfterMs: number;
  /** When an absent node was first seen absent (ms since epoch). */
  absentSince: (node: string) => number;
  random: () => number;
}

export async function claimSubnet(
  etcd: EtcdRequests,
  policy: ClaimPolicy,
  network: string,
  node: string,
  preferred?: string,
): Promise<SubnetLease> {
  parseName(network, "network");
  parseName(node, "node");
  const { keys } = etcd;
  const networkKey = keys.network(network);
  const subnetsPrefix = keys.subnetsOf(network);
  return etcd.commit(`claiming a slice of ${JSON.stringify(network)}`, async () => {
    // One read transaction: network, its leases and the live nodes at one revision.
    const read: IRequestOp[] = [
      { request_range: { key: enc(networkKey) } },
      { request_range: prefixRange(subnetsPrefix) },
      { request_range: { ...prefixRange(keys.nodes), keys_only: true } },
    ];
    const state = await etcd.call(() => etcd.client.kv.txn({ compare: [], success: read, failure: [] }));
    const [networkRange, subnetRange, nodeRange] = state.responses.map((r) => r.response_range);
    const networkKv = networkRange?.kvs[0];
    const record = networkKv && etcd.values.parse("network", networkKey, networkKv.value, networkKv.mod_revision);
    if (!networkKv || !record) {
      throw new WeftError("not-found", `network: ${JSON.stringify(network)} does not exist`, { field: "network" });
    }
    const leases: SubnetLease[] = [];
    const modRevisions = new Map<string, string>();
    const occupied = new Set<string>();
    for (const kv of subnetRange?.kvs ?? []) {
      const key = kv.key.toString("utf8");
      const parsed = classifyKey(keys, key);
      if (parsed?.kind === "subnet") occupied.add(parsed.cidr);
      const lease = etcd.values.parse("subnet", key, kv.value, kv.mod_revision);
      if (!lease) continue;
      leases.push(lease);
      modRevisions.set(lease.cidr, kv.mod_revision);
    }
    // A key holding garbage is still occupied: never overwrite it by accident.
    for (const cidr of occupied) {
      if (!modRevisions.has(cidr)) leases.push({ network, cidr, node: "\u0000invalid", since: new Date().toISOString() });
    }
    const liveNodes = new Set((nodeRange?.kvs ?? []).map((kv) => kv.key.toString("utf8").slice(keys.nodes.length)));
    const plan = planSubnetClaim({
      network: record,
      node,
      leases,
      ...(preferred !== undefined ? { preferred } : {}),
      liveNodes,
      absentSince: policy.absentSince,
      now: Date.now(),
      reclaimAfterMs: policy.reclaimAfterMs,
      random: policy.random,
    });
    if (plan.kind === "existing") return plan.lease;
    if (plan.kind === "reclaim" && !modRevisions.has(plan.cidr)) {
      throw new WeftError("resource-exhausted", `subnet: network ${JSON.stringify(network)} has no free slice`, { field: "subnet" });
    }

    const lease: SubnetLease = { network, cidr: plan.cidr, node, since: new Date().toISOString() };
    const value: SubnetLeaseValue = { node: lease.node, since: lease.since };
    const key = keys.subnet(network, plan.cidr);
    const compare: ICompare[] = [
      // The same incarnation of the network (not removed and recreated meanwhile).
      { key: enc(networkKey), target: "Create", result: "Equal", create_revision: networkKv.create_revision },
      plan.kind === "claim"
        ? { key: enc(key), target: "Version", result: "Equal", version: 0 }
        : { key: enc(key), target: "Mod", result: "Equal", mod_revision: modRevisions.get(plan.cidr)! },
    ];
    const txn = await etcd.call(() =>
      etcd.client.kv.txn({ compare, success: [{ request_put: { key: enc(key), value: enc(JSON.stringify(value)) } }], failure: [] }),
    );
    if (!txn.succeeded) return undefined;
    if (plan.kind === "reclaim") {
      etcd.log(`reclaimed ${plan.cidr} of network ${network} from node ${plan.previous.node}, gone longer than ${policy.reclaimAfterMs} ms`);
    }
    return lease;
  });
}

export async function releaseSubnet(etcd: EtcdRequests, network: string, cidr: string, node: string): Promise<void> {
  parseName(network, "network");
  const key = etcd.keys.subnet(network, cidr);
  const current = await etcd.call(() => etcd.client.kv.range({ key: enc(key) }));
  const kv = current.kvs[0];
  if (!kv) throw new WeftError("not-found", `cidr: ${cidr} of network ${JSON.stringify(network)} is not leased`, { field: "cidr" });
  const lease = etcd.values.parse("subnet", key, kv.value, kv.mod_revision);
  if (!lease || lease.node !== node) {
    throw new WeftError(
      "failed-precondition",
      `node: ${cidr} of network ${JSON.stringify(network)} is held by ${lease ? lease.node : "an unreadable lease"}, not ${node}`,
      { field: "node" },
    );
  }
  const txn = await etcd.call(() =>
    etcd.client.kv.txn({
      compare: [{ key: enc(key), target: "Mod", result: "Equal", mod_revision: kv.mod_revision }],
      success: [{ request_delete_range: { key: enc(key) } }],
      failure: [],
    }),
  );
  if (!txn.succeeded) {
    throw new WeftError("failed-precondition", `cidr: the lease on ${cidr} changed while releasing it`, { field: "cidr" });
  }
}
