import { createHash } from "node:crypto";

/**
 * A stable MAC for a node's VXLAN device of one VNI: the same on every restart, so peers' FDB entries
 * pointing at it stay valid. Locally administered (bit 1 set) and unicast (bit 0 clear).
 */
export function vtepMacFor(nodeName: string, vni: number): string {
  const digest = createHash("sha256").update(`weft-vtep\0${nodeName}\0${vni}`).digest();
  const bytes = Array.from(digest.subarray(0, 6));
  bytes[0] = ((bytes[0] ?? 0) & 0xfe) | 0x02;
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}
