// MAC table: bucketized cuckoo hash (4 entries per bucket, two candidate buckets, 16-bit
// signatures compared before keys). Key = bridge << 48 | MAC. Insertion moves at most two
// existing entries along a path found before anything is moved, so a failed insert never
// loses an entry.
import { macBase, macMaxBuckets, MAC_BUCKET_SIZE, countBridge, C_AGED } from './layout';

const WAYS: u32 = 4;
const ENTRY_BASE: u32 = 16;
const ENTRY_SIZE: u32 = 16;
const E_KEY: u32 = 0; // u64
const E_PORT: u32 = 8; // u16
const E_FLAGS: u32 = 10; // u8: 1 static
const E_SEEN: u32 = 12; // u32 ms
export const MAC_STATIC: u8 = 1;

let buckets: u32 = 0;
let mask: u32 = 0;
let count: u32 = 0;

function hash64(k: u64): u64 {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccd;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53;
  k ^= k >> 33;
  return k;
}

function sigOf(h: u64): u16 {
  const s = <u16>(h >> 48);
  return s == 0 ? 1 : s;
}

function altBucket(b: u32, sig: u16): u32 {
  return (b ^ (<u32>sig * 0x5bd1e995)) & mask;
}

function bucketPtr(b: u32): usize {
  return macBase + <usize>b * MAC_BUCKET_SIZE;
}

function entryPtr(b: u32, w: u32): usize {
  return bucketPtr(b) + ENTRY_BASE + w * ENTRY_SIZE;
}

function sigAt(b: u32, w: u32): u16 {
  return load<u16>(bucketPtr(b) + w * 2);
}

/** Creates (or re-creates, empty) a table of 2^log2 buckets; -1 if above the reserved size. */
export function macCreate(log2: u32): i32 {
  if (log2 > 31 || (<u32>1) << log2 > macMaxBuckets) return -1;
  buckets = (<u32>1) << log2;
  mask = buckets - 1;
  macReset();
  return 0;
}

/** Releases the table: every later add fails and every lookup misses until macCreate. */
export function macFree(): void {
  macReset();
  buckets = 0;
  mask = 0;
}

export function macReset(): void {
  if (buckets != 0) memory.fill(macBase, 0, <usize>buckets * MAC_BUCKET_SIZE);
  count = 0;
}

export function macCount(): u32 {
  return count;
}

export function macCapacity(): u32 {
  return buckets * WAYS;
}

const LANES: u64 = 0x0001000100010001;
const HIGH_BITS: u64 = 0x8000800080008000;

// Compares the four signatures of a bucket at once (SWAR on one u64), then the keys of the
// matching ways only.
function findIn(b: u32, sig: u16, key: u64): usize {
  const x = load<u64>(bucketPtr(b)) ^ (<u64>sig * LANES);
  let hits = (x - LANES) & ~x & HIGH_BITS;
  while (hits != 0) {
    const w = (<u32>ctz(hits)) >> 4;
    hits &= hits - 1;
    const e = entryPtr(b, w);
    if (load<u64>(e + E_KEY) == key) return e;
  }
  return 0;
}

/** Returns the entry pointer for `key`, or 0. */
export function macFind(key: u64): usize {
  if (buckets == 0) return 0;
  const h = hash64(key);
  const sig = sigOf(h);
  const b1 = (<u32>h) & mask;
  const e = findIn(b1, sig, key);
  if (e != 0) return e;
  return findIn(altBucket(b1, sig), sig, key);
}

/** Port for `key`, or -1 on a miss. */
export function macLookup(key: u64): i32 {
  const e = macFind(key);
  return e == 0 ? -1 : <i32>load<u16>(e + E_PORT);
}

/** Looks up `n` u64 keys at `keys`, writing i32 ports (-1 miss) to `out`; returns hits. */
export function macLookupBulk(keys: usize, n: u32, out: usize): u32 {
  let hits: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const r = macLookup(load<u64>(keys + <usize>i * 8));
    store<i32>(out + <usize>i * 4, r);
    if (r >= 0) hits++;
  }
  return hits;
}

function freeWay(b: u32): i32 {
  for (let w: u32 = 0; w < WAYS; w++) if (sigAt(b, w) == 0) return <i32>w;
  return -1;
}

function put(b: u32, w: u32, sig: u16, key: u64, port: u32, flags: u8, now: u32): usize {
  store<u16>(bucketPtr(b) + w * 2, sig);
  const e = entryPtr(b, w);
  store<u64>(e + E_KEY, key);
  store<u16>(e + E_PORT, <u16>port);
  store<u8>(e + E_FLAGS, flags);
  store<u32>(e + E_SEEN, now);
  return e;
}

