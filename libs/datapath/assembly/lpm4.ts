// IPv4 longest-prefix match, one table per VRF: a multibit trie whose first level indexes the
// top `topBits` address bits directly (24: DIR-24-8, 64 MiB, for full tables; 16: 256 KiB for
// small VRFs, since linear memory never shrinks) followed by 8-bit groups of 256 entries.
//
// Entry (u32): bit 31 set → pointer to a group (bits 0..30 = group address >> 10); otherwise
// bits 24..29 = depth of the route that owns the entry and bits 0..23 = next hop + 1 (0: no
// route). Storing the depth lets add and delete touch only the entries a route owns, as
// DPDK's rte_lpm does; the route list itself (needed to find the covering route on delete)
// lives in the host.
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

/** VRFs (route tables) the core holds. */
export const MAX_VRFS: i32 = 256;
/** Largest next-hop id a route can carry. */
export const LPM_MAX_NEXT_HOP: u32 = 0xfffffe;

const VRF_SIZE: u32 = 16;
const V_TOP: u32 = 0; // u32 top table address (0: VRF not created)
const V_TOP_BITS: u32 = 4; // u8
const V_ROUTES: u32 = 8; // u32 routes added minus routes deleted
const V_GROUPS: u32 = 12; // u32 groups in use
const vrfs = memory.data(MAX_VRFS * VRF_SIZE, 64);

/**
 * One u32 per vector entry for stages that look up a whole vector at once (see
 * lpmFirstLevelPtr); allocated with the first route table, 0 before.
 */
export let lookupScratch: usize = 0;

/** lpmAdd/lpmDelete/lpmCreate errors. */
export const LPM_ERR_ARGS: i32 = -1;
export const LPM_ERR_NO_VRF: i32 = -2;
export const LPM_ERR_MEMORY: i32 = -3;

function vrfEntry(vrf: u32): usize {
  return vrfs + <usize>vrf * VRF_SIZE;
}

function depthOf(e: u32): u32 {
  return (e >> 24) & 0x3f;
}

/** True when VRF `vrf` has a route table. */
export function lpmExists(vrf: u32): bool {
  return vrf < <u32>MAX_VRFS && load<u32>(vrfEntry(vrf) + V_TOP) != 0;
}

/**
 * Creates (or re-creates, empty) the route table of `vrf` with a first level of `topBits`
 * (16 or 24). Returns 0 or an LPM_ERR_* code.
 */
export function lpmCreate(vrf: u32, topBits: u32): i32 {
  if (vrf >= <u32>MAX_VRFS || (topBits != 16 && topBits != 24)) return LPM_ERR_ARGS;
  if (lpmExists(vrf)) lpmFree(vrf);
  if (lookupScratch == 0) {
    lookupScratch = heapAlloc(<usize>vectorCapacity * 4);
    if (lookupScratch == 0) return LPM_ERR_MEMORY;
  }
  const top = heapAlloc(topBytes(topBits));
  if (top == 0) return LPM_ERR_MEMORY;
  const v = vrfEntry(vrf);
  store<u32>(v + V_TOP, <u32>top);
  store<u8>(v + V_TOP_BITS, <u8>topBits);
  store<u32>(v + V_ROUTES, 0);
  store<u32>(v + V_GROUPS, 0);
  return 0;
}

function releaseGroupsUnder(table: usize, entries: u32): u32 {
  let released: u32 = 0;
  for (let i: u32 = 0; i < entries; i++) {
    const e = load<u32>(table + <usize>i * 4);
    if (isGroup(e)) {
      const g = groupOf(e);
      released += releaseGroupsUnder(g, 256) + 1;
      releaseGroup(g);
    }
  }
  return released;
}

/** Empties the route table of `vrf` (keeps it created). */
export function lpmReset(vrf: u32): void {
  if (!lpmExists(vrf)) return;
  const v = vrfEntry(vrf);
  const top = <usize>load<u32>(v + V_TOP);
  const bits = <u32>load<u8>(v + V_TOP_BITS);
  if (load<u32>(v + V_GROUPS) != 0) releaseGroupsUnder(top, (<u32>1) << bits);
  memory.fill(top, 0, topBytes(bits));
  store<u32>(v + V_ROUTES, 0);
  store<u32>(v + V_GROUPS, 0);
}

