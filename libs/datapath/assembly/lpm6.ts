// IPv6 longest-prefix match, one table per VRF: a multibit trie whose first level indexes the
// top `topBits` address bits directly (24: 64 MiB, for full tables; 16: 256 KiB for small
// VRFs, since linear memory never shrinks) followed by 8-bit groups of 256 entries. With a
// first level of 16 or 24 bits every later level is exactly one address byte, so a lookup
// walks the address bytes in order: a /48 costs 4 loads with the large first level.
//
// Entry (u32): bit 31 set → pointer to a group (bits 0..30 = group address >> 10); otherwise
// bits 23..30 = depth (0–128) of the route that owns the entry and bits 0..22 = next hop + 1
// (0: no route). As in lpm4.ts (and DPDK's rte_lpm6), the depth lets add and delete touch
// only the entries a route owns, and groups that become uniform fold back into their parent;
// the route list (needed to find the covering route on delete) lives in the host.
//
// Addresses are 16 bytes in network order in linear memory: the host writes them into
// `lpm6AddrBuf()` (single-route verbs) or the scratch buffer (bulk verbs).
import { heapAlloc, heapFree } from './heap';
import {
  GROUP_FLAG,
  GROUP_BYTES,
  allocGroup,
  releaseGroup,
  topBytes,
  isGroup,
  groupOf,
} from './trie-groups';
import { vectorCapacity } from './layout';

/** VRFs (IPv6 route tables) the core holds; the same ids as the IPv4 VRFs. */
export const MAX_VRFS6: i32 = 256;
/** Largest next-hop id an IPv6 route can carry (the next-hop table has 65 536 ids). */
export const LPM6_MAX_NEXT_HOP: u32 = 0xffff;

const VRF_SIZE: u32 = 16;
const V_TOP: u32 = 0; // u32 top table address (0: VRF not created)
const V_TOP_BITS: u32 = 4; // u8
const V_ROUTES: u32 = 8; // u32 routes added minus routes deleted
const V_GROUPS: u32 = 12; // u32 groups in use
const vrfs = memory.data(MAX_VRFS6 * VRF_SIZE, 64);

const HOP_MASK: u32 = 0x7fffff;

/** lpm6 errors. */
export const LPM6_ERR_ARGS: i32 = -1;
export const LPM6_ERR_NO_VRF: i32 = -2;
export const LPM6_ERR_MEMORY: i32 = -3;

const addrBuf = memory.data(16, 16);

/** 16-byte buffer the host writes an address into before lpm6Add/Delete/Lookup. */
export function lpm6AddrBuf(): usize {
  return addrBuf;
}

/**
 * Two u32 per vector entry (entry, address of the next address byte) for the l3v6 stage,
 * which walks the lookups of a whole vector level by level; allocated with the first IPv6
 * route table, 0 before.
 */
export let lookupScratch6: usize = 0;

function vrfEntry(vrf: u32): usize {
  return vrfs + <usize>vrf * VRF_SIZE;
}

function depthOf(e: u32): u32 {
  return (e >> 23) & 0xff;
}

function encode(len: u32, nextHop: u32): u32 {
  return (len << 23) | (nextHop + 1);
}

function topIndex(a: usize, bits: u32): u32 {
  return bits == 24 ? bswap<u32>(load<u32>(a)) >> 8 : <u32>bswap<u16>(load<u16>(a));
}

/** True when VRF `vrf` has an IPv6 route table. */
export function lpm6Exists(vrf: u32): bool {
  return vrf < <u32>MAX_VRFS6 && load<u32>(vrfEntry(vrf) + V_TOP) != 0;
}

/**
 * Creates (or re-creates, empty) the IPv6 route table of `vrf` with a first level of
 * `topBits` (16 or 24). Returns 0 or an LPM6_ERR_* code.
 */
