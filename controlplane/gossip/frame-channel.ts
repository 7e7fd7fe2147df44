import { randomBytes } from "node:crypto";
import { errorText } from "../../proto/values/index.js";
import type { Clock } from "../clock.js";
import type { GossipConfig } from "./gossip-config.js";
import { encodeFrame, openFrame, type FrameCheck } from "./gossip-frame.js";
import type { GossipMetrics } from "./gossip-metrics.js";
import { encodeGossipMessage, type OutgoingBody, type WireMessage } from "./gossip-wire.js";
import type { PeerRecord, PeerSet } from "./peer-set.js";
import type { RejectionReason } from "./rejection-reason.js";
import type { SignatureScheme } from "./signature-scheme.js";
import type { GossipTransport } from "./transport.js";

/** Room for the frame's own fields around the entry bytes (maxMessageBytes). */
export const FRAME_OVERHEAD_BYTES = 64 * 1024;

/** Why a frame was refused; `authenticated` when its origin's signature held (the origin is real). */
export interface FrameRefusal {
  readonly ok: false;
  readonly reason: RejectionReason;
  readonly origin: string;
  readonly authenticated: boolean;
  readonly detail: string;
}

export type ReceivedFrame = { readonly ok: true; readonly message: WireMessage; readonly peer: PeerRecord } | FrameRefusal;

export interface FrameChannelOptions {
  readonly name: string;
  readonly secretKey: Uint8Array;
  readonly scheme: SignatureScheme;
  readonly clusterKey: Uint8Array | undefined;
  readonly config: GossipConfig;
  readonly clock: Clock;
  readonly metrics: GossipMetrics;
  readonly peers: PeerSet;
  readonly transport: GossipTransport;
  /** A refusal of a frame or reply, or a failed call: counted and logged by the node. */
  readonly refused: (refusal: FrameRefusal) => void;
  /** An authenticated reply to one of our requests arrived: the peer is alive. */
  readonly heard: (peer: PeerRecord) => void;
  readonly unreachable: (peer: PeerRecord, kind: "unreachable" | "refused", detail: string) => void;
}

/**
 * Frames between this node and its peers: every frame names its receiver, carries its send time and
 * an id unique per origin, and is signed (and sealed with the cluster key when there is one). A
 * received frame is accepted only from a member, addressed to this node, sent within the allowed
 * clock skew and not seen before; a reply only when it answers the request it was sent for.
 */
export class FrameChannel {
  #nextMessageId: bigint;

  constructor(readonly options: FrameChannelOptions) {
    // Ids continue from a random point, so a restarted node does not repeat its previous run's ids.
    this.#nextMessageId = randomBytes(8).readBigUInt64BE() >> 2n;
  }

  get maxFrameBytes(): number {
    return this.options.config.maxMessageBytes + FRAME_OVERHEAD_BYTES;
  }

  /** Encodes, signs and seals a message to `receiver`; returns the bytes and the message's id. */
  seal(body: OutgoingBody, receiver: string, inReplyTo = 0n): { bytes: Uint8Array; messageId: bigint } {
    const { name, secretKey, scheme, clusterKey, clock, metrics } = this.options;
    const messageId = ++this.#nextMessageId;
    const message = encodeGossipMessage({ origin: name, receiver, sentAtMs: clock.now(), messageId, inReplyTo }, body);
    const bytes = encodeFrame(message, { secretKey, scheme, ...(clusterKey ? { clusterKey } : {}) });
    metrics.sent(bytes.length);
    return { bytes, messageId };
  }

  /** Opens a received frame (request or reply) and checks everything but reply binding. Never throws. */
  open(bytes: Uint8Array): ReceivedFrame {
    const { config, clock, peers, name } = this.options;
    const opened = openFrame(bytes, this.#check());
    if (!opened.ok) return { ...opened, authenticated: false };
    const message = opened.message;
    const refuse = (reason: RejectionReason, detail: string): FrameRefusal => ({ ok: false, reason, origin: message.origin, authenticated: true, detail });
    const peer = peers.get(message.origin)!;
    if (message.receiver !== name) return refuse("wrong-receiver", `frame addressed to ${JSON.stringify(message.receiver)}`);
    const now = clock.now();
    if (Math.abs(message.sentAtMs - now) > config.maxClockSkewMs)
      return refuse("stale-frame", `frame sent at ${message.sentAtMs}, ${message.sentAtMs - now} ms from this node's clock (allowed: +-${config.maxClockSkewMs} ms)`);
    if (!peer.replays.admit(message.messageId, message.sentAtMs, now)) return refuse("replayed-frame", `frame ${message.messageId} seen before`);
    this.options.metrics.received();
    return { ok: true, message, peer };
  }

  /**
   * Sends a request to `peer` and returns its authenticated reply, or undefined when there is none
   * (unreachable, refused, or a reply that is not the answer to this request).
   */
  async exchange(peer: PeerRecord, body: OutgoingBody, timeoutMs = this.options.config.callTimeoutMs): Promise<WireMessage | undefined> {
    const { bytes, messageId } = this.seal(body, peer.peer.name);
    let response: Uint8Array;
    try {
      response = await this.options.transport.call(peer.peer.gossipAddr, bytes, timeoutMs);
    } catch (err) {
      this.options.unreachable(peer, "unreachable", `unreachable: ${errorText(err)}`);
      return undefined;
    }
    if (response.length === 0) {
      this.options.unreachable(peer, "refused", "refused our frame (it could not authenticate it: check the cluster key, the clocks, and that both nodes are registered)");
      return undefined;
    }
    const received = this.open(response);
    if (!received.ok) {
      this.options.refused(received.origin === "unknown" ? { ...received, origin: peer.peer.name } : received);
      return undefined;
    }
    const reply = received.message;
    if (reply.origin !== peer.peer.name) {
      this.options.refused({ ok: false, reason: "unexpected-responder", origin: peer.peer.name, authenticated: true, detail: `reply signed by ${reply.origin}` });
      return undefined;
    }
    if (reply.inReplyTo !== messageId) {
      this.options.refused({ ok: false, reason: "unbound-reply", origin: peer.peer.name, authenticated: true, detail: `reply to ${reply.inReplyTo}, not to our request ${messageId}` });
      return undefined;
    }
    // A pong is how a peer that sends us no requests of its own shows it is alive.
    this.options.heard(peer);
    if (reply.body.case === "refusal") {
      this.options.unreachable(peer, "refused", `refused our frame: ${reply.body.value.reason}`);
      return undefined;
    }
    return reply;
  }

  #check(): FrameCheck {
    const { scheme, clusterKey, config, peers } = this.options;
    return {
      scheme,
      maxFrameBytes: this.maxFrameBytes,
      maxEntries: config.maxEntriesPerFrame,
      publicKeyOf: (origin) => peers.get(origin)?.peer.publicKey,
      ...(clusterKey ? { clusterKey } : {}),
    };
  }
}
