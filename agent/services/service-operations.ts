// What the API does with services: create and remove go to the registry (one etcd transaction each,
// which validates the spec and refuses a taken port, name or VIP); list and inspect answer from the
// registry's cache with the backends of the service view.
import type { Registry } from "../../controlplane/registry/index.js";
import type { ServiceSpec } from "../../controlplane/services/index.js";
import { printable, WeftError } from "../../proto/values/index.js";
import type { ServiceWithBackends } from "../desired-state/mesh-part.js";
import type { ServiceView } from "./service-view.js";

export interface ServiceOperationsOptions {
  registry: Pick<Registry, "createService" | "removeService" | "snapshot">;
  view: Pick<ServiceView, "list" | "get" | "withBackends">;
  log: (level: "info", line: string) => void;
}

export class ServiceOperations {
  constructor(private readonly options: ServiceOperationsOptions) {}

  async create(spec: ServiceSpec): Promise<ServiceWithBackends> {
    const record = await this.options.registry.createService(spec);
    const ports = record.ports.map((p) => `${p.published}:${p.target}/${p.protocol}${p.publishMode === "local" ? ",mode=local" : ""}`).join(" ");
    this.options.log("info", `service ${record.name} created in ${record.network}: ${record.mode}${record.vip ? ` ${record.vip}` : ""}${ports ? `, published ${ports}` : ""}`);
    return this.options.view.withBackends(record);
  }

  list(): ServiceWithBackends[] {
    return this.options.view.list();
  }

  inspect(name: string): ServiceWithBackends {
    if (!name) throw new WeftError("invalid-argument", "name: is required", { field: "name" });
    const service = this.options.view.get(name);
    if (service === undefined) throw new WeftError("not-found", `name: no service named "${printable(name)}"`, { field: "name" });
    return service;
  }

  async remove(name: string): Promise<void> {
    if (!name) throw new WeftError("invalid-argument", "name: is required", { field: "name" });
    await this.options.registry.removeService(name);
    this.options.log("info", `service ${name} removed`);
  }
}