/** Deletes the route table of `vrf`; its memory is kept for the next table. */
export function lpmFree(vrf: u32): void {
  if (!lpmExists(vrf)) return;
  lpmReset(vrf);
  const v = vrfEntry(vrf);
  heapFree(<usize>load<u32>(v + V_TOP), topBytes(<u32>load<u8>(v + V_TOP_BITS)));
  store<u32>(v + V_TOP, 0);
}

/** Routes in the table of `vrf`. */
export function lpmCount(vrf: u32): u32 {
  return lpmExists(vrf) ? load<u32>(vrfEntry(vrf) + V_ROUTES) : 0;
}

/** Bytes of lookup structure of `vrf` (first level + groups). */
export function lpmMemory(vrf: u32): u32 {
  if (!lpmExists(vrf)) return 0;
  const v = vrfEntry(vrf);
  return <u32>topBytes(<u32>load<u8>(v + V_TOP_BITS)) + load<u32>(v + V_GROUPS) * <u32>GROUP_BYTES;
}

/** First-level bits of `vrf` (0 when it has no table). */
export function lpmTopBits(vrf: u32): u32 {
  return lpmExists(vrf) ? <u32>load<u8>(vrfEntry(vrf) + V_TOP_BITS) : 0;
}

/** Next hop for `addr` in `vrf`, or -1 when no route matches. */
export function lpmLookup(vrf: u32, addr: u32): i32 {
  if (!lpmExists(vrf)) return -1;
  return lookupIn(vrfEntry(vrf), addr);
}

function lookupIn(v: usize, addr: u32): i32 {
  const bits = <u32>load<u8>(v + V_TOP_BITS);
  let e = load<u32>(<usize>load<u32>(v + V_TOP) + ((<usize>(addr >> (32 - bits))) << 2));
  let shift: u32 = 32 - bits;
  while (isGroup(e)) {
    shift -= 8;
    e = load<u32>(groupOf(e) + ((<usize>((addr >> shift) & 0xff)) << 2));
  }
  return <i32>(e & 0xffffff) - 1;
}

/**
 * First step of a lookup, for stages that look up a whole vector before using any result:
 * the address of the first-level entry for `addr` in `vrf` (0 when the VRF has no table).
 * Loading these entries in a tight loop lets their cache misses overlap (WebAssembly has no
 * prefetch instruction).
 */
export function lpmFirstLevelPtr(vrf: u32, addr: u32): usize {
  const v = vrfEntry(vrf);
  const top = <usize>load<u32>(v + V_TOP);
  if (top == 0) return 0;
  return top + ((<usize>(addr >> (32 - <u32>load<u8>(v + V_TOP_BITS)))) << 2);
}

/** True when route entry `e` points to a group (lpmResolveEntry has more to do). */
export function lpmIsGroup(e: u32): bool {
  return isGroup(e);
}

/** The final (non-pointer) entry below entry `e` of `vrf` for `addr`. */
export function lpmResolveEntry(vrf: u32, e: u32, addr: u32): u32 {
  let shift: u32 = 32 - <u32>load<u8>(vrfEntry(vrf) + V_TOP_BITS);
  while (isGroup(e)) {
    shift -= 8;
    e = load<u32>(groupOf(e) + ((<usize>((addr >> shift) & 0xff)) << 2));
  }
  return e;
}

/** Second half: the next hop (or -1) from a first-level entry of `vrf` for `addr`. */
export function lpmResolve(vrf: u32, e: u32, addr: u32): i32 {
  if (isGroup(e)) {
    let shift: u32 = 32 - <u32>load<u8>(vrfEntry(vrf) + V_TOP_BITS);
    do {
      shift -= 8;
      e = load<u32>(groupOf(e) + ((<usize>((addr >> shift) & 0xff)) << 2));
    } while (isGroup(e));
  }
  return <i32>(e & 0xffffff) - 1;
}

/**
 * Looks up `n` addresses (u32 at `addrs`) in `vrf` and writes n i32 next hops (-1: no route)
 * at `out`. Returns the number of hits.
 */
