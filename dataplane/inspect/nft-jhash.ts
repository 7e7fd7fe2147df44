// The kernel's jhash (include/linux/jhash.h, Bob Jenkins' lookup3) and nft's `jhash ... mod N seed S`
// (net/netfilter/nft_hash.c: reciprocal_scale(jhash(key, len, seed), N)), so the agent can say which
// slot of a service's Maglev map the kernel picks for a flow. The key is the concatenation of nft
// registers: each field in network byte order, padded with zeros to 4 bytes.

const INITVAL = 0xdeadbeef;

function rol(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export function jhash(key: Uint8Array, seed: number): number {
  let length = key.length;
  let a = (INITVAL + length + seed) >>> 0;
  let b = a;
  let c = a;
  let k = 0;
  const word = (at: number): number => (key[at]! | (key[at + 1]! << 8) | (key[at + 2]! << 16) | (key[at + 3]! << 24)) >>> 0;
  while (length > 12) {
    a = (a + word(k)) >>> 0;
    b = (b + word(k + 4)) >>> 0;
    c = (c + word(k + 8)) >>> 0;
    // __jhash_mix
    a = (a - c) >>> 0; a = (a ^ rol(c, 4)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rol(a, 6)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rol(b, 8)) >>> 0; b = (b + a) >>> 0;
    a = (a - c) >>> 0; a = (a ^ rol(c, 16)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rol(a, 19)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rol(b, 4)) >>> 0; b = (b + a) >>> 0;
    length -= 12;
    k += 12;
  }
  if (length === 0) return c;
  const tail = (i: number): number => (i < length ? key[k + i]! : 0);
  a = (a + (tail(0) | (tail(1) << 8) | (tail(2) << 16) | (tail(3) << 24))) >>> 0;
  b = (b + (tail(4) | (tail(5) << 8) | (tail(6) << 16) | (tail(7) << 24))) >>> 0;
  c = (c + (tail(8) | (tail(9) << 8) | (tail(10) << 16) | (tail(11) << 24))) >>> 0;
  // __jhash_final
  c = (c ^ b) >>> 0; c = (c - rol(b, 14)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rol(c, 11)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rol(a, 25)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol(b, 16)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rol(c, 4)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rol(a, 14)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol(b, 24)) >>> 0;
  return c;
}

/** reciprocal_scale: maps a 32-bit hash onto [0, modulus) by multiplication, not modulo. */
export function reciprocalScale(hash: number, modulus: number): number {
  return Number((BigInt(hash >>> 0) * BigInt(modulus)) >> 32n);
}

/**
 * The slot `jhash ip saddr [. th sport] mod size seed seed` gives: the service chain's hash with
 * affinity client-ip (no port) or per connection (the client's source port).
 */
export function meshSlot(clientIp: string, sourcePort: number | undefined, seed: number, size: number): number {
  const key = new Uint8Array(sourcePort === undefined ? 4 : 8);
  clientIp.split(".").forEach((octet, i) => (key[i] = Number(octet)));
  if (sourcePort !== undefined) {
    key[4] = (sourcePort >>> 8) & 0xff;
    key[5] = sourcePort & 0xff;
  }
  return reciprocalScale(jhash(key, seed >>> 0), size);
}
