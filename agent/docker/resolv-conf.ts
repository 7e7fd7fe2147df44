// Points a Docker container's resolver at weft's DNS. dockerd gives containers on its own networks
// its embedded resolver (127.0.0.11), which answers names with its IPAM's addresses (not the ones
// weft gave) and knows no container of another host; weft's DNS on the gateway knows every
// container of the network by name on every host, and forwards the world's names. Only a file that
// still names Docker's embedded resolver is rewritten (a user's own stays), in place: the container
// sees it through a bind mount of that very inode.
import { open } from "node:fs/promises";
import { constants } from "node:fs";

const DOCKER_EMBEDDED_DNS = /^nameserver\s+127\.0\.0\.11\s*$/m;

/** The resolv.conf for weft's DNS; undefined when there is nothing to point at. */
export function weftResolvConf(dns: { nameservers: string[]; search: string[] } | undefined, network: string): string | undefined {
  if (!dns || dns.nameservers.length === 0) return undefined;
  return [`# weft: DNS of weft network ${network} (its containers' names on every host, and the world's)`, ...dns.nameservers.map((n) => `nameserver ${n}`), ...(dns.search.length > 0 ? [`search ${dns.search.join(" ")}`] : []), ""].join("\n");
}

/** Rewrites `path` with `content` when it names Docker's embedded resolver; returns whether it did. */
export async function pointResolvConf(path: string, content: string): Promise<boolean> {
  if (!path.startsWith("/") || !path.endsWith("/resolv.conf")) return false;
  const file = await open(path, constants.O_RDWR | constants.O_NOFOLLOW);
  try {
    const current = (await file.readFile("utf8")).toString();
    if (!DOCKER_EMBEDDED_DNS.test(current)) return false;
    await file.truncate(0);
    await file.write(content, 0, "utf8");
    return true;
  } finally {
    await file.close();
  }
}