export function lpmLookupBulk(vrf: u32, addrs: usize, n: u32, out: usize): u32 {
  let hits: u32 = 0;
  if (!lpmExists(vrf)) {
    for (let i: u32 = 0; i < n; i++) store<i32>(out + <usize>i * 4, -1);
    return 0;
  }
  const v = vrfEntry(vrf);
  const top = <usize>load<u32>(v + V_TOP);
  if (load<u8>(v + V_TOP_BITS) == 24) {
    // DIR-24-8: at most one group below the first level. Software-pipelined in blocks of 8:
    // the first-level loads of the next block are issued before the current block's group
    // loads and results, so that their cache and TLB misses overlap (WebAssembly has no
    // prefetch). The last block reloads itself instead of reading past the addresses.
    let i: u32 = 0;
    if (n >= 8) {
      let e0 = load<u32>(top + ((<usize>(load<u32>(addrs, 0) >> 8)) << 2));
      let e1 = load<u32>(top + ((<usize>(load<u32>(addrs, 4) >> 8)) << 2));
      let e2 = load<u32>(top + ((<usize>(load<u32>(addrs, 8) >> 8)) << 2));
      let e3 = load<u32>(top + ((<usize>(load<u32>(addrs, 12) >> 8)) << 2));
      let e4 = load<u32>(top + ((<usize>(load<u32>(addrs, 16) >> 8)) << 2));
      let e5 = load<u32>(top + ((<usize>(load<u32>(addrs, 20) >> 8)) << 2));
      let e6 = load<u32>(top + ((<usize>(load<u32>(addrs, 24) >> 8)) << 2));
      let e7 = load<u32>(top + ((<usize>(load<u32>(addrs, 28) >> 8)) << 2));
      for (; i + 8 <= n; i += 8) {
        const a = addrs + <usize>i * 4;
        const more = i + 16 <= n;
        const na = more ? a + 32 : a;
        const f0 = load<u32>(top + ((<usize>(load<u32>(na, 0) >> 8)) << 2));
        const f1 = load<u32>(top + ((<usize>(load<u32>(na, 4) >> 8)) << 2));
        const f2 = load<u32>(top + ((<usize>(load<u32>(na, 8) >> 8)) << 2));
        const f3 = load<u32>(top + ((<usize>(load<u32>(na, 12) >> 8)) << 2));
        const f4 = load<u32>(top + ((<usize>(load<u32>(na, 16) >> 8)) << 2));
        const f5 = load<u32>(top + ((<usize>(load<u32>(na, 20) >> 8)) << 2));
        const f6 = load<u32>(top + ((<usize>(load<u32>(na, 24) >> 8)) << 2));
        const f7 = load<u32>(top + ((<usize>(load<u32>(na, 28) >> 8)) << 2));
        if (isGroup(e0)) e0 = load<u32>(groupOf(e0) + ((<usize>(load<u32>(a, 0) & 0xff)) << 2));
        if (isGroup(e1)) e1 = load<u32>(groupOf(e1) + ((<usize>(load<u32>(a, 4) & 0xff)) << 2));
        if (isGroup(e2)) e2 = load<u32>(groupOf(e2) + ((<usize>(load<u32>(a, 8) & 0xff)) << 2));
        if (isGroup(e3)) e3 = load<u32>(groupOf(e3) + ((<usize>(load<u32>(a, 12) & 0xff)) << 2));
        if (isGroup(e4)) e4 = load<u32>(groupOf(e4) + ((<usize>(load<u32>(a, 16) & 0xff)) << 2));
        if (isGroup(e5)) e5 = load<u32>(groupOf(e5) + ((<usize>(load<u32>(a, 20) & 0xff)) << 2));
        if (isGroup(e6)) e6 = load<u32>(groupOf(e6) + ((<usize>(load<u32>(a, 24) & 0xff)) << 2));
        if (isGroup(e7)) e7 = load<u32>(groupOf(e7) + ((<usize>(load<u32>(a, 28) & 0xff)) << 2));
        const o = out + <usize>i * 4;
        const r0 = <i32>(e0 & 0xffffff) - 1;
        store<i32>(o, r0, 0);
        hits += <u32>(r0 >= 0);
        const r1 = <i32>(e1 & 0xffffff) - 1;
        store<i32>(o, r1, 4);
        hits += <u32>(r1 >= 0);
        const r2 = <i32>(e2 & 0xffffff) - 1;
        store<i32>(o, r2, 8);
        hits += <u32>(r2 >= 0);
        const r3 = <i32>(e3 & 0xffffff) - 1;
        store<i32>(o, r3, 12);
        hits += <u32>(r3 >= 0);
        const r4 = <i32>(e4 & 0xffffff) - 1;
        store<i32>(o, r4, 16);
        hits += <u32>(r4 >= 0);
        const r5 = <i32>(e5 & 0xffffff) - 1;
        store<i32>(o, r5, 20);
        hits += <u32>(r5 >= 0);
        const r6 = <i32>(e6 & 0xffffff) - 1;
        store<i32>(o, r6, 24);
        hits += <u32>(r6 >= 0);
        const r7 = <i32>(e7 & 0xffffff) - 1;
        store<i32>(o, r7, 28);
        hits += <u32>(r7 >= 0);
        e0 = f0;
        e1 = f1;
        e2 = f2;
        e3 = f3;
        e4 = f4;
        e5 = f5;
        e6 = f6;
        e7 = f7;
      }
    }
    for (; i < n; i++) {
      const addr = load<u32>(addrs + <usize>i * 4);
      let e = load<u32>(top + ((<usize>(addr >> 8)) << 2));
      if (isGroup(e)) e = load<u32>(groupOf(e) + ((<usize>(addr & 0xff)) << 2));
      const r = <i32>(e & 0xffffff) - 1;
      store<i32>(out + <usize>i * 4, r);
      hits += <u32>(r >= 0);
    }
    return hits;
  }
  for (let i: u32 = 0; i < n; i++) {
    const r = lookupIn(v, load<u32>(addrs + <usize>i * 4));
    store<i32>(out + <usize>i * 4, r);
    hits += <u32>(r >= 0);
  }
  return hits;
}

