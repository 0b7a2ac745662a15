// The README's flow hash as the reference stages compute it: murmur3's finaliser chained over
// big-endian 32-bit words, starting from 0x811c9dc5. Written from the README, not the core.

/** The fields of a packet that key its flow (conntrack, per-flow policers). */
export interface RefFlowKey {
  version: 4 | 6;
  src: Uint8Array;
  dst: Uint8Array;
  proto: number;
  sport: number;
  dport: number;
}

/** Murmur3's 32-bit finaliser. */
export function refFmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Big-endian u32 of `b` at `at` (bytes past the end read as 0). */
export function refWord(b: Uint8Array, at: number): number {
  return (
    (((b[at] ?? 0) << 24) |
      ((b[at + 1] ?? 0) << 16) |
      ((b[at + 2] ?? 0) << 8) |
      (b[at + 3] ?? 0)) >>>
    0
  );
}

/** The flow hash chain over `words`: h = fmix32(h ^ w) for each word. */
export function refChainHash(words: readonly number[]): number {
  return words.reduce((h, w) => refFmix32((h ^ w) >>> 0), 0x811c9dc5);
}
