// Repairs of a weft link that exists: only what differs from what is wanted, or nothing.
import type { LinkAction, ObservedLink } from "./kernel.js";

/** Adds a set-link for what differs on `link`; nothing when it all matches. */
export function pushFix(
  fixes: LinkAction[],
  link: ObservedLink,
  want: { mac?: string; mtu?: number; master?: string; up?: boolean },
): void {
  const fix: { kind: "set-link"; name: string; mac?: string; mtu?: number; master?: string; up?: boolean } = {
    kind: "set-link",
    name: link.name,
  };
  if (want.mac !== undefined && link.mac.toLowerCase() !== want.mac) fix.mac = want.mac;
  if (want.mtu !== undefined && link.mtu !== want.mtu) fix.mtu = want.mtu;
  if (want.master !== undefined && link.master !== want.master) fix.master = want.master;
  if (want.up === true && !link.up) fix.up = true;
  if (Object.keys(fix).length > 2) fixes.push(fix);
}
