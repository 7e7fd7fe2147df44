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

const STALLED_DIAL_MS = 1000;

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
  // Each peer's channel owns its connection (no process-wide subchannel sharing), so dropping the
  // channel after a failed call really drops the connection: see call().
  const clientOptions = { ...channelOptions, "grpc.use_local_subchannel_pool": 1 };
  const newClient = (address: string) =>
    createUnaryClient(GossipService, address, grpc.credentials.createInsecure(), clientOptions);
  const clients = new Map<string, { client: ReturnType<typeof newClient>; createdAtMs: number; answered: boolean }>();
  let server: grpc.Server | undefined;
  let boundAddress: string | undefined;

  const clientFor = (address: string) => {
    let entry = clients.get(address);
    // A channel that has not had one answer in a second is waiting on a lost connection attempt,
    // which the kernel retries 1 s, 3 s, 7 s... later: dial afresh.
    if (entry !== undefined && !entry.answered && Date.now() - entry.createdAtMs > STALLED_DIAL_MS) {
      entry.client.close();
      entry = undefined;
    }
    if (entry === undefined) {
      entry = { client: newClient(address), createdAtMs: Date.now(), answered: false };
      clients.set(address, entry);
    }
    return entry;
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
      const entry = clientFor(address);
      try {
        const request = create(ExchangeRequestSchema, { frame: fromBinary(FrameSchema, frame) });
        const response = await entry.client.exchange(request, { deadlineMs: timeoutMs });
        entry.answered = true;
        return toBinary(FrameSchema, response.frame ?? create(FrameSchema));
      } catch (err) {
        // A call that timed out or found no connection leaves a connection whose unacknowledged bytes
        // the kernel retransmits with exponential backoff (seconds apart after a long cut): it would
        // come back well after the link does. The next call dials afresh instead.
        if (isConnectionFailure(err) && clients.get(address) === entry) {
          clients.delete(address);
          entry.client.close();
        }
        throw new TransportError(address, err instanceof Error ? err.message : String(err), { cause: err });
      }
    },
    forget(address) {
      const entry = clients.get(address);
      if (entry === undefined) return;
      clients.delete(address);
      entry.client.close();
    },
    async close() {
      for (const entry of clients.values()) entry.client.close();
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
