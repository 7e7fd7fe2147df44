// DockerAgent over the agent's local gRPC API: the CNI code's client for endpoints, plus the network
// calls. weftd serves the driver through this, talking to its own socket, as it serves CNI.
import * as grpc from "@grpc/grpc-js";
import { WeftService } from "../../proto/gen/weft/v1/api_pb.js";
import { createUnaryClient, type UnaryClient } from "../../proto/grpc-binding.js";
import { fromStatus, grpcCniAgent } from "../cni/grpc-cni-agent.js";
import type { DockerAgent } from "./docker-agent.js";

type Api = UnaryClient<(typeof WeftService)["method"]>;

export function grpcDockerAgent(apiSocket: string, deadlineMs = 30_000): DockerAgent & { close(): void } {
  const endpoints = grpcCniAgent(apiSocket, deadlineMs);
  let api: Api | undefined;
  const call = async <T>(work: (api: Api) => Promise<T>): Promise<T> => {
    try {
      return await work((api ??= createUnaryClient(WeftService, `unix:${apiSocket}`) as Api));
    } catch (err) {
      throw fromStatus(err);
    }
  };
  const options = { deadlineMs };
  return {
    attach: (request) => endpoints.attach(request),
    detach: (name) => endpoints.detach(name),
    find: (name) => endpoints.find(name),
    findNetwork: (name) =>
      call(async (a) => {
        try {
          const { network } = await a.inspectNetwork({ name }, options);
          return network ? { name: network.name, subnet: network.subnet, internal: network.internal } : undefined;
        } catch (err) {
          if ((err as grpc.ServiceError).code === grpc.status.NOT_FOUND) return undefined;
          throw err;
        }
      }),
    listNetworks: () => call(async (a) => (await a.listNetworks({}, options)).networks.map((n) => ({ name: n.name, subnet: n.subnet, internal: n.internal }))),
    createNetwork: ({ name, subnet, labels }) =>
      call(async (a) => void (await a.createNetwork({ name, subnet, vni: 0, hostPrefixLen: 0, mtu: 0, internal: false, labels }, options))),
    removeNetwork: (name) => call(async (a) => void (await a.removeNetwork({ name }, options))),
    close: () => {
      endpoints.close();
      api?.close();
    },
  };
}
