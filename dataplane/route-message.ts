// rtnetlink route messages: the one route weft makes, a container's default route. Layout from
// linux/rtnetlink.h (struct rtmsg), with the framing of netlink-message.ts.
import { ipv4Bytes } from "./address-format.js";
import { AF_INET, NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE, NLM_F_REQUEST, encodeMessage } from "./netlink-message.js";

export const RTM_NEWROUTE = 24;
export const RTMSG_LEN = 12;
export const RT_TABLE_MAIN = 254;
export const RTPROT_BOOT = 3;
export const RT_SCOPE_UNIVERSE = 0;
export const RTN_UNICAST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;

/** Like `ip route replace default via GATEWAY dev IFINDEX` in the socket's namespace. */
export function encodeDefaultRoute(gateway: string, ifindex: number, seq: number): Buffer {
  const rtmsg = Buffer.alloc(RTMSG_LEN);
  rtmsg[0] = AF_INET; // family; dst_len, src_len and tos stay 0: the default route
  rtmsg[4] = RT_TABLE_MAIN;
  rtmsg[5] = RTPROT_BOOT;
  rtmsg[6] = RT_SCOPE_UNIVERSE;
  rtmsg[7] = RTN_UNICAST;
  return encodeMessage(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, seq, rtmsg, [
    { type: RTA_GATEWAY, bytes: ipv4Bytes(gateway) },
    { type: RTA_OIF, u32: ifindex },
  ]);
}
