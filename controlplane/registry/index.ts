export type { Registry, RegistryEvent, RegistrySnapshot } from "./registry.js";
export { DEFAULT_NODE_TTL_SECONDS, DEFAULT_RECLAIM_AFTER_MS } from "./registry.js";
export {
  parseNodeRecord,
  parseNetworkRecord,
  parseSubnetLease,
  validateNodeRecord,
  validateNodeName,
  leaseFitsNetwork,
  type NodeRecord,
  type NetworkRecord,
  type SubnetLease,
} from "./records.js";
export { MemoryRegistry, MemoryRegistryStore, type MemoryRegistryOptions } from "./memory-registry.js";
export { lowestFreeVni, planNetwork } from "./network-plan.js";
export { planSubnetClaim, type SubnetClaimPlan } from "./subnet-claim-plan.js";
export { registryKeys, DEFAULT_PREFIX, type RegistryKeys } from "./keys.js";
export { createEtcdRegistry, EtcdRegistry, type EtcdRegistryOptions } from "./etcd-registry.js";