export function lpm6Create(vrf: u32, topBits: u32): i32 {
  if (vrf >= <u32>MAX_VRFS6 || (topBits != 16 && topBits != 24)) return LPM6_ERR_ARGS;
  if (lpm6Exists(vrf)) lpm6Free(vrf);
  if (lookupScratch6 == 0) {
    lookupScratch6 = heapAlloc(<usize>vectorCapacity * 8);
    if (lookupScratch6 == 0) return LPM6_ERR_MEMORY;
  }
  const top = heapAlloc(topBytes(topBits));
  if (top == 0) return LPM6_ERR_MEMORY;
  const v = vrfEntry(vrf);
  store<u32>(v + V_TOP, <u32>top);
  store<u8>(v + V_TOP_BITS, <u8>topBits);
  store<u32>(v + V_ROUTES, 0);
  store<u32>(v + V_GROUPS, 0);
  return 0;
}

function releaseGroupsUnder(table: usize, entries: u32): void {
  for (let i: u32 = 0; i < entries; i++) {
    const e = load<u32>(table + <usize>i * 4);
    if (isGroup(e)) {
      const g = groupOf(e);
      releaseGroupsUnder(g, 256);
      releaseGroup(g);
    }
  }
}

/** Empties the IPv6 route table of `vrf` (keeps it created). */
export function lpm6Reset(vrf: u32): void {
  if (!lpm6Exists(vrf)) return;
  const v = vrfEntry(vrf);
  const top = <usize>load<u32>(v + V_TOP);
  const bits = <u32>load<u8>(v + V_TOP_BITS);
  // Without routes or groups every entry is already 0 (deletes restore the covering value,
  // 0 when there is none): skip rewriting up to 64 MiB, e.g. before a first bulk load.
  if (load<u32>(v + V_ROUTES) == 0 && load<u32>(v + V_GROUPS) == 0) return;
  if (load<u32>(v + V_GROUPS) != 0) releaseGroupsUnder(top, (<u32>1) << bits);
  memory.fill(top, 0, topBytes(bits));
  store<u32>(v + V_ROUTES, 0);
  store<u32>(v + V_GROUPS, 0);
}

/** Deletes the IPv6 route table of `vrf`; its memory is kept for the next table. */
export function lpm6Free(vrf: u32): void {
  if (!lpm6Exists(vrf)) return;
  lpm6Reset(vrf);
  const v = vrfEntry(vrf);
  heapFree(<usize>load<u32>(v + V_TOP), topBytes(<u32>load<u8>(v + V_TOP_BITS)));
  store<u32>(v + V_TOP, 0);
}

/** Routes in the IPv6 table of `vrf`. */
export function lpm6Count(vrf: u32): u32 {
  return lpm6Exists(vrf) ? load<u32>(vrfEntry(vrf) + V_ROUTES) : 0;
}

/** Groups (256 entries, 1 KiB each) in use by `vrf`. */
export function lpm6Groups(vrf: u32): u32 {
  return lpm6Exists(vrf) ? load<u32>(vrfEntry(vrf) + V_GROUPS) : 0;
}

/** Bytes of lookup structure of `vrf` (first level + groups), as f64 (may pass 4 GiB). */
export function lpm6Memory(vrf: u32): f64 {
  if (!lpm6Exists(vrf)) return 0;
  const v = vrfEntry(vrf);
  return (
    <f64>topBytes(<u32>load<u8>(v + V_TOP_BITS)) + <f64>load<u32>(v + V_GROUPS) * <f64>GROUP_BYTES
  );
}

/** First-level bits of `vrf` (0 when it has no IPv6 table). */
export function lpm6TopBits(vrf: u32): u32 {
  return lpm6Exists(vrf) ? <u32>load<u8>(vrfEntry(vrf) + V_TOP_BITS) : 0;
}

function lookupAt(v: usize, a: usize): i32 {
  const bits = <u32>load<u8>(v + V_TOP_BITS);
  let e = load<u32>(<usize>load<u32>(v + V_TOP) + ((<usize>topIndex(a, bits)) << 2));
  let pos = <usize>(bits >> 3);
  while (isGroup(e)) {
    e = load<u32>(groupOf(e) + ((<usize>load<u8>(a + pos)) << 2));
    pos++;
  }
  return <i32>(e & HOP_MASK) - 1;
}

