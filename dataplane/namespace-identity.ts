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
