// DockerAgent over the agent's local gRPC API: the CNI code's client for endpoints, plus the network
// calls. weftd serves the driver through this, talking to its own socket, as it serves CNI.
import * as grpc from "@grpc/grpc-js";
import { WeftService, type Network } from "../../proto/gen/weft/v1/api_pb.js";
import { createUnaryClient, type UnaryClient } from "../../proto/grpc-binding.js";
import { fromStatus, grpcCniAgent } from "../cni/grpc-cni-agent.js";
import type { DockerAgent, WeftNetwork } from "./docker-agent.js";

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
  let node: string | undefined;
  const toNetwork = (n: Network): WeftNetwork => ({ name: n.name, subnet: n.subnet, internal: n.internal, hostPrefixLen: n.hostPrefixLen });
  return {
    // The CNI client hands the request to AttachEndpoint as it is, `ip` included.
    attach: (request) => endpoints.attach(request),
    detach: (name) => endpoints.detach(name),
    find: (name) => endpoints.find(name),
    findNetwork: (name) =>
      call(async (a) => {
        try {
          const { network } = await a.inspectNetwork({ name }, options);
          return network ? toNetwork(network) : undefined;
        } catch (err) {
          if ((err as grpc.ServiceError).code === grpc.status.NOT_FOUND) return undefined;
          throw err;
        }
      }),
    listNetworks: () => call(async (a) => (await a.listNetworks({}, options)).networks.map(toNetwork)),
    networkSlices: (name) =>
      call(async (a) => {
        node ??= (await a.getStatus({}, options)).node;
        let answer;
        try {
          answer = await a.inspectNetwork({ name }, options);
        } catch (err) {
          if ((err as grpc.ServiceError).code === grpc.status.NOT_FOUND) return undefined;
          throw err;
        }
        const { network, slices, endpoints: members } = answer;
        if (!network) return undefined;
        return {
          network: network.name,
          subnet: network.subnet,
          hostPrefixLen: network.hostPrefixLen,
          node,
          slices: slices.map((s) => ({ cidr: s.cidr, node: s.node })),
          localAddresses: new Map(members.filter((e) => e.local).map((e) => [e.ip, `weft endpoint ${e.name}`])),
        };
      }),
    createNetwork: ({ name, subnet, labels }) =>
      call(async (a) => void (await a.createNetwork({ name, subnet, vni: 0, hostPrefixLen: 0, mtu: 0, internal: false, labels }, options))),
    removeNetwork: (name) => call(async (a) => void (await a.removeNetwork({ name }, options))),
    close: () => {
      endpoints.close();
      api?.close();
    },
  };
}
