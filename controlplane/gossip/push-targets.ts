/**
 * Whom a node pushes to during one target window: for each of `fanout` rounds j, the member that a
 * random permutation π_j of the sorted member list maps this node to. The permutations are seeded by
 * the window number and j only, so every node holding the same member list draws the same ones.
 *
 * Why not independent random picks: each node picking `fanout` peers at random leaves a node with no
 * pusher in a window with probability ~e^-fanout (5% at fanout 3), and because deltas are batched to
 * the window's targets such a node misses nearly the whole burst until anti-entropy, which moves
 * whole owners at a time, catches it up (seconds at 1,000 nodes). Shared permutations give every
 * node exactly `fanout` pushers per window (a random regular digraph: strongly connected and of
 * logarithmic diameter with high probability), so a burst reaches everyone by push alone, with the
 * same number of messages. Nodes whose clocks or member lists differ just draw different
 * permutations: then they are as good as random picks, and anti-entropy covers the rest.
 *
 * Pure. Returns member names other than `self`, without duplicates, at most `fanout` of them.
 */
export function windowTargets(sortedMembers: readonly string[], self: string, window: number, fanout: number): string[] {
  const count = sortedMembers.length;
  const index = sortedMembers.indexOf(self);
  if (index < 0 || count < 2) return [];
  const chosen: string[] = [];
  for (let round = 0; round < fanout; round++) {
    const target = sortedMembers[permutationAt(count, index, window, round)]!;
    if (target !== self && !chosen.includes(target)) chosen.push(target);
  }
  return chosen;
}

/** π(index) for the Fisher-Yates permutation of [0, count) seeded by (window, round). */
function permutationAt(count: number, index: number, window: number, round: number): number {
  const random = mulberry32(mix(window, round));
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order[index]!;
}

function mix(window: number, round: number): number {
  let h = Math.imul((window % 0x7fffffff) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(round + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return h >>> 0;
}

function mulberry32(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
