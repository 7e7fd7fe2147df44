// Services: durable records in etcd, backends chosen from gossip by label selectors, Maglev tables.
export type { ServiceMode, ServiceAffinity, PortProtocol, PublishMode, ServicePort, ServiceSpec, ServiceRecord } from "./service-record.js";
