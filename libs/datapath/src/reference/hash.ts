// The README's flow hashes as the reference stages compute them, over big-endian 32-bit words
// starting from 0x811c9dc5: the flow hash (a multiply-xor chain, murmur3's finaliser at the
// end) and the per-flow policers' earlier one (the finaliser after every word). Written from
// the README, not the core.

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

/** The flow hash of `words`: h = (h ^ w) * 0x9e3779b1 for each word, then fmix32(h). */
export function refFlowHash(words: readonly number[]): number {
  return refFmix32(words.reduce((h, w) => Math.imul((h ^ w) >>> 0, 0x9e3779b1) >>> 0, 0x811c9dc5));
}

/** The per-flow policers' hash of `words`: h = fmix32(h ^ w) for each word. */
export function refChainHash(words: readonly number[]): number {
  return words.reduce((h, w) => refFmix32((h ^ w) >>> 0), 0x811c9dc5);
}