function maskOf(len: u32): u32 {
  return len == 0 ? 0 : 0xffffffff << (32 - len);
}

// Entries of a group all equal and not pointers: the group says nothing its parent entry
// cannot, so it is folded back (keeps memory proportional to the routes after deletes).
function collapseIfUniform(slot: usize, v: usize): void {
  const e = load<u32>(slot);
  if (!isGroup(e)) return;
  const g = groupOf(e);
  const first = load<u32>(g);
  if (isGroup(first)) return;
  for (let i: usize = 1; i < 256; i++) if (load<u32>(g + i * 4) != first) return;
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
// levelEnd).
function apply(
  table: usize,
  levelEnd: u32,
  levelBits: u32,
  addr: u32,
  len: u32,
  value: u32,
  exact: bool,
  v: usize,
): i32 {
  const idx = (addr >> (32 - levelEnd)) & (((<u32>1) << levelBits) - 1);
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
    if (g == 0) return LPM_ERR_MEMORY;
    for (let i: usize = 0; i < 256; i++) store<u32>(g + i * 4, e);
    e = GROUP_FLAG | (<u32>(g >> 10));
    store<u32>(slot, e);
    store<u32>(v + V_GROUPS, load<u32>(v + V_GROUPS) + 1);
  }
  const r = apply(groupOf(e), levelEnd + 8, 8, addr, len, value, exact, v);
  collapseIfUniform(slot, v);
  return r;
}

function encode(len: u32, nextHop: u32): u32 {
  return (len << 24) | (nextHop + 1);
}

/**
 * Adds (or replaces) route `addr/len` → `nextHop` in `vrf`. `isNew` tells whether the host's
 * route list did not hold the prefix yet (for the route count). Returns 0 or LPM_ERR_*.
 */
export function lpmAdd(vrf: u32, addr: u32, len: u32, nextHop: u32, isNew: bool): i32 {
  if (len > 32 || nextHop > LPM_MAX_NEXT_HOP) return LPM_ERR_ARGS;
  if (!lpmExists(vrf)) return LPM_ERR_NO_VRF;
  const v = vrfEntry(vrf);
  const bits = <u32>load<u8>(v + V_TOP_BITS);
  const r = apply(
    <usize>load<u32>(v + V_TOP),
    bits,
    bits,
    addr & maskOf(len),
    len,
    encode(len, nextHop),
    false,
    v,
  );
  if (r == 0 && isNew) store<u32>(v + V_ROUTES, load<u32>(v + V_ROUTES) + 1);
  return r;
}

