import { create } from "@bufbuild/protobuf";
import { ObservationSchema, PongSchema, PushAckSchema, RefusalSchema } from "../../proto/gen/weft/v1/gossip_pb.js";
import { errorText, printable } from "../../proto/values/index.js";
import type { Clock } from "../clock.js";
import type { AntiEntropy } from "./anti-entropy.js";
import type { IntakeResult } from "./entry-intake.js";
import type { FrameChannel, FrameRefusal } from "./frame-channel.js";
import type { GossipConfig } from "./gossip-config.js";
import type { OutgoingBody, WireMessage } from "./gossip-wire.js";
import type { LogLimiter } from "./log-limiter.js";
import type { PeerRecord } from "./peer-set.js";
import type { RejectionReason } from "./rejection-reason.js";

/** The longest a push's acknowledgement waits for beforeAck, so bursts keep flowing. */
const ACK_WAIT_MS = 100;
/** Log key shared by every frame whose origin could not be authenticated. */
export const UNAUTHENTICATED = "\0unauthenticated";

export interface RequestHandlerOptions {
  readonly config: GossipConfig;
  readonly clock: Clock;
  readonly channel: FrameChannel;
  readonly antiEntropy: AntiEntropy;
  readonly logs: LogLimiter;
  readonly beforeAck: (() => Promise<unknown>) | undefined;
  ingest(entries: readonly Uint8Array[], from: string): Promise<IntakeResult>;
  heardFrom(peer: PeerRecord): void;
  refused(refusal: FrameRefusal): void;
  reject(key: string, shown: string, reason: RejectionReason, detail: string): void;
  /** The agent's answer to an observation request (see GossipNode.setObserveHandler); undefined: none. */
  observer(): ObserveHandler | undefined;
}

/** Answers a peer's observation query (opaque bytes to the gossip) with a report of at most `maxBytes`. */
export type ObserveHandler = (query: Uint8Array, from: string, maxBytes: number) => Promise<Uint8Array>;

/**
 * Answers the frames peers send: refused ones get an empty reply (no signing work for whoever sends
 * garbage or replays), a peer over its rate a signed refusal, pushes an acknowledgement once taken
 * in, syncs a sync reply, pings a pong. Never throws.
 */
export class RequestHandler {
  constructor(readonly options: RequestHandlerOptions) {}

  async handle(bytes: Uint8Array): Promise<Uint8Array> {
    const { channel, clock, config } = this.options;
    let request: WireMessage | undefined;
    try {
      const received = channel.open(bytes);
      if (!received.ok) {
        this.options.refused(received);
        return new Uint8Array();
      }
      request = received.message;
      const peer = received.peer;
      this.options.heardFrom(peer);
      const entries = request.body.case === "push" ? request.body.entries.length : 0;
      const now = clock.now();
      if (!peer.frames.take(1, now) || !peer.entries.take(entries, now)) {
        const name = peer.peer.name;
        this.options.reject(name, name, "rate-limited", `sent more than ${config.peerFramesPerSecond} frames or ${config.peerEntriesPerSecond} entries per second`);
        return this.#reply(request, { case: "refusal", value: create(RefusalSchema, { reason: "rate limited" }) });
      }
      switch (request.body.case) {
        case "push": {
          const { accepted, rejected } = await this.options.ingest(request.body.entries, request.origin);
          const beforeAck = this.options.beforeAck;
          if (beforeAck !== undefined && (accepted.length > 0 || request.body.confirm)) await this.#waitBeforeAck(beforeAck);
          return this.#reply(request, { case: "pushAck", value: create(PushAckSchema, { accepted: accepted.length, rejected }) });
        }
        case "sync":
          return this.#reply(request, this.options.antiEntropy.reply(request.body.value.owners));
        case "observe": {
          const observer = this.options.observer();
          if (observer === undefined) return this.#reply(request, { case: "refusal", value: create(RefusalSchema, { reason: "this node answers no observations" }) });
          const report = await observer(request.body.value.query, request.origin, config.maxMessageBytes);
          if (report.length > config.maxMessageBytes) return this.#reply(request, { case: "refusal", value: create(RefusalSchema, { reason: "observation too large" }) });
          return this.#reply(request, { case: "observation", value: create(ObservationSchema, { report }) });
        }
        case "ping":
          return this.#reply(request, { case: "pong", value: create(PongSchema, { nonce: request.body.value.nonce }) });
        default:
          return this.#reply(request, { case: "refusal", value: create(RefusalSchema, { reason: `unexpected ${request.body.case ?? "empty"} request` }) });
      }
    } catch (err) {
      this.options.logs.line(UNAUTHENTICATED, "internal", `gossip: failed to handle a frame: ${printable(errorText(err), 1024)}`);
      try {
        return request === undefined ? new Uint8Array() : this.#reply(request, { case: "refusal", value: create(RefusalSchema, { reason: "internal error" }) });
      } catch {
        return new Uint8Array();
      }
    }
  }

  #reply(request: WireMessage, body: OutgoingBody): Uint8Array {
    return this.options.channel.seal(body, request.origin, request.messageId).bytes;
  }

  async #waitBeforeAck(hook: () => Promise<unknown>): Promise<void> {
    const { clock } = this.options;
    let timer: unknown;
    const limit = new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, ACK_WAIT_MS)));
    try {
      await Promise.race([hook().catch(() => undefined), limit]);
    } finally {
      clock.clearTimeout(timer);
    }
  }
}
