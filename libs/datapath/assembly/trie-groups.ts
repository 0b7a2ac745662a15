// Groups of the multibit route tries (lpm4.ts, lpm6.ts): 256 u32 entries (1 KiB, aligned), one
// free list for both families, carved from the table heap in chunks. An entry is a group
// pointer (GROUP_FLAG, group address >> 10) or a family-specific route encoding.
import { heapAlloc } from './heap';

export const GROUP_FLAG: u32 = 0x80000000;
export const GROUP_BYTES: usize = 1024;
const GROUP_CHUNK: u32 = 1024;

// Free groups, linked through their first word.
let freeGroups: usize = 0;

/** A group from the free list (its contents are stale), or 0 when memory is exhausted. */
export function allocGroup(): usize {
  if (freeGroups == 0) {
    const chunk = heapAlloc(<usize>GROUP_CHUNK * GROUP_BYTES);
    if (chunk == 0) return 0;
    for (let i: u32 = 0; i < GROUP_CHUNK; i++) {
      const g = chunk + <usize>i * GROUP_BYTES;
      store<usize>(g, freeGroups);
      freeGroups = g;
    }
  }
  const g = freeGroups;
  freeGroups = load<usize>(g);
  return g;
}

/** Returns group `g` to the free list. */
export function releaseGroup(g: usize): void {
  store<usize>(g, freeGroups);
  freeGroups = g;
}

/** Bytes of a first level indexed by `bits` address bits. */
export function topBytes(bits: u32): usize {
  return ((<usize>1) << bits) * 4;
}

/** True when entry `e` points to a group. */
export function isGroup(e: u32): bool {
  return (e & GROUP_FLAG) != 0;
}

/** Address of the group entry `e` points to. */
export function groupOf(e: u32): usize {
  return (<usize>(e & ~GROUP_FLAG)) << 10;
}