/** Next hop for the address at lpm6AddrBuf() in `vrf`, or -1 when no route matches. */
export function lpm6Lookup(vrf: u32): i32 {
  if (!lpm6Exists(vrf)) return -1;
  return lookupAt(vrfEntry(vrf), addrBuf);
}

/**
 * First step of a lookup for stages that look up a whole vector before using any result:
 * the address of the first-level entry for the address at `a` in `vrf` (0: no table).
 */
export function lpm6FirstLevelPtr(vrf: u32, a: usize): usize {
  if (vrf >= <u32>MAX_VRFS6) return 0;
  const v = vrfEntry(vrf);
  const top = <usize>load<u32>(v + V_TOP);
  if (top == 0) return 0;
  return top + ((<usize>topIndex(a, <u32>load<u8>(v + V_TOP_BITS))) << 2);
}

/** Byte of the address the first level of `vrf` stops at (2 or 3; 0 without a table). */
export function lpm6FirstByte(vrf: u32): u32 {
  return vrf < <u32>MAX_VRFS6 ? (<u32>load<u8>(vrfEntry(vrf) + V_TOP_BITS)) >> 3 : 0;
}

/** True when entry `e` points to a group (the lookup goes on with the next address byte). */
export function lpm6IsGroup(e: u32): bool {
  return isGroup(e);
}

/** The entry for address byte `byte` in the group entry `e` points to. */
export function lpm6Step(e: u32, byte: u32): u32 {
  return load<u32>(groupOf(e) + ((<usize>byte) << 2));
}

/** Next hop (or -1) of a final (non-group) entry. */
export function lpm6HopOf(e: u32): i32 {
  return <i32>(e & HOP_MASK) - 1;
}

/** Second half: the next hop (or -1) from first-level entry `e` of `vrf` for the address at `a`. */
export function lpm6Resolve(vrf: u32, e: u32, a: usize): i32 {
  if (isGroup(e)) {
    let pos = <usize>((<u32>load<u8>(vrfEntry(vrf) + V_TOP_BITS)) >> 3);
    do {
      e = load<u32>(groupOf(e) + ((<usize>load<u8>(a + pos)) << 2));
      pos++;
    } while (isGroup(e));
  }
  return <i32>(e & HOP_MASK) - 1;
}

/**
 * Looks up `n` addresses (16 bytes each at `addrs`) in `vrf` and writes n i32 next hops
 * (-1: no route) at `out`. Returns the number of hits. Eight lookups advance level by level
 * together so that their cache misses overlap (WebAssembly has no prefetch instruction).
 */
