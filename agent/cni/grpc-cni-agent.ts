// CniAgent over the agent's local gRPC API (the socket the CLI uses). weftd serves CNI through this
// too, talking to its own socket: the CNI code then needs nothing from the agent's internals.
import * as grpc from "@grpc/grpc-js";
import { WeftService, type Endpoint } from "../../proto/gen/weft/v1/api_pb.js";
import { createUnaryClient, type UnaryClient } from "../../proto/grpc-binding.js";
import { WeftError, type ErrorCode } from "../../proto/values/index.js";
import type { CniAgent, CniEndpoint } from "./cni-agent.js";

type Api = UnaryClient<(typeof WeftService)["method"]>;

const CODE_BY_STATUS: Partial<Record<grpc.status, ErrorCode>> = {
  [grpc.status.INVALID_ARGUMENT]: "invalid-argument",
  [grpc.status.NOT_FOUND]: "not-found",
  [grpc.status.ALREADY_EXISTS]: "already-exists",
  [grpc.status.FAILED_PRECONDITION]: "failed-precondition",
  [grpc.status.RESOURCE_EXHAUSTED]: "resource-exhausted",
  [grpc.status.UNAVAILABLE]: "unavailable",
  [grpc.status.DEADLINE_EXCEEDED]: "unavailable",
};

/** The API's status as a WeftError, its field taken from the message ("FIELD: REASON"). */
export function fromStatus(err: unknown): unknown {
  const e = err as Partial<grpc.ServiceError>;
  if (typeof e.code !== "number") return err;
  const message = e.details ?? e.message ?? "";
  const field = /^([A-Za-z_][A-Za-z0-9_.]*): /.exec(message)?.[1];
  return new WeftError(CODE_BY_STATUS[e.code as grpc.status] ?? "internal", message, { ...(field ? { field } : {}), cause: err });
}

function toCniEndpoint(e: Endpoint): CniEndpoint {
  return {
    id: e.id,
    name: e.name,
    network: e.network,
    local: e.local,
    gateway: e.gateway,
    mtu: e.mtu,
    interfaces: e.interfaces.map((i) => ({ name: i.name, mac: i.mac, ip: i.ip })),
    ...(e.dns ? { dns: { nameservers: [...e.dns.nameservers], search: [...e.dns.search] } } : {}),
  };
}

export function grpcCniAgent(apiSocket: string, deadlineMs = 30_000): CniAgent & { close(): void } {
  let api: Api | undefined;
  const client = (): Api => (api ??= createUnaryClient(WeftService, `unix:${apiSocket}`) as Api);
  const call = async <T>(work: (api: Api) => Promise<T>): Promise<T> => {
    try {
      return await work(client());
    } catch (err) {
      throw fromStatus(err);
    }
  };
  const options = (): { deadlineMs: number } => ({ deadlineMs });
  return {
    attach: (request) =>
      call(async (a) => {
        const { endpoint } = await a.attachEndpoint(request, options());
        if (!endpoint) throw new WeftError("internal", "weftd answered an attach without the endpoint");
        return toCniEndpoint(endpoint);
      }),
    detach: (name) => call(async (a) => void (await a.detachEndpoint({ endpoint: name }, options()))),
    find: (name) =>
      call(async (a) => {
        try {
          const { endpoint } = await a.inspectEndpoint({ endpoint: name }, options());
          return endpoint ? toCniEndpoint(endpoint) : undefined;
        } catch (err) {
          if ((err as grpc.ServiceError).code === grpc.status.NOT_FOUND) return undefined;
          throw err;
        }
      }),
    list: (network) => call(async (a) => (await a.listEndpoints({ network }, options())).endpoints.map(toCniEndpoint)),
    ping: () => call(async (a) => void (await a.getStatus({}, { deadlineMs: Math.min(deadlineMs, 5000) }))),
    close: () => api?.close(),
  };
}
