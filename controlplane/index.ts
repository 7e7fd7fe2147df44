// The controlplane: etcd registry, IPAM and gossip. Never touches the kernel.
export * from "./retryable.js";
export * from "./network-spec.js";
export * from "./registry/index.js";
export * from "./ipam/index.js";
export * from "./gossip/index.js";
export * from "./services/index.js";
