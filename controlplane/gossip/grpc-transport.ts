import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  ExchangeRequestSchema,
  ExchangeResponseSchema,
  FrameSchema,
  GossipService,
} from "../../proto/gen/weft/v1/gossip_pb.js";
import { addUnaryService, createUnaryClient, StatusError } from "../../proto/grpc-binding.js";
import { FRAME_OVERHEAD_BYTES } from "./frame-channel.js";
import { defaultGossipConfig } from "./gossip-config.js";
import { TransportError, type GossipTransport } from "./transport.js";

export interface GrpcTransportOptions {
  /** host:port to listen on; port 0 picks a free one (see boundAddress). */
  readonly listen: string;
  /**
   * Largest frame sent or received (gRPC refuses larger messages before anyone decodes them); default
   * the gossip's own frame limit with the default config (maxMessageBytes + FRAME_OVERHEAD_BYTES).
   */
  readonly maxFrameBytes?: number;
}

/** The ExchangeRequest/Response wrapper around a frame: a tag and a length. */
const ENVELOPE_BYTES = 16;
/** Requests one connection may have in flight; a peer has one outstanding push, sync and ping at most. */
const MAX_CONCURRENT_STREAMS = 16;
/** Connections idle this long are closed, by either side, so idle ones do not pile up. */
const IDLE_CONNECTION_MS = 5 * 60 * 1000;

export interface GrpcGossipTransport extends GossipTransport {
  /** host:port actually bound, once serve() has resolved. */
  readonly boundAddress: string | undefined;
}

/** Gossip over one unary gRPC method; one cached channel per peer address. */
export function createGrpcTransport(options: GrpcTransportOptions): GrpcGossipTransport {
  const maxBytes = (options.maxFrameBytes ?? defaultGossipConfig.maxMessageBytes + FRAME_OVERHEAD_BYTES) + ENVELOPE_BYTES;
  const limits = {
    "grpc.max_receive_message_length": maxBytes,
    "grpc.max_send_message_length": maxBytes,
  };
  const serverOptions = {
    ...limits,
    "grpc.max_concurrent_streams": MAX_CONCURRENT_STREAMS,
    "grpc.max_connection_idle_ms": IDLE_CONNECTION_MS,
  };
  const channelOptions = {
    ...limits,
    "grpc.client_idle_timeout_ms": IDLE_CONNECTION_MS,
    // grpc-js backs reconnects off up to 120 s; a peer back from a partition would then sit unreachable
    // long after its link healed. Peers share a LAN: retry at most a second apart.
    "grpc.initial_reconnect_backoff_ms": 100,
    "grpc.max_reconnect_backoff_ms": 1000,
  };
  // Each peer's channel owns its connection (no process-wide subchannel sharing), so dropping the
  // channel after a failed call really drops the connection: see call().
  const clientOptions = { ...channelOptions, "grpc.use_local_subchannel_pool": 1 };
  const newClient = (address: string) =>
    createUnaryClient(GossipService, address, grpc.credentials.createInsecure(), clientOptions);
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
  const drop = (address: string, client: ReturnType<typeof newClient> | undefined = clients.get(address)) => {
    if (client === undefined || clients.get(address) !== client) return;
    clients.delete(address);
    client.close();
  };

  return {
    get boundAddress() {
      return boundAddress;
    },
    async serve(handler) {
      if (server !== undefined) throw new Error("gossip transport is already serving");
      const s = new grpc.Server(serverOptions);
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
      const client = clientFor(address);
      try {
        const request = create(ExchangeRequestSchema, { frame: fromBinary(FrameSchema, frame) });
        const response = await client.exchange(request, { deadlineMs: timeoutMs });
        return toBinary(FrameSchema, response.frame ?? create(FrameSchema));
      } catch (err) {
        // A call that timed out or found no connection leaves a connection whose unacknowledged bytes
        // the kernel retransmits with exponential backoff (seconds apart after a long cut): it would
        // come back well after the link does. The next call dials afresh instead.
        if (isConnectionFailure(err)) drop(address, client);
        throw new TransportError(address, err instanceof Error ? err.message : String(err), { cause: err });
      }
    },
    forget(address) {
      drop(address);
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

function isConnectionFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === grpc.status.DEADLINE_EXCEEDED || code === grpc.status.UNAVAILABLE;
}