export function lpm6LookupBulk(vrf: u32, addrs: usize, n: u32, out: usize): u32 {
  let hits: u32 = 0;
  if (!lpm6Exists(vrf)) {
    for (let i: u32 = 0; i < n; i++) store<i32>(out + <usize>i * 4, -1);
    return 0;
  }
  const v = vrfEntry(vrf);
  const top = <usize>load<u32>(v + V_TOP);
  const bits = <u32>load<u8>(v + V_TOP_BITS);
  const start = <usize>(bits >> 3);
  let i: u32 = 0;
  for (; i + 8 <= n; i += 8) {
    const a0 = addrs + <usize>i * 16;
    let e0 = load<u32>(top + ((<usize>topIndex(a0, bits)) << 2));
    let e1 = load<u32>(top + ((<usize>topIndex(a0 + 16, bits)) << 2));
    let e2 = load<u32>(top + ((<usize>topIndex(a0 + 32, bits)) << 2));
    let e3 = load<u32>(top + ((<usize>topIndex(a0 + 48, bits)) << 2));
    let e4 = load<u32>(top + ((<usize>topIndex(a0 + 64, bits)) << 2));
    let e5 = load<u32>(top + ((<usize>topIndex(a0 + 80, bits)) << 2));
    let e6 = load<u32>(top + ((<usize>topIndex(a0 + 96, bits)) << 2));
    let e7 = load<u32>(top + ((<usize>topIndex(a0 + 112, bits)) << 2));
    let p = a0 + start;
    while (((e0 | e1 | e2 | e3 | e4 | e5 | e6 | e7) & GROUP_FLAG) != 0) {
      if (isGroup(e0)) e0 = load<u32>(groupOf(e0) + ((<usize>load<u8>(p)) << 2));
      if (isGroup(e1)) e1 = load<u32>(groupOf(e1) + ((<usize>load<u8>(p, 16)) << 2));
      if (isGroup(e2)) e2 = load<u32>(groupOf(e2) + ((<usize>load<u8>(p, 32)) << 2));
      if (isGroup(e3)) e3 = load<u32>(groupOf(e3) + ((<usize>load<u8>(p, 48)) << 2));
      if (isGroup(e4)) e4 = load<u32>(groupOf(e4) + ((<usize>load<u8>(p, 64)) << 2));
      if (isGroup(e5)) e5 = load<u32>(groupOf(e5) + ((<usize>load<u8>(p, 80)) << 2));
      if (isGroup(e6)) e6 = load<u32>(groupOf(e6) + ((<usize>load<u8>(p, 96)) << 2));
      if (isGroup(e7)) e7 = load<u32>(groupOf(e7) + ((<usize>load<u8>(p, 112)) << 2));
      p++;
    }
    const o = out + <usize>i * 4;
    const r0 = <i32>(e0 & HOP_MASK) - 1;
    const r1 = <i32>(e1 & HOP_MASK) - 1;
    const r2 = <i32>(e2 & HOP_MASK) - 1;
    const r3 = <i32>(e3 & HOP_MASK) - 1;
    const r4 = <i32>(e4 & HOP_MASK) - 1;
    const r5 = <i32>(e5 & HOP_MASK) - 1;
    const r6 = <i32>(e6 & HOP_MASK) - 1;
    const r7 = <i32>(e7 & HOP_MASK) - 1;
    store<i32>(o, r0);
    store<i32>(o, r1, 4);
    store<i32>(o, r2, 8);
    store<i32>(o, r3, 12);
    store<i32>(o, r4, 16);
    store<i32>(o, r5, 20);
    store<i32>(o, r6, 24);
    store<i32>(o, r7, 28);
    hits += <u32>(r0 >= 0) + <u32>(r1 >= 0) + <u32>(r2 >= 0) + <u32>(r3 >= 0);
    hits += <u32>(r4 >= 0) + <u32>(r5 >= 0) + <u32>(r6 >= 0) + <u32>(r7 >= 0);
  }
  for (; i < n; i++) {
    const r = lookupAt(v, addrs + <usize>i * 16);
    store<i32>(out + <usize>i * 4, r);
    hits += <u32>(r >= 0);
  }
  return hits;
}

// Zeroes the bits of the 16-byte address at `a` beyond the first `len`.
function maskAddress(a: usize, len: u32): void {
  for (let b: u32 = 0; b < 16; b++) {
    const from = b * 8;
    if (len >= from + 8) continue;
    const keep = len <= from ? 0 : len - from;
    store<u8>(a + b, <u8>((<u32>load<u8>(a + b)) & ((0xff00 >> keep) & 0xff)));
  }
}

// A group whose entries are all equal and not pointers says nothing its parent entry cannot:
// it is folded back (memory stays proportional to the routes after deletes).
function collapseIfUniform(slot: usize, v: usize): void {
  const e = load<u32>(slot);
  if (!isGroup(e)) return;
  const g = groupOf(e);
  const first = load<u32>(g);
  if (isGroup(first)) return;
  const pair = ((<u64>first) << 32) | (<u64>first);
  for (let i: usize = 8; i < GROUP_BYTES; i += 8) if (load<u64>(g + i) != pair) return;
  if (load<u32>(g + 4) != first) return;
  store<u32>(slot, first);
  releaseGroup(g);
  store<u32>(v + V_GROUPS, load<u32>(v + V_GROUPS) - 1);
}

