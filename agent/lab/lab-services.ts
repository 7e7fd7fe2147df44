// The lab's services, through one host's API (CreateService, ListServices, RemoveService), read
// back into the small shape the lab reports (`weft lab status --json`) and checks with. Tests that
// mean to exercise the user's surface run the weft CLI itself (runWeftCli).
import { create } from "@bufbuild/protobuf";
import { join } from "node:path";
import {
  CreateServiceRequestSchema,
  ListServicesRequestSchema,
  RemoveServiceRequestSchema,
  type Service,
} from "../../proto/gen/weft/v1/api_pb.js";
import { packageRoot } from "../package-root.js";
import { runCommand } from "./command-runner.js";
import { withHostApi } from "./lab-containers.js";
import type { LabService, LabServicePort } from "./lab-service.js";
import type { LabHost } from "./lab-state.js";

const WEFT_CLI = join(packageRoot(), "agent", "bin", "weft.js");

export interface LabServiceSpec {
  name: string;
  network: string;
  selector: Record<string, string>;
  ports?: LabServicePort[];
  mode?: "vip" | "dnsrr";
  affinity?: "none" | "client-ip";
}

type HostSocket = Pick<LabHost, "apiSocket">;

export async function createLabService(host: HostSocket, spec: LabServiceSpec): Promise<LabService> {
  const { service } = await withHostApi(host, (api) =>
    api.createService(
      create(CreateServiceRequestSchema, {
        name: spec.name,
        network: spec.network,
        selector: spec.selector,
        ports: spec.ports ?? [],
        mode: spec.mode ?? "",
        affinity: spec.affinity ?? "",
      }),
      { deadlineMs: 15_000 },
    ),
  );
  if (!service) throw new Error(`CreateService ${spec.name} returned no service`);
  return labService(service);
}

export async function removeLabService(host: HostSocket, name: string): Promise<void> {
  await withHostApi(host, (api) => api.removeService(create(RemoveServiceRequestSchema, { name }), { deadlineMs: 15_000 }));
}

export async function listLabServices(host: HostSocket, deadlineMs = 5000): Promise<LabService[]> {
  const { services } = await withHostApi(host, (api) => api.listServices(create(ListServicesRequestSchema, {}), { deadlineMs }));
  return services.map(labService);
}

/** The API's Service as the lab reports it: the CLI's words, no empty VIP. */
export function labService(s: Service): LabService {
  return {
    name: s.name,
    network: s.network,
    mode: s.mode === "dnsrr" ? "dnsrr" : "vip",
    ...(s.vip ? { vip: s.vip } : {}),
    ports: s.ports.map((p) => ({
      protocol: p.protocol === "udp" ? "udp" : "tcp",
      published: p.published,
      target: p.target,
      publishMode: p.publishMode === "local" ? "local" : "ingress",
    })),
    backends: s.backends.map((b) => ({ name: b.name, ip: b.ip, node: b.node, endpointId: b.endpointId })),
  };
}

/** Runs `weft --api-socket <host's socket> ARGS...` as a user would; a failure carries the CLI's own message. */
export async function runWeftCli(host: HostSocket, args: readonly string[], timeoutMs = 30_000): Promise<string> {
  const { stdout } = await runCommand(process.execPath, [WEFT_CLI, "--api-socket", host.apiSocket, ...args], { timeoutMs });
  return stdout;
}
