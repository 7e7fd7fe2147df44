// Services: durable records in etcd, backends chosen from gossip by label selectors, Maglev tables.
export type { ServiceMode, ServiceAffinity, PortProtocol, PublishMode, ServicePort, ServiceSpec, ValidServiceSpec } from "./service-spec.js";
export { validateServiceSpec, validateSelector, parsePublish, parseSelector, MAX_SERVICE_PORTS } from "./service-spec.js";
export { parseServiceRecord, comparePorts, type ServiceRecord } from "./service-record.js";
export { selectorMatches } from "./selector.js";
export { serviceBackends, type ServiceBackend } from "./service-backends.js";
export { maglevTable, maglevTableSize } from "./maglev.js";
export { serviceSlice, chooseVip } from "./vip-allocation.js";