// Sets every non-pointer entry below `g` owned by a route of depth <= len (add) or of depth
// == len (delete) to `value`.
function fillGroup(g: usize, value: u32, len: u32, exact: bool, v: usize): void {
  for (let i: usize = 0; i < 256; i++) {
    const slot = g + i * 4;
    const e = load<u32>(slot);
    if (isGroup(e)) {
      fillGroup(groupOf(e), value, len, exact, v);
      collapseIfUniform(slot, v);
    } else if (exact ? depthOf(e) == len : depthOf(e) <= len) {
      store<u32>(slot, value);
    }
  }
}

// Applies a route (add: exact = false) or its removal (exact = true, value = the covering
// route's entry) to the level at `table` covering address bits [levelEnd - levelBits,
// levelEnd). `fold` is false during bulk loads, where no group can become uniform.
function apply(
  table: usize,
  levelEnd: u32,
  levelBits: u32,
  a: usize,
  len: u32,
  value: u32,
  exact: bool,
  v: usize,
  fold: bool,
): i32 {
  const idx =
    levelBits == 8 ? <u32>load<u8>(a + <usize>(levelEnd >> 3) - 1) : topIndex(a, levelBits);
  if (len <= levelEnd) {
    const count = (<u32>1) << (levelEnd - len);
    const first = idx & ~(count - 1);
    for (let i = first; i < first + count; i++) {
      const slot = table + <usize>i * 4;
      const e = load<u32>(slot);
      if (isGroup(e)) {
        fillGroup(groupOf(e), value, len, exact, v);
        collapseIfUniform(slot, v);
      } else if (exact ? depthOf(e) == len : depthOf(e) <= len) {
        store<u32>(slot, value);
      }
    }
    return 0;
  }
  const slot = table + <usize>idx * 4;
  let e = load<u32>(slot);
  if (!isGroup(e)) {
    // Nothing to remove below an entry that is not a pointer.
    if (exact) return 0;
    const g = allocGroup();
    if (g == 0) return LPM6_ERR_MEMORY;
    const pair = ((<u64>e) << 32) | (<u64>e);
    for (let i: usize = 0; i < GROUP_BYTES; i += 8) store<u64>(g + i, pair);
    e = GROUP_FLAG | (<u32>(g >> 10));
    store<u32>(slot, e);
    store<u32>(v + V_GROUPS, load<u32>(v + V_GROUPS) + 1);
  }
  const r = apply(groupOf(e), levelEnd + 8, 8, a, len, value, exact, v, fold);
  if (fold) collapseIfUniform(slot, v);
  return r;
}

/**
 * Adds (or replaces) route `addr/len` → `nextHop` in `vrf`, the address at lpm6AddrBuf().
 * `isNew` tells whether the host's route list did not hold the prefix yet (for the route
 * count). Returns 0 or LPM6_ERR_*.
 */
export function lpm6Add(vrf: u32, len: u32, nextHop: u32, isNew: bool): i32 {
  if (len > 128 || nextHop > LPM6_MAX_NEXT_HOP) return LPM6_ERR_ARGS;
  if (!lpm6Exists(vrf)) return LPM6_ERR_NO_VRF;
  const v = vrfEntry(vrf);
  const bits = <u32>load<u8>(v + V_TOP_BITS);
  maskAddress(addrBuf, len);
  const top = <usize>load<u32>(v + V_TOP);
  const r = apply(top, bits, bits, addrBuf, len, encode(len, nextHop), false, v, true);
  if (r == 0 && isNew) store<u32>(v + V_ROUTES, load<u32>(v + V_ROUTES) + 1);
  return r;
}

/**
 * Deletes route `addr/len` (address at lpm6AddrBuf()) from `vrf`; its entries go to the
 * covering route `coverLen`/`coverNextHop` (coverNextHop < 0: none), which the host finds in
 * its route list.
 */
