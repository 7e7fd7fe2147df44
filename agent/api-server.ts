// The local API: WeftService over gRPC on a unix socket (mode 0660). It translates between protobuf
// messages and the Agent; errors become gRPC statuses in api-status.ts.
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { chmod, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { errorText, printable } from "../proto/values/index.js";
import type { NetworkRecord } from "../controlplane/registry/index.js";
import {
  EndpointDnsSchema,
  EndpointInterfaceSchema,
  EndpointSchema,
  NetworkSchema,
  PeerSchema,
  SubnetSliceSchema,
  WeftService,
  type Endpoint,
  type Network,
} from "../proto/gen/weft/v1/api_pb.js";
import { addUnaryService, StatusError } from "../proto/grpc-binding.js";
import type { Agent, EndpointView } from "./agent.js";
import { toStatusError } from "./api-status.js";
import { gatewayIp } from "./networks/gateway.js";
import { serviceSpecOf, toService } from "./services/service-messages.js";
import { removeStaleSocket } from "./stale-socket.js";
import type { TraceProto } from "./trace/trace-report.js";

export async function startApiServer(
  socketPath: string,
  agent: Agent,
  log: (line: string) => void,
): Promise<grpc.Server> {
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o755 });
  await removeStaleSocket(socketPath, "--api-socket");
  const server = new grpc.Server();
  const handle = <T>(work: () => T | Promise<T>): Promise<T> =>
    Promise.resolve()
      .then(work)
      .catch((err: unknown) => {
        throw toStatusError(err);
      });
  addUnaryService(
    server,
    WeftService,
    {
      createNetwork: (req) =>
        handle(async () => {
          const record = await agent.createNetwork({
            name: req.name,
            subnet: req.subnet,
            vni: req.vni === 0 ? undefined : req.vni,
            hostPrefixLen: req.hostPrefixLen === 0 ? undefined : req.hostPrefixLen,
            mtu: req.mtu === 0 ? undefined : req.mtu,
            internal: req.internal,
            labels: req.labels,
          });
          return create(WeftService.method.createNetwork.output, { network: toNetwork(record) });
        }),
      listNetworks: () =>
        handle(() => create(WeftService.method.listNetworks.output, { networks: agent.listNetworks().map(toNetwork) })),
      inspectNetwork: (req) =>
        handle(() => {
          const { network, slices, endpoints } = agent.inspectNetwork(req.name);
          return create(WeftService.method.inspectNetwork.output, {
            network: toNetwork(network),
            slices: slices.map((s) => create(SubnetSliceSchema, { cidr: s.cidr, node: s.node, gateway: gatewayIp(s.cidr) })),
            endpoints: endpoints.map(toEndpoint),
          });
        }),
      removeNetwork: (req) =>
        handle(async () => {
          await agent.removeNetwork(req.name);
          return create(WeftService.method.removeNetwork.output, {});
        }),
      attachEndpoint: (req) =>
        handle(async () => {
          const endpoint = await agent.attachEndpoint({ network: req.network, netns: req.netns, name: req.name, ifName: req.ifName, aliases: req.aliases, labels: req.labels, ip: req.ip });
          return create(WeftService.method.attachEndpoint.output, { endpoint: toEndpoint(endpoint) });
        }),
      detachEndpoint: (req) =>
        handle(async () => {
          const endpoint = await agent.detachEndpoint(req.endpoint);
          return create(WeftService.method.detachEndpoint.output, { endpoint: toEndpoint(endpoint) });
        }),
      inspectEndpoint: (req) => handle(() => create(WeftService.method.inspectEndpoint.output, { endpoint: toEndpoint(agent.inspectEndpoint(req.endpoint)) })),
      listEndpoints: (req) =>
        handle(() => create(WeftService.method.listEndpoints.output, { endpoints: agent.listEndpoints(req.network).map(toEndpoint) })),
      listPeers: () =>
        handle(() =>
          create(WeftService.method.listPeers.output, {
            peers: agent.peers().map((p) =>
              create(PeerSchema, {
                name: p.name,
                gossipAddr: p.gossipAddr,
                underlayIp: p.underlayIp,
                state: p.state,
                endpoints: p.endpoints,
                lastSeenAgoMs: BigInt(p.lastSeenMs === undefined ? -1 : Math.max(0, Date.now() - p.lastSeenMs)),
              }),
            ),
          }),
        ),
      getStatus: () =>
        handle(() => {
          const s = agent.status();
          return create(WeftService.method.getStatus.output, {
            node: s.node,
            version: s.version,
            underlayIp: s.underlayIp,
            gossipAddr: s.gossipAddr,
            etcdConnected: s.etcdConnected,
            networks: s.networks,
            localEndpoints: s.localEndpoints,
            remoteEndpoints: s.remoteEndpoints,
            peersAlive: s.peersAlive,
            peersTotal: s.peersTotal,
            lastReconcileMs: BigInt(s.lastReconcileMs),
            uptimeMs: BigInt(s.uptimeMs),
          });
        }),
      createService: (req) =>
        handle(async () => create(WeftService.method.createService.output, { service: toService(await agent.services.create(serviceSpecOf(req))) })),
      listServices: () => handle(() => create(WeftService.method.listServices.output, { services: agent.services.list().map(toService) })),
      inspectService: (req) => handle(() => create(WeftService.method.inspectService.output, { service: toService(agent.services.inspect(req.name)) })),
      removeService: (req) =>
        handle(async () => {
          await agent.services.remove(req.name);
          return create(WeftService.method.removeService.output, {});
        }),
      trace: (req) =>
        handle(async () => {
          const report = await agent.observer.trace({
            from: req.from,
            to: req.to,
            ...(req.port !== 0 ? { port: req.port } : {}),
            ...(req.proto !== "" ? { proto: req.proto as TraceProto } : {}),
            probe: req.probe,
            ...(req.sourcePort !== 0 ? { sourcePort: req.sourcePort } : {}),
          });
          return create(WeftService.method.trace.output, { reportJson: JSON.stringify(report) });
        }),
    },
    (method, err) => {
      if (!(err instanceof StatusError) || err.code === grpc.status.INTERNAL) log(`api ${method}: ${printable(errorText(err))}`);
    },
  );
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  await chmod(socketPath, 0o660);
  return server;
}

function toNetwork(record: NetworkRecord): Network {
  return create(NetworkSchema, {
    name: record.name,
    vni: record.vni,
    subnet: record.subnet,
    hostPrefixLen: record.hostPrefixLen,
    mtu: record.mtu ?? 0,
    labels: record.labels,
    internal: record.internal,
  });
}

function toEndpoint(view: EndpointView): Endpoint {
  const { dns, interfaces, ...rest } = view;
  return create(EndpointSchema, {
    ...rest,
    interfaces: interfaces.map((i) => create(EndpointInterfaceSchema, i)),
    ...(dns ? { dns: create(EndpointDnsSchema, dns) } : {}),
  });
}
