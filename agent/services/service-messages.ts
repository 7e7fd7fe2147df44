// Services between protobuf messages and the registry's values. The request's strings go through as
// they are (an empty mode or affinity means the default): the registry's validateServiceSpec judges them
// and names the field.
import { create } from "@bufbuild/protobuf";
import type { PortProtocol, PublishMode, ServiceAffinity, ServiceMode, ServiceSpec } from "../../controlplane/services/index.js";
import { ServiceBackendSchema, ServicePortSchema, ServiceSchema, type CreateServiceRequest, type Service } from "../../proto/gen/weft/v1/api_pb.js";
import type { ServiceWithBackends } from "../desired-state/mesh-part.js";

export function serviceSpecOf(request: CreateServiceRequest): ServiceSpec {
  return {
    name: request.name,
    network: request.network,
    selector: { ...request.selector },
    ports: request.ports.map((p) => ({
      protocol: (p.protocol || "tcp") as PortProtocol,
      published: p.published,
      target: p.target,
      publishMode: (p.publishMode || "ingress") as PublishMode,
    })),
    ...(request.mode ? { mode: request.mode as ServiceMode } : {}),
    ...(request.affinity ? { affinity: request.affinity as ServiceAffinity } : {}),
  };
}

export function toService({ record, backends }: ServiceWithBackends): Service {
  return create(ServiceSchema, {
    name: record.name,
    network: record.network,
    selector: { ...record.selector },
    ports: record.ports.map((p) => create(ServicePortSchema, { protocol: p.protocol, published: p.published, target: p.target, publishMode: p.publishMode })),
    mode: record.mode,
    affinity: record.affinity,
    vip: record.vip ?? "",
    backends: backends.map((b) => create(ServiceBackendSchema, { endpointId: b.endpointId, name: b.name, ip: b.ip, node: b.owner })),
  });
}