export function lpm6Delete(vrf: u32, len: u32, coverLen: u32, coverNextHop: i32): i32 {
  if (
    len > 128 ||
    (coverNextHop >= 0 && (coverLen >= len || <u32>coverNextHop > LPM6_MAX_NEXT_HOP))
  )
    return LPM6_ERR_ARGS;
  if (!lpm6Exists(vrf)) return LPM6_ERR_NO_VRF;
  const v = vrfEntry(vrf);
  const bits = <u32>load<u8>(v + V_TOP_BITS);
  const value = coverNextHop < 0 ? 0 : encode(coverLen, <u32>coverNextHop);
  maskAddress(addrBuf, len);
  apply(<usize>load<u32>(v + V_TOP), bits, bits, addrBuf, len, value, true, v, true);
  const routes = load<u32>(v + V_ROUTES);
  if (routes > 0) store<u32>(v + V_ROUTES, routes - 1);
  return 0;
}

const LOAD_RECORD: usize = 20;
let loadBadRoute: u32 = 0;

/**
 * Bulk load: replaces the table of `vrf` with `n` routes of 20 bytes at `routes` (16-byte
 * address, u32 `len << 24 | nextHop`), distinct prefixes. The routes are counting-sorted by
 * length into `sorted` (n × 4 bytes of scratch: record indices) and written shortest first,
 * so every write is a plain overwrite and no group can become uniform. Returns 0 or
 * LPM6_ERR_* (the index of the bad route is then at lpm6LoadBadRoute).
 */
export function lpm6Load(vrf: u32, routes: usize, n: u32, sorted: usize): i32 {
  if (!lpm6Exists(vrf)) return LPM6_ERR_NO_VRF;
  const counts = memory.data(131 * 4, 16);
  for (let l: usize = 0; l < 131; l++) store<u32>(counts + l * 4, 0);
  for (let i: u32 = 0; i < n; i++) {
    const w = load<u32>(routes + <usize>i * LOAD_RECORD + 16);
    const len = w >> 24;
    if (len > 128 || (w & 0xffffff) > LPM6_MAX_NEXT_HOP) {
      loadBadRoute = i;
      return LPM6_ERR_ARGS;
    }
    const c = counts + <usize>(len + 1) * 4;
    store<u32>(c, load<u32>(c) + 1);
  }
  // Prefix sums: counts[len] = first sorted position of length len.
  for (let l: usize = 1; l < 131; l++)
    store<u32>(counts + l * 4, load<u32>(counts + l * 4) + load<u32>(counts + (l - 1) * 4));
  for (let i: u32 = 0; i < n; i++) {
    const w = load<u32>(routes + <usize>i * LOAD_RECORD + 16);
    const c = counts + <usize>(w >> 24) * 4;
    const pos = load<u32>(c);
    store<u32>(c, pos + 1);
    store<u32>(sorted + <usize>pos * 4, i);
  }
  lpm6Reset(vrf);
  const v = vrfEntry(vrf);
  const top = <usize>load<u32>(v + V_TOP);
  const bits = <u32>load<u8>(v + V_TOP_BITS);
  // Counted before writing: a load that fails part-way leaves a non-empty count, so that the
  // reset that follows does clear the entries written so far.
  store<u32>(v + V_ROUTES, n);
  for (let k: u32 = 0; k < n; k++) {
    const i = load<u32>(sorted + <usize>k * 4);
    const r = routes + <usize>i * LOAD_RECORD;
    const w = load<u32>(r + 16);
    const len = w >> 24;
    maskAddress(r, len);
    const value = encode(len, w & 0xffffff);
    if (len <= bits) {
      // Shortest first: everything in the range belongs to a route no longer than this one.
      const count = (<u32>1) << (bits - len);
      const p = top + <usize>(topIndex(r, bits) & ~(count - 1)) * 4;
      for (let j: usize = 0; j < <usize>count; j++) store<u32>(p + j * 4, value);
    } else if (apply(top, bits, bits, r, len, value, false, v, false) != 0) {
      loadBadRoute = i;
      return LPM6_ERR_MEMORY;
    }
  }
  return 0;
}

/** Index of the route a failed lpm6Load stopped at. */
export function lpm6LoadBadRoute(): u32 {
  return loadBadRoute;
}
