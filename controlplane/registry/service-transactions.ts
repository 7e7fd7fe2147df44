// Creating and removing services in etcd, each as one compare-and-swap transaction over what it read.
// A service's published ports and its VIP are reservation keys (ports/<proto>/<port>,
// vips/<network>/<ip>, each holding the service's name) created only if absent, so two concurrent
// creates can never take the same port or VIP: the loser's transaction fails, it reads again, and
// then refuses with the reason.
import type { ICompare, IRequestOp } from "etcd3";
import { WeftError, parseName } from "../../proto/values/index.js";
import type { ServiceRecord, ServiceSpec } from "../services/service-record.js";
import { validateServiceSpec } from "../services/service-spec.js";
import { serviceSlice } from "../services/vip-allocation.js";
import { enc, prefixRange, type EtcdRequests } from "./etcd-requests.js";
import { planService } from "./service-plan.js";

export async function createService(etcd: EtcdRequests, spec: ServiceSpec): Promise<ServiceRecord> {
  const valid = validateServiceSpec(spec); // before touching etcd
  const { keys } = etcd;
  const networkKey = keys.network(valid.network);
  const serviceKey = keys.service(valid.name);
  const portKeys = valid.ports.map((p) => keys.port(p.protocol, p.published));
  const vipsPrefix = keys.vipsOf(valid.network);
  return etcd.commit(`creating service ${JSON.stringify(valid.name)}`, async () => {
    // One read at one revision: the network and its leases, the name, the ports and the network's VIPs.
    const read: IRequestOp[] = [
      { request_range: { key: enc(networkKey) } },
      { request_range: { ...prefixRange(keys.subnetsOf(valid.network)) } },
      { request_range: { key: enc(serviceKey), keys_only: true } },
      { request_range: { ...prefixRange(vipsPrefix), keys_only: true } },
      ...portKeys.map((key): IRequestOp => ({ request_range: { key: enc(key) } })),
    ];
    const state = await etcd.call(() => etcd.client.kv.txn({ compare: [], success: read, failure: [] }));
    const [networkRange, subnetRange, serviceRange, vipRange, ...portRanges] = state.responses.map((r) => r.response_range);
    const networkKv = networkRange?.kvs[0];
    const network = networkKv && etcd.values.parse("network", networkKey, networkKv.value, networkKv.mod_revision);
    const holders = new Map<string, string>();
    portRanges.forEach((range, i) => {
      const kv = range?.kvs[0];
      if (kv) holders.set(portKeys[i]!, kv.value.toString("utf8"));
    });
    let sliceHolder: string | undefined;
    if (network) {
      const sliceKey = keys.subnet(network.name, serviceSlice(network));
      const kv = subnetRange?.kvs.find((kv) => kv.key.toString("utf8") === sliceKey);
      // An unreadable lease there still holds the slice.
      if (kv) sliceHolder = etcd.values.parse("subnet", sliceKey, kv.value, kv.mod_revision)?.node ?? "(an unreadable lease)";
    }
    const record = planService({
      spec: valid,
      nameTaken: (serviceRange?.kvs.length ?? 0) > 0,
      network,
      portHolder: (port) => holders.get(keys.port(port.protocol, port.published)),
      takenVips: new Set((vipRange?.kvs ?? []).map((kv) => kv.key.toString("utf8").slice(vipsPrefix.length))),
      serviceSliceHolder: sliceHolder,
      now: new Date(),
    });

    const absent = (key: string): ICompare => ({ key: enc(key), target: "Version", result: "Equal", version: 0 });
    const put = (key: string, value: string): IRequestOp => ({ request_put: { key: enc(key), value: enc(value) } });
    // The same network, unchanged, and every key this service writes still absent.
    const compare: ICompare[] = [
      { key: enc(networkKey), target: "Mod", result: "Equal", mod_revision: networkKv!.mod_revision },
      absent(serviceKey),
      ...portKeys.map(absent),
    ];
    const success: IRequestOp[] = [put(serviceKey, JSON.stringify(record)), ...portKeys.map((key) => put(key, record.name))];
    if (record.vip !== undefined) {
      compare.push(absent(keys.vip(record.network, record.vip)), absent(keys.subnet(record.network, serviceSlice(network!))));
      success.push(put(keys.vip(record.network, record.vip), record.name));
    }
    const txn = await etcd.call(() => etcd.client.kv.txn({ compare, success, failure: [] }));
    return txn.succeeded ? record : undefined;
  });
}

/**
 * Deletes the service and every port and VIP reservation holding its name (found by reading them
 * all, so reservations survive neither an unreadable record nor a record that lost track of them).
 */
export async function removeService(etcd: EtcdRequests, name: string): Promise<void> {
  parseName(name, "name");
  const { keys } = etcd;
  const serviceKey = keys.service(name);
  await etcd.commit(`removing service ${JSON.stringify(name)}`, async () => {
    const state = await etcd.call(() =>
      etcd.client.kv.txn({
        compare: [],
        success: [{ request_range: { key: enc(serviceKey) } }, { request_range: prefixRange(keys.ports) }, { request_range: prefixRange(keys.vips) }],
        failure: [],
      }),
    );
    const [serviceRange, portRange, vipRange] = state.responses.map((r) => r.response_range);
    const serviceKv = serviceRange?.kvs[0];
    if (!serviceKv) throw new WeftError("not-found", `name: service ${JSON.stringify(name)} does not exist`, { field: "name" });
    const reservations = [...(portRange?.kvs ?? []), ...(vipRange?.kvs ?? [])].filter((kv) => kv.value.toString("utf8") === name);
    const compare: ICompare[] = [serviceKv, ...reservations].map((kv) => ({ key: kv.key, target: "Mod", result: "Equal", mod_revision: kv.mod_revision }));
    const success: IRequestOp[] = [serviceKv, ...reservations].map((kv) => ({ request_delete_range: { key: kv.key } }));
    const txn = await etcd.call(() => etcd.client.kv.txn({ compare, success, failure: [] }));
    return txn.succeeded ? true : undefined;
  });
}
