// What names a network namespace. Device and inode name it only while it lives: the kernel hands a
// freed namespace's inode number to the next namespace made, so a namespace recreated at the same
// path often has the same (dev, ino). The cookie (SO_NETNS_COOKIE, Linux 5.14+) is never reused
// while the host is up, so it tells them apart.

export interface NetworkNamespaceId {
  dev: number;
  ino: number;
  /** The namespace's cookie, a 64-bit number in decimal; absent where the kernel has none. */
  cookie?: string;
}

/** The same namespace: equal device and inode, and equal cookies when both sides have one. */
export function sameNamespace(a: NetworkNamespaceId, b: NetworkNamespaceId): boolean {
  return a.dev === b.dev && a.ino === b.ino && (a.cookie === undefined || b.cookie === undefined || a.cookie === b.cookie);
}

/** A well-formed NetworkNamespaceId (as the desired state may carry one from the agent's state file). */
export function isNetworkNamespaceId(id: unknown): id is NetworkNamespaceId {
  const candidate = id as NetworkNamespaceId | undefined;
  return (
    typeof candidate === "object" &&
    candidate !== null &&
    isIdentityNumber(candidate.dev) &&
    isIdentityNumber(candidate.ino) &&
    (candidate.cookie === undefined || /^\d{1,20}$/.test(String(candidate.cookie)))
  );
}

function isIdentityNumber(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
