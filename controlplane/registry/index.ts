// The registry: durable cluster facts in etcd. The in-memory test double is not exported here: tests
// import it from ./memory-registry.js.
export type { Registry, RegistryEvent, RegistrySnapshot } from "./registry.js";
export { DEFAULT_NODE_TTL_SECONDS, DEFAULT_RECLAIM_AFTER_MS } from "./registry.js";
export {
  parseNodeRecord,
  parseNetworkRecord,
  parseSubnetLease,
  leaseFitsNetwork,
  type NodeRecord,
  type NetworkRecord,
  type SubnetLease,
} from "./records.js";
export { lowestFreeVni, planNetwork } from "./network-plan.js";
export { planSubnetClaim, type SubnetClaimPlan } from "./subnet-claim-plan.js";
export { registryKeys, DEFAULT_PREFIX, type RegistryKeys } from "./keys.js";
export { INVALID_VALUES_METRIC } from "./registry-values.js";
export { createEtcdRegistry, EtcdRegistry, type EtcdRegistryOptions } from "./etcd-registry.js";
