// Table heap: the memory above the regions carved by `layoutInit`, for tables whose size is
// only known at run time (route tables, next hops). WebAssembly memory never shrinks, so
// freed blocks go to per-size free lists and are reused before the heap grows again. All
// blocks are 1 KiB aligned (LPM groups are addressed by `address >> 10`).
import { regionEnd } from './layout';

/** Alignment (and granule) of every heap block. */
export const HEAP_ALIGN: usize = 1024;

let heapTop: usize = 0;

// Free lists: a freed block keeps the next pointer in its first word. Sizes are few and fixed
// (group chunks, the two top-table sizes, next-hop table), so a handful of exact-size lists
// is enough.
const FREE_CLASSES: i32 = 8;
const freeSize = memory.data(FREE_CLASSES * 8);
const freeHead = memory.data(FREE_CLASSES * 8);

function alignUp(x: usize): usize {
  return (x + HEAP_ALIGN - 1) & ~(HEAP_ALIGN - 1);
}

/** Returns a zeroed block of `bytes` (rounded up to 1 KiB), or 0 when memory is exhausted. */
export function heapAlloc(bytes: usize): usize {
  if (regionEnd == 0 || bytes == 0) return 0;
  const size = alignUp(bytes);
  for (let c: i32 = 0; c < FREE_CLASSES; c++) {
    if (load<usize>(freeSize + <usize>c * 8) == size) {
      const head = load<usize>(freeHead + <usize>c * 8);
      if (head != 0) {
        store<usize>(freeHead + <usize>c * 8, load<usize>(head));
        memory.fill(head, 0, size);
        return head;
      }
    }
  }
  if (heapTop == 0) heapTop = alignUp(regionEnd);
  const end = heapTop + size;
  // Above 4 GiB - 64 KiB nothing can be addressed in wasm32.
  if (end < heapTop || end > <usize>0xffff0000) return 0;
  const needPages = <i32>((end + 0xffff) >> 16);
  const havePages = memory.size();
  if (needPages > havePages) {
    // Grow by at least 16 MiB, and geometrically (half the current size, at most 256 MiB more)
    // for big tables: every grow is expensive for the host (a 100 k-route IPv6 load spent
    // ≈ 0.4 s in sixteen 16 MiB steps). Untouched pages cost address space, not RAM.
    const step = max(needPages - havePages, max(256, min(havePages >> 1, 4096)));
    if (memory.grow(step) < 0 && memory.grow(needPages - havePages) < 0) return 0;
  }
  const p = heapTop;
  heapTop = end;
  return p;
}

/** Returns a block from heapAlloc of the same `bytes` to its free list. */
export function heapFree(p: usize, bytes: usize): void {
  if (p == 0) return;
  const size = alignUp(bytes);
  let slot: i32 = -1;
  for (let c: i32 = 0; c < FREE_CLASSES; c++) {
    const s = load<usize>(freeSize + <usize>c * 8);
    if (s == size) {
      slot = c;
      break;
    }
    if (s == 0 && slot < 0) slot = c;
  }
  // Every class taken by other sizes: the block is leaked (never happens with the fixed
  // sizes used here).
  if (slot < 0) return;
  store<usize>(freeSize + <usize>slot * 8, size);
  store<usize>(p, load<usize>(freeHead + <usize>slot * 8));
  store<usize>(freeHead + <usize>slot * 8, p);
}

/** Bytes of linear memory used by heap blocks so far (live or on free lists). */
export function heapUsed(): usize {
  return heapTop == 0 ? 0 : heapTop - alignUp(regionEnd);
}

// Scratch buffer for bulk transfers from the host (route loads, bulk lookups). It only grows,
// in powers of two, so repeated loads of similar size reuse it.
let scratchPtr: usize = 0;
let scratchSize: usize = 0;

/** A scratch buffer of at least `bytes` the host may write into; 0 when memory is exhausted. */
export function scratchReserve(bytes: usize): usize {
  if (bytes <= scratchSize) return scratchPtr;
  let size: usize = 65536;
  while (size < bytes) size <<= 1;
  const p = heapAlloc(size);
  if (p == 0) return 0;
  heapFree(scratchPtr, scratchSize);
  scratchPtr = p;
  scratchSize = size;
  return p;
}
