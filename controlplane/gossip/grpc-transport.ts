import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  ExchangeRequestSchema,
  ExchangeResponseSchema,
  FrameSchema,
  GossipService,
} from "../../proto/gen/weft/v1/gossip_pb.js";
import { addUnaryService, createUnaryClient, StatusError } from "../../proto/grpc-binding.js";
import { TransportError, type GossipTransport } from "./transport.js";

export interface GrpcTransportOptions {
  /** host:port to listen on; port 0 picks a free one (see boundAddress). */
  readonly listen: string;
  /** Largest gRPC message sent or received; default 8 MiB. */
  readonly maxMessageBytes?: number;
}

export interface GrpcGossipTransport extends GossipTransport {
  /** host:port actually bound, once serve() has resolved. */
  readonly boundAddress: string | undefined;
}

/** Gossip over one unary gRPC method; one cached channel per peer address. */
export function createGrpcTransport(options: GrpcTransportOptions): GrpcGossipTransport {
  const maxBytes = options.maxMessageBytes ?? 8 * 1024 * 1024;
  const channelOptions = {
    "grpc.max_receive_message_length": maxBytes,
    "grpc.max_send_message_length": maxBytes,
    // grpc-js backs reconnects off up to 120 s; a peer back from a partition would then sit unreachable
    // long after its link healed. Peers share a LAN: retry at most a second apart.
    "grpc.initial_reconnect_backoff_ms": 100,
    "grpc.max_reconnect_backoff_ms": 1000,
  };
  const newClient = (address: string) =>
    createUnaryClient(GossipService, address, grpc.credentials.createInsecure(), channelOptions);
  const clients = new Map<string, ReturnType<typeof newClient>>();
  let server: grpc.Server | undefined;
  let boundAddress: string | undefined;

  const clientFor = (address: string) => {
    let client = clients.get(address);
    if (client === undefined) {
      client = newClient(address);
      clients.set(address, client);
    }
    return client;
  };

  return {
    get boundAddress() {
      return boundAddress;
    },
    async serve(handler) {
      if (server !== undefined) throw new Error("gossip transport is already serving");
      const s = new grpc.Server(channelOptions);
      addUnaryService(s, GossipService, {
        exchange: async (request) => {
          if (request.frame === undefined) throw new StatusError(grpc.status.INVALID_ARGUMENT, "frame: missing");
          const response = await handler(toBinary(FrameSchema, request.frame));
          return create(ExchangeResponseSchema, { frame: fromBinary(FrameSchema, response) });
        },
      });
      const port = await new Promise<number>((resolve, reject) =>
        s.bindAsync(options.listen, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
      );
      server = s;
      const host = options.listen.slice(0, options.listen.lastIndexOf(":"));
      boundAddress = `${host}:${port}`;
    },
    async call(address, frame, timeoutMs) {
      try {
        const request = create(ExchangeRequestSchema, { frame: fromBinary(FrameSchema, frame) });
        const response = await clientFor(address).exchange(request, { deadlineMs: timeoutMs });
        return toBinary(FrameSchema, response.frame ?? create(FrameSchema));
      } catch (err) {
        throw new TransportError(address, err instanceof Error ? err.message : String(err), { cause: err });
      }
    },
    async close() {
      for (const client of clients.values()) client.close();
      clients.clear();
      const s = server;
      server = undefined;
      if (s === undefined) return;
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          s.forceShutdown();
          resolve();
        }, 2000);
        force.unref();
        s.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}
