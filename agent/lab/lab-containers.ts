// The lab's containers: network namespaces attached to a network through one host's agent, each
// with a resolv.conf naming the resolver the attach result gives.
import { create } from "@bufbuild/protobuf";
import { createUnaryClient, type UnaryClient } from "../../proto/grpc-binding.js";
import { AttachEndpointRequestSchema, WeftService } from "../../proto/gen/weft/v1/api_pb.js";
import { LabError } from "./lab-error.js";
import { addNetns } from "./lab-namespaces.js";
import type { LabContainer, LabHost } from "./lab-state.js";
import { writeNetnsResolvConf } from "./lab-world.js";

export type LabApi = UnaryClient<(typeof WeftService)["method"]>;

export async function withHostApi<T>(host: Pick<LabHost, "apiSocket">, work: (api: LabApi) => Promise<T>): Promise<T> {
  const client = createUnaryClient(WeftService, `unix:${host.apiSocket}`);
  try {
    return await work(client);
  } finally {
    client.close();
  }
}

/** A new namespace attached to `network` with these gossip labels. */
export async function attachContainer(host: LabHost, netns: string, network: string, labels: Record<string, string> = {}): Promise<LabContainer> {
  await addNetns(netns);
  const { endpoint } = await withHostApi(host, (api) =>
    api.attachEndpoint(create(AttachEndpointRequestSchema, { network, netns, name: netns, labels }), { deadlineMs: 15_000 }),
  );
  if (!endpoint) throw new LabError(`container ${netns}`, "AttachEndpoint returned no endpoint");
  const nameserver = endpoint.dns?.nameservers[0];
  if (nameserver) await writeNetnsResolvConf(netns, nameserver, endpoint.dns?.search ?? []);
  return { name: netns, host: host.name, netns, network, ip: endpoint.ip.split("/")[0]!, mac: endpoint.mac, endpointId: endpoint.id };
}