// Moves the entry at (b, w) to way `to` of its alternate bucket `ab`.
function moveEntry(b: u32, w: u32, ab: u32, to: u32): void {
  const e = entryPtr(b, w);
  put(
    ab,
    to,
    sigAt(b, w),
    load<u64>(e + E_KEY),
    <u32>load<u16>(e + E_PORT),
    load<u8>(e + E_FLAGS),
    load<u32>(e + E_SEEN),
  );
  store<u16>(bucketPtr(b) + w * 2, 0);
}

// Frees a way in bucket b by moving one or two entries; returns the freed way or -1.
function makeRoom(b: u32): i32 {
  for (let w: u32 = 0; w < WAYS; w++) {
    const ab = altBucket(b, sigAt(b, w));
    if (ab == b) continue;
    const fw = freeWay(ab);
    if (fw >= 0) {
      moveEntry(b, w, ab, <u32>fw);
      return <i32>w;
    }
  }
  for (let w: u32 = 0; w < WAYS; w++) {
    const ab = altBucket(b, sigAt(b, w));
    if (ab == b) continue;
    for (let w2: u32 = 0; w2 < WAYS; w2++) {
      const ab2 = altBucket(ab, sigAt(ab, w2));
      if (ab2 == ab || ab2 == b) continue;
      const fw = freeWay(ab2);
      if (fw >= 0) {
        moveEntry(ab, w2, ab2, <u32>fw);
        moveEntry(b, w, ab, w2);
        return <i32>w;
      }
    }
  }
  return -1;
}

/** Adds or updates `key`; returns 0 when added, 1 when updated, -1 when the table is full. */
export function macAdd(key: u64, port: u32, flags: u8, now: u32): i32 {
  if (buckets == 0) return -1;
  const h = hash64(key);
  const sig = sigOf(h);
  const b1 = (<u32>h) & mask;
  const b2 = altBucket(b1, sig);
  let e = findIn(b1, sig, key);
  if (e == 0) e = findIn(b2, sig, key);
  if (e != 0) {
    store<u16>(e + E_PORT, <u16>port);
    store<u8>(e + E_FLAGS, flags);
    store<u32>(e + E_SEEN, now);
    return 1;
  }
  let w = freeWay(b1);
  let b = b1;
  if (w < 0) {
    w = freeWay(b2);
    b = b2;
  }
  if (w < 0) {
    w = makeRoom(b1);
    b = b1;
  }
  if (w < 0) {
    w = makeRoom(b2);
    b = b2;
  }
  if (w < 0) return -1;
  put(b, <u32>w, sig, key, port, flags, now);
  count++;
  return 0;
}

/** Deletes `key`; returns 1 when it was present, else 0. */
export function macDelete(key: u64): i32 {
  const e = macFind(key);
  if (e == 0) return 0;
  const rel = <u32>(e - macBase);
  const b = rel / MAC_BUCKET_SIZE;
  const w = ((rel % MAC_BUCKET_SIZE) - ENTRY_BASE) / ENTRY_SIZE;
  store<u16>(bucketPtr(b) + w * 2, 0);
  memory.fill(e, 0, ENTRY_SIZE);
  count--;
  return 1;
}

/** Index (bucket * 4 + way) of the first used entry at or after `cursor`, or -1. */
export function macIterate(cursor: u32): i32 {
  const total = buckets * WAYS;
  for (let i = cursor; i < total; i++) if (sigAt(i >> 2, i & 3) != 0) return <i32>i;
  return -1;
}

/** Pointer of entry `index` as returned by macIterate. */
export function macEntryPtr(index: u32): usize {
  return entryPtr(index >> 2, index & 3);
}

/** Removes learned entries not seen for more than `maxAge` ms; returns how many. */
export function macAge(now: u32, maxAge: u32): u32 {
  let removed: u32 = 0;
  const total = buckets * WAYS;
  for (let i: u32 = 0; i < total; i++) {
    const b = i >> 2;
    const w = i & 3;
    if (sigAt(b, w) == 0) continue;
    const e = entryPtr(b, w);
    if ((load<u8>(e + E_FLAGS) & MAC_STATIC) != 0) continue;
    if (now - load<u32>(e + E_SEEN) > maxAge) {
      countBridge(<u32>(load<u64>(e + E_KEY) >> 48), C_AGED, 1);
      store<u16>(bucketPtr(b) + w * 2, 0);
      memory.fill(e, 0, ENTRY_SIZE);
      count--;
      removed++;
    }
  }
  return removed;
}

// Field accessors for the L2 stage.
export function entryPort(e: usize): u32 {
  return <u32>load<u16>(e + E_PORT);
}
export function entryIsStatic(e: usize): bool {
  return (load<u8>(e + E_FLAGS) & MAC_STATIC) != 0;
}
export function entrySetPort(e: usize, port: u32): void {
  store<u16>(e + E_PORT, <u16>port);
}
export function entryTouch(e: usize, now: u32): void {
  store<u32>(e + E_SEEN, now);
}
