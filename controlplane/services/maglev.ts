// Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
// Balancer", NSDI 2016, section 3.4): a lookup table of prime size M, slot -> backend index, filled so
// that every backend holds M/n slots (within one) and adding or removing one backend moves about 1/n
// of the slots. Every node computes the same table from the same backend list (pure).
import { invalidArgument } from "../../proto/values/index.js";

/** The table size for `backends` backends: a prime about 20 times larger, so spread is within ~5%. */
export function maglevTableSize(backends: number): number {
  if (backends <= 51) return 1021;
  if (backends <= 204) return 4093;
  if (backends <= 819) return 16381;
  return 65521;
}

/**
 * The Maglev lookup table: slot -> index into `backends` (names, e.g. IPs, in the same order on every
 * node); [] when there is no backend. Each backend's preference list is the permutation
 * (offset + j * skip) mod size, offset and skip hashed from its name; backends take turns taking
 * their next preferred free slot until the table is full.
 */
export function maglevTable(backends: readonly string[], size: number): number[] {
  if (!Number.isInteger(size) || size < 2 || size > 2 ** 24 || !isPrime(size)) {
    throw invalidArgument("size", `${size} must be a prime from 2 to 2^24`);
  }
  const n = backends.length;
  if (n === 0) return [];
  const skip = new Uint32Array(n);
  const candidate = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    candidate[i] = hash(backends[i]!, 0x9e3779b9) % size;
    skip[i] = (hash(backends[i]!, 0x85ebca6b) % (size - 1)) + 1;
  }
  const table = new Int32Array(size).fill(-1);
  let filled = 0;
  for (;;) {
    for (let i = 0; i < n; i++) {
      let slot = candidate[i]!;
      while (table[slot] !== -1) slot = (slot + skip[i]!) % size;
      table[slot] = i;
      candidate[i] = (slot + skip[i]!) % size;
      if (++filled === size) return Array.from(table);
    }
  }
}

/** FNV-1a over the UTF-16 code units, seeded, then murmur3's finalizer so close names spread apart. */
function hash(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}