/**
 * Deletes route `addr/len` from `vrf`; its entries go to the covering route
 * `coverLen`/`coverNextHop` (coverNextHop < 0: none), which the host finds in its route list.
 */
export function lpmDelete(vrf: u32, addr: u32, len: u32, coverLen: u32, coverNextHop: i32): i32 {
  if (len > 32 || (coverNextHop >= 0 && coverLen >= len)) return LPM_ERR_ARGS;
  if (!lpmExists(vrf)) return LPM_ERR_NO_VRF;
  const v = vrfEntry(vrf);
  const bits = <u32>load<u8>(v + V_TOP_BITS);
  const value = coverNextHop < 0 ? 0 : encode(coverLen, <u32>coverNextHop);
  apply(<usize>load<u32>(v + V_TOP), bits, bits, addr & maskOf(len), len, value, true, v);
  const routes = load<u32>(v + V_ROUTES);
  if (routes > 0) store<u32>(v + V_ROUTES, routes - 1);
  return 0;
}

/**
 * Bulk load: replaces the table of `vrf` with `n` routes of 8 bytes at `routes` (u32 address,
 * u32 `len << 24 | nextHop`), distinct prefixes. Routes are counting-sorted by length into
 * `sorted` (n × 8 bytes of scratch) and written shortest first, so every write overwrites
 * and pointer groups appear only for prefixes longer than the first level. Returns 0 or
 * LPM_ERR_* (the index of a bad route is then at lpmLoadBadRoute).
 */
export function lpmLoad(vrf: u32, routes: usize, n: u32, sorted: usize): i32 {
  if (!lpmExists(vrf)) return LPM_ERR_NO_VRF;
  const counts = memory.data(34 * 4, 16);
  for (let l: usize = 0; l < 34; l++) store<u32>(counts + l * 4, 0);
  for (let i: u32 = 0; i < n; i++) {
    const w = load<u32>(routes + <usize>i * 8 + 4);
    const len = w >> 24;
    if (len > 32 || (w & 0xffffff) > LPM_MAX_NEXT_HOP) {
      loadBadRoute = i;
      return LPM_ERR_ARGS;
    }
    const c = counts + <usize>(len + 1) * 4;
    store<u32>(c, load<u32>(c) + 1);
  }
  // Prefix sums: counts[len] = first sorted position of length len.
  for (let l: usize = 1; l < 34; l++)
    store<u32>(counts + l * 4, load<u32>(counts + l * 4) + load<u32>(counts + (l - 1) * 4));
  for (let i: u32 = 0; i < n; i++) {
    const src = routes + <usize>i * 8;
    const w = load<u32>(src + 4);
    const c = counts + <usize>(w >> 24) * 4;
    const pos = load<u32>(c);
    store<u32>(c, pos + 1);
    store<u64>(sorted + <usize>pos * 8, load<u64>(src));
  }
  lpmReset(vrf);
  const v = vrfEntry(vrf);
  const top = <usize>load<u32>(v + V_TOP);
  const bits = <u32>load<u8>(v + V_TOP_BITS);
  for (let i: u32 = 0; i < n; i++) {
    const r = sorted + <usize>i * 8;
    const w = load<u32>(r + 4);
    const len = w >> 24;
    const addr = load<u32>(r) & maskOf(len);
    const value = encode(len, w & 0xffffff);
    if (len <= bits) {
      // Shortest first: everything in the range belongs to a route no longer than this one.
      const count = (<u32>1) << (bits - len);
      const first = <usize>(addr >> (32 - bits));
      const p = top + first * 4;
      for (let k: usize = 0; k < <usize>count; k++) store<u32>(p + k * 4, value);
    } else if (apply(top, bits, bits, addr, len, value, false, v) != 0) {
      loadBadRoute = i;
      return LPM_ERR_MEMORY;
    }
  }
  store<u32>(v + V_ROUTES, n);
  return 0;
}

let loadBadRoute: u32 = 0;
/** Index (in sorted order) of the route a failed lpmLoad stopped at. */
export function lpmLoadBadRoute(): u32 {
  return loadBadRoute;
}
