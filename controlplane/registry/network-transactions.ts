// Creating and removing networks in etcd, each as one compare-and-swap transaction over what it read.
import type { ICompare } from "etcd3";
import { WeftError, parseName } from "../../proto/values/index.js";
import type { NetworkSpec } from "../network-spec.js";
import { enc, prefixRange, type EtcdRequests } from "./etcd-requests.js";
import { planNetwork } from "./network-plan.js";
import type { NetworkRecord } from "./records.js";

export async function createNetwork(etcd: EtcdRequests, spec: NetworkSpec): Promise<NetworkRecord> {
  planNetwork(spec, [], new Date()); // validate before touching etcd
  const { keys } = etcd;
  return etcd.commit(`creating network ${JSON.stringify(spec.name)}`, async () => {
    const listing = await etcd.call(() => etcd.client.kv.range(prefixRange(keys.networks)));
    const revision = Number(listing.header.revision);
    const existing: NetworkRecord[] = [];
    for (const kv of listing.kvs) {
      const key = kv.key.toString("utf8");
      if (key === keys.network(spec.name)) {
        throw new WeftError("already-exists", `name: network ${JSON.stringify(spec.name)} already exists`, { field: "name" });
      }
      const record = etcd.values.parse("network", key, kv.value, kv.mod_revision);
      if (record) existing.push(record);
    }
    const record = planNetwork(spec, existing, new Date());
    const key = keys.network(record.name);
    // No network created or changed since the listing, and the name still free: the VNI and subnet
    // checks above hold at commit time.
    const compare: ICompare[] = [
      { ...prefixRange(keys.networks), target: "Mod", result: "Less", mod_revision: revision + 1 },
      { key: enc(key), target: "Version", result: "Equal", version: 0 },
    ];
    const txn = await etcd.call(() =>
      etcd.client.kv.txn({ compare, success: [{ request_put: { key: enc(key), value: enc(JSON.stringify(record)) } }], failure: [] }),
    );
    return txn.succeeded ? record : undefined;
  });
}

/**
 * Deletes the network, its subnet leases and any VIP reservations left in it, refusing
 * (failed-precondition) while a service uses it or a live node (one whose node record exists) holds a
 * slice of it. The transaction commits only if no service and no lease changed and no holder came back
 * since the read, so a node with a partial view cannot remove a network in use.
 */
export async function removeNetwork(etcd: EtcdRequests, name: string): Promise<void> {
  parseName(name, "name");
  const { keys } = etcd;
  const networkKey = keys.network(name);
  const subnets = keys.subnetsOf(name);
  await etcd.commit(`removing network ${JSON.stringify(name)}`, async () => {
    // One read at one revision: the network, its leases, which nodes have a record, and the services.
    const state = await etcd.call(() =>
      etcd.client.kv.txn({
        compare: [],
        success: [
          { request_range: { key: enc(networkKey) } },
          { request_range: prefixRange(subnets) },
          { request_range: { ...prefixRange(keys.nodes), keys_only: true } },
          { request_range: prefixRange(keys.services) },
        ],
        failure: [],
      }),
    );
    const [networkRange, subnetRange, nodeRange, serviceRange] = state.responses.map((r) => r.response_range);
    const networkKv = networkRange?.kvs[0];
    if (!networkKv) throw new WeftError("not-found", `name: network ${JSON.stringify(name)} does not exist`, { field: "name" });
    const services = (serviceRange?.kvs ?? [])
      .map((kv) => etcd.values.parse("service", kv.key.toString("utf8"), kv.value, kv.mod_revision))
      .filter((service) => service?.network === name)
      .map((service) => service!.name)
      .sort();
    if (services.length > 0) {
      throw new WeftError("failed-precondition", `name: network ${JSON.stringify(name)} is in use by service(s) ${services.join(", ")}`, { field: "name" });
    }
    const live = new Set((nodeRange?.kvs ?? []).map((kv) => kv.key.toString("utf8").slice(keys.nodes.length)));
    const holders = new Set<string>();
    for (const kv of subnetRange?.kvs ?? []) {
      const lease = etcd.values.parse("subnet", kv.key.toString("utf8"), kv.value, kv.mod_revision);
      if (lease) holders.add(lease.node);
    }
    const inUse = [...holders].filter((node) => live.has(node)).sort();
    if (inUse.length > 0) {
      throw new WeftError(
        "failed-precondition",
        `name: network ${JSON.stringify(name)} is in use: live node(s) ${inUse.join(", ")} hold slices of it (a node releases its slice when its last endpoint on the network detaches)`,
        { field: "name" },
      );
    }
    const compare: ICompare[] = [
      { key: enc(networkKey), target: "Mod", result: "Equal", mod_revision: networkKv.mod_revision },
      // No service created or changed since the read, no lease either...
      { ...prefixRange(keys.services), target: "Mod", result: "Less", mod_revision: Number(state.header.revision) + 1 },
      { ...prefixRange(subnets), target: "Mod", result: "Less", mod_revision: Number(state.header.revision) + 1 },
      // ...and none of their holders registered again.
      ...[...holders].map((node): ICompare => ({ key: enc(keys.node(node)), target: "Version", result: "Equal", version: 0 })),
    ];
    const txn = await etcd.call(() =>
      etcd.client.kv.txn({
        compare,
        success: [
          { request_delete_range: prefixRange(subnets) },
          { request_delete_range: prefixRange(keys.vipsOf(name)) },
          { request_delete_range: { key: enc(networkKey) } },
        ],
        failure: [],
      }),
    );
    return txn.succeeded ? true : undefined;
  });
}
