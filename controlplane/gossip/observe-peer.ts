// Asking a member for an observation (its part of a trace): one Observe frame, through the same
// channel, checks and deadline as every other gossip exchange.
import { create } from "@bufbuild/protobuf";
import { ObserveRequestSchema } from "../../proto/gen/weft/v1/gossip_pb.js";
import { printable, WeftError } from "../../proto/values/index.js";
import type { FrameChannel } from "./frame-channel.js";
import type { PeerRecord } from "./peer-set.js";

/** The member's reply bytes, or a WeftError: not-found for a non-member, unavailable otherwise. */
export async function observePeer(channel: FrameChannel, peer: PeerRecord | undefined, peerName: string, running: boolean, query: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
  if (peer === undefined) throw new WeftError("not-found", `peer: ${printable(peerName)} is not a member`, { field: "peer" });
  if (!running) throw new WeftError("unavailable", "gossip is not running");
  const reply = await channel.exchange(peer, { case: "observe", value: create(ObserveRequestSchema, { query }) }, timeoutMs);
  if (reply?.body.case !== "observation") throw new WeftError("unavailable", `${printable(peerName)} did not answer within ${timeoutMs} ms (or refused)`);
  return reply.body.value.report;
}
