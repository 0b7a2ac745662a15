// Connection tracking: a bounded flow table on the 5-tuple, shared by both directions of a flow,
// and the `conntrack` stage that lets packets of known flows bypass the ACL.
//
// Key: the flow's two endpoints in canonical order (endpoint A = the smaller (address, port)),
// so both directions find the same entry; a packet's direction bit says whether its source
// is A (0) or B (1). ICMP echo uses the identifier as both ports; other ICMP and protocols
// without ports use 0.
//
// Table: 2^k buckets of 8 entries with 16-bit signatures (one 16-byte line per bucket,
// compared with one SIMD instruction), two candidate buckets per key (b1 = h & mask, b2 = b1 ^
// f(signature)). No entry ever moves once placed, so the eviction policy is exact and simple
// enough for the reference to model: an insert takes the lowest empty way of the emptier of
// its two buckets (b1 on a tie); when both are full, the first expired entry in the order b1
// ways 0..7 then b2 ways 0..7 (`expired` counted), else the entry seen least recently (ties:
// the first in that order; `evicted` counted). Expired entries are absent for lookups;
// `ctAge` sweeps them.
import {
  D_OFF,
  D_LEN,
  D_IN_PORT,
  D_NEXT,
  D_TRACE_A,
  D_TRACE_B,
  D_OUTER,
  L_L3,
  L_L4,
  L_IP_VER,
  L_PROTO,
  L_L4_KIND,
  L_SPORT,
  L_DPORT,
  L4_PORTS,
  L4_ICMP,
  vectorCapacity,
  desc,
  slotBase,
  be32,
} from './layout';
import { NODE_ACL, NODE_CONNTRACK } from './nodes';
import { heapAlloc, heapFree } from './heap';
import { forwardNode } from './forward';
import { now } from './l2';
import { fmix32 } from './flowhash';

// Flow states. TCP follows the handshake and teardown; UDP is unreplied until the other side
// answers; ICMP and other protocols have one state each.
export const CT_TCP_SYN_SENT: u8 = 1;
export const CT_TCP_SYN_RECV: u8 = 2;
export const CT_TCP_ESTABLISHED: u8 = 3;
export const CT_TCP_FIN_WAIT: u8 = 4;
export const CT_TCP_TIME_WAIT: u8 = 5;
export const CT_TCP_CLOSE: u8 = 6;
export const CT_UDP_UNREPLIED: u8 = 7;
export const CT_UDP_REPLIED: u8 = 8;
export const CT_ICMP: u8 = 9;
export const CT_OTHER: u8 = 10;
const CT_STATES: u32 = 11;

const WAYS: u32 = 8;
const SIG_LINE: u32 = 16;
export const CT_ENTRY_SIZE: u32 = 64;
const KEY_SIZE: u32 = 40;
// Key (40 bytes): address A (16, network order, IPv4 in the first 4), address B (16),
// port A u16, port B u16, proto u8, IP version u8, 2 zero bytes.
const K_PORT_A: u32 = 32;
const K_PORT_B: u32 = 34;
const K_PROTO: u32 = 36;
const K_VER: u32 = 37;
// Entry = key + state.
// Everything a packet updates is in the entry's one cache line: the key's last two bytes (zero
// in a key) hold the state and the direction bits.
const E_STATE: u32 = 38; // u8
// u8 bit 0: direction bit of the packet that opened the flow; bit 1: FIN seen from the
// original side, bit 2: from the reply side.
const E_ORIG: u32 = 39;
const E_SEEN: u32 = 40; // u32 ms of the last packet
const E_PKTS: u32 = 44; // 2 x u32 packets [original, reply] (modulo 2^32)
const E_BYTES: u32 = 52; // 2 x u48 bytes [original, reply] (modulo 2^48)

let buckets: u32 = 0;
let mask: u32 = 0;
let count: u32 = 0;
let block: usize = 0;
let blockBytes: usize = 0;
let sigBase: usize = 0;
let entryBase: usize = 0;
// Per-packet scratch of the stage (heap: batches leave static data alone) + one key for the
// ACL's flow creation + one for host calls.
let scratch: usize = 0;
const PKT_SIZE: u32 = 64;
const P_HASH: u32 = 40; // u32
const P_DIR: u32 = 44; // u8
const P_VALID: u32 = 45; // u8
const P_FLAGS: u32 = 46; // u8 TCP flags
const P_M1: u32 = 48; // u16 signature matches in b1
const P_M2: u32 = 50; // u16 signature matches in b2
const P_B1: u32 = 52; // u32
const P_B2: u32 = 56; // u32
const P_CAND: u32 = 60; // i32 slot of the first signature match (-1: none)

// Timeouts per state in ms (static data: written by management calls only).
const timeouts = memory.data(64);

// Statistics (globals: not in linear memory).
let stCreated: u64 = 0;
let stEvicted: u64 = 0;
let stExpired: u64 = 0;
let stInsertFailed: u64 = 0;
let stHits: u64 = 0;
let stUntracked: u64 = 0;

/** Sets the timeout of flow state `state` in ms (0 when the state is unknown). */
export function ctSetTimeout(state: u32, ms: u32): i32 {
  if (state == 0 || state >= CT_STATES) return -1;
  store<u32>(timeouts + <usize>state * 4, ms);
  return 0;
}

/** Timeout of `state` in ms. */
export function ctTimeout(state: u32): u32 {
  return state < CT_STATES ? load<u32>(timeouts + <usize>state * 4) : 0;
}

function scratchKey(which: u32): usize {
  return scratch + <usize>(vectorCapacity + which) * PKT_SIZE;
}

/**
 * (Re)creates the table with room for at least `capacity` flows (rounded up to a power of
 * two buckets of 8). 0, or -1 when out of memory (the table is then absent).
 */
export function ctCreate(capacity: u32): i32 {
  ctFree();
  if (capacity == 0 || capacity > 0x8000000) return -1;
  let b: u32 = 1;
  while (b * WAYS < capacity) b <<= 1;
  if (scratch == 0) {
    scratch = heapAlloc(<usize>(vectorCapacity + 2) * PKT_SIZE);
    if (scratch == 0) return -1;
  }
  const bytes = <usize>b * (SIG_LINE + WAYS * CT_ENTRY_SIZE);
  const p = heapAlloc(bytes);
  if (p == 0) return -1;
  block = p;
  blockBytes = bytes;
  buckets = b;
  mask = b - 1;
  sigBase = p;
  entryBase = p + <usize>b * SIG_LINE;
  ctReset();
  return 0;
}

/** Releases the table: tracking stops (the stage is skipped) until ctCreate. */
export function ctFree(): void {
  if (block != 0) heapFree(block, blockBytes);
  block = 0;
  blockBytes = 0;
  buckets = 0;
  mask = 0;
  count = 0;
}

/** Removes every flow and zeroes the statistics. */
export function ctReset(): void {
  if (block != 0) memory.fill(block, 0, blockBytes);
  count = 0;
  stCreated = 0;
  stEvicted = 0;
  stExpired = 0;
  stInsertFailed = 0;
  stHits = 0;
  stUntracked = 0;
}

/** True while a table exists: packets of ACL-bound ports then pass the conntrack stage. */
export function ctEnabled(): bool {
  return buckets != 0;
}

/** Stage for a packet that the ACL applies to: conntrack first while a table exists. */
export function ctOrAcl(): u8 {
  return buckets != 0 ? NODE_CONNTRACK : NODE_ACL;
}

/** Stored flows (expired ones included until swept or reused). */
export function ctCount(): u32 {
  return count;
}

/** Slots of the table (0: no table). */
export function ctCapacity(): u32 {
  return buckets * WAYS;
}

/** Bytes of the table block. */
export function ctMemory(): usize {
  return blockBytes;
}

/** Statistic `i`: 0 created, 1 evicted, 2 expired, 3 insertFailed, 4 hits, 5 untracked. */
export function ctStat(i: u32): u64 {
  switch (i) {
    case 0:
      return stCreated;
    case 1:
      return stEvicted;
    case 2:
      return stExpired;
    case 3:
      return stInsertFailed;
    case 4:
      return stHits;
    case 5:
      return stUntracked;
    default:
      return 0;
  }
}

function mix(h: u32, w: u32): u32 {
  h = (h ^ w) * 0x9e3779b1;
  return h ^ (h >> 15);
}

/** Hash of a key: multiply-xor over its little-endian u32 words (IPv4: the 4 non-zero ones). */
function hashKey(k: usize): u32 {
  let h: u32 = 0x7f4a7c15;
  if (load<u8>(k + K_VER) == 4) {
    h = mix(h, load<u32>(k));
    h = mix(h, load<u32>(k + 16));
  } else {
    for (let w: usize = 0; w < 32; w += 4) h = mix(h, load<u32>(k + w));
  }
  h = mix(h, load<u32>(k + 32));
  h = mix(h, load<u32>(k + 36));
  return fmix32(h);
}

function sigOf(h: u32): u32 {
  const s = h >> 16;
  return s == 0 ? 1 : s;
}

function altBucket(b1: u32, sig: u32): u32 {
  return (b1 ^ (sig * 0x5bd1e995)) & mask;
}

function entryAt(s: u32): usize {
  return entryBase + <usize>s * CT_ENTRY_SIZE;
}

function sigMatches(b: u32, sig: u32): u32 {
  return <u32>(
    i16x8.bitmask(i16x8.eq(v128.load(sigBase + <usize>b * SIG_LINE), i16x8.splat(<i16>sig)))
  );
}

function keyEq(e: usize, k: usize): bool {
  return (
    load<u64>(e) == load<u64>(k) &&
    load<u64>(e + 8) == load<u64>(k + 8) &&
    load<u64>(e + 16) == load<u64>(k + 16) &&
    load<u64>(e + 24) == load<u64>(k + 24) &&
    ((load<u64>(e + 32) ^ load<u64>(k + 32)) & 0xffffffffffff) == 0
  );
}

function findWith(b: u32, m: u32, k: usize): i32 {
  while (m != 0) {
    const w = <u32>ctz(m);
    m &= m - 1;
    const s = b * WAYS + w;
    if (keyEq(entryAt(s), k)) return <i32>s;
  }
  return -1;
}

// Slot holding key `k` (hash h), live or expired, or -1.
function locate(k: usize, h: u32): i32 {
  if (buckets == 0) return -1;
  const sig = sigOf(h);
  const b1 = h & mask;
  const s = findWith(b1, sigMatches(b1, sig), k);
  if (s >= 0) return s;
  const b2 = altBucket(b1, sig);
  return b2 == b1 ? -1 : findWith(b2, sigMatches(b2, sig), k);
}

function isExpired(e: usize, t: u32): bool {
  return t - load<u32>(e + E_SEEN) > load<u32>(timeouts + <usize>load<u8>(e + E_STATE) * 4);
}

function sigAt(s: u32): u32 {
  return <u32>load<u16>(sigBase + <usize>(s / WAYS) * SIG_LINE + <usize>(s % WAYS) * 2);
}

function setSig(s: u32, sig: u32): void {
  store<u16>(sigBase + <usize>(s / WAYS) * SIG_LINE + <usize>(s % WAYS) * 2, <u16>sig);
}

// Empty ways of bucket b as a bit mask.
function freeWays(b: u32): u32 {
  return <u32>i16x8.bitmask(i16x8.eq(v128.load(sigBase + <usize>b * SIG_LINE), i16x8.splat(0)));
}

// A slot for a new key per the eviction policy (see the top of the file); counts.
function claim(h: u32, t: u32): u32 {
  const sig = sigOf(h);
  const b1 = h & mask;
  const b2 = altBucket(b1, sig);
  const nb: u32 = b2 == b1 ? 1 : 2;
  const f1 = freeWays(b1);
  const f2 = nb == 2 ? freeWays(b2) : 0;
  if ((f1 | f2) != 0) {
    // The emptier bucket (two choices keep the buckets balanced), its lowest free way.
    count++;
    return popcnt(f1) >= popcnt(f2) ? b1 * WAYS + <u32>ctz(f1) : b2 * WAYS + <u32>ctz(f2);
  }
  let victim: u32 = 0;
  let oldest: u32 = 0;
  for (let i: u32 = 0; i < nb * WAYS; i++) {
    const s = (i < WAYS ? b1 : b2) * WAYS + (i % WAYS);
    const e = entryAt(s);
    if (isExpired(e, t)) {
      stExpired++;
      return s;
    }
    const age = t - load<u32>(e + E_SEEN);
    if (i == 0 || age > oldest) {
      oldest = age;
      victim = s;
    }
  }
  stEvicted++;
  return victim;
}

function writeEntry(s: u32, k: usize, h: u32, state: u8, orig: u8, t: u32): usize {
  setSig(s, sigOf(h));
  const e = entryAt(s);
  memory.copy(e, k, KEY_SIZE);
  store<u8>(e + E_STATE, state);
  store<u8>(e + E_ORIG, orig);
  store<u32>(e + E_SEEN, t);
  store<u64>(e + E_PKTS, 0);
  store<u64>(e + E_BYTES, 0);
  store<u32>(e + E_BYTES + 8, 0);
  return e;
}

// TCP flag bits.
const TCP_FIN: u32 = 0x01;
const TCP_SYN: u32 = 0x02;
const TCP_RST: u32 = 0x04;
const TCP_ACK: u32 = 0x10;

/** Advances a flow's state for one packet (reply: it goes against the opening direction). */
function advance(e: usize, reply: bool, flags: u32, len: u32, t: u32): void {
  store<u32>(e + E_SEEN, t);
  const dir: usize = reply ? 1 : 0;
  const pk = e + E_PKTS + dir * 4;
  store<u32>(pk, load<u32>(pk) + 1);
  const by = e + E_BYTES + dir * 6;
  const total = ((<u64>load<u32>(by)) | ((<u64>load<u16>(by + 4)) << 32)) + <u64>len;
  store<u32>(by, <u32>total);
  store<u16>(by + 4, <u16>(total >> 32));
  let state = load<u8>(e + E_STATE);
  if (state <= CT_TCP_CLOSE) {
    if ((flags & TCP_RST) != 0) {
      state = CT_TCP_CLOSE;
    } else {
      if (
        state == CT_TCP_SYN_SENT &&
        reply &&
        (flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK)
      ) {
        state = CT_TCP_SYN_RECV;
      } else if (state == CT_TCP_SYN_RECV && !reply && (flags & (TCP_SYN | TCP_ACK)) == TCP_ACK) {
        state = CT_TCP_ESTABLISHED;
      }
      if ((state == CT_TCP_ESTABLISHED || state == CT_TCP_FIN_WAIT) && (flags & TCP_FIN) != 0) {
        const bits = load<u8>(e + E_ORIG) | (reply ? 4 : 2);
        store<u8>(e + E_ORIG, bits);
        state = (bits & 6) == 6 ? CT_TCP_TIME_WAIT : CT_TCP_FIN_WAIT;
      }
    }
  } else if (state == CT_UDP_UNREPLIED && reply) {
    state = CT_UDP_REPLIED;
  }
  store<u8>(e + E_STATE, state);
}

/** State a new flow opened by a packet starts in; 0 when it cannot open one. */
function initialState(proto: u32, ver: u32, flags: u32): u8 {
  if (proto == 6) {
    // Only a SYN opens a TCP flow: a packet from the middle of a connection is not one.
    return (flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN ? CT_TCP_SYN_SENT : 0;
  }
  if (proto == 17) return CT_UDP_UNREPLIED;
  if ((proto == 1 && ver == 4) || (proto == 58 && ver == 6)) return CT_ICMP;
  return CT_OTHER;
}

// Writes the canonical key of (src, dst, sport, dport) to k; returns the direction bit.
function canonical(
  k: usize,
  src: usize,
  dst: usize,
  words: u32,
  sport: u32,
  dport: u32,
  proto: u32,
  ver: u32,
): u8 {
  // Compare (address, port) of both ends, addresses as big-endian numbers.
  let cmp: i32 = 0;
  for (let w: u32 = 0; w < words && cmp == 0; w++) {
    const a = be32(src + <usize>w * 4);
    const b = be32(dst + <usize>w * 4);
    if (a != b) cmp = a < b ? -1 : 1;
  }
  if (cmp == 0 && sport != dport) cmp = sport < dport ? -1 : 1;
  const swap = cmp > 0;
  const a = swap ? dst : src;
  const b = swap ? src : dst;
  store<u64>(k, 0);
  store<u64>(k + 8, 0);
  store<u64>(k + 16, 0);
  store<u64>(k + 24, 0);
  if (words == 1) {
    store<u32>(k, load<u32>(a));
    store<u32>(k + 16, load<u32>(b));
  } else {
    v128.store(k, v128.load(a));
    v128.store(k + 16, v128.load(b));
  }
  store<u16>(k + K_PORT_A, <u16>(swap ? dport : sport));
  store<u16>(k + K_PORT_B, <u16>(swap ? sport : dport));
  store<u8>(k + K_PROTO, <u8>proto);
  store<u8>(k + K_VER, <u8>ver);
  store<u16>(k + 38, 0);
  return swap ? 1 : 0;
}

// Key of the packet in descriptor d into k (+ direction, TCP flags, hash); false when it is
// not IP.
function packetKey(d: usize, slot: u32, k: usize): bool {
  const ver = <u32>load<u8>(d + D_OUTER + L_IP_VER);
  if (ver != 4 && ver != 6) return false;
  const f = slotBase(slot) + load<u32>(d + D_OFF);
  const ip = f + <usize>load<u16>(d + D_OUTER + L_L3);
  const proto = <u32>load<u8>(d + D_OUTER + L_PROTO);
  const kind = load<u8>(d + D_OUTER + L_L4_KIND);
  let sport: u32 = 0;
  let dport: u32 = 0;
  let flags: u32 = 0;
  if (kind == L4_PORTS) {
    sport = <u32>load<u16>(d + D_OUTER + L_SPORT);
    dport = <u32>load<u16>(d + D_OUTER + L_DPORT);
    if (proto == 6) flags = <u32>load<u8>(f + <usize>load<u16>(d + D_OUTER + L_L4) + 13);
  } else if (kind == L4_ICMP) {
    const type = <u32>load<u16>(d + D_OUTER + L_SPORT);
    // Echo request/reply: the identifier stands for the port of both ends.
    if ((ver == 4 && (type == 8 || type == 0)) || (ver == 6 && (type == 128 || type == 129))) {
      sport = be32(f + <usize>load<u16>(d + D_OUTER + L_L4) + 4) >> 16;
      dport = sport;
    }
  }
  let dir: u8 = 0;
  if (ver == 4) {
    // The common case in registers: the key's five u64 words and its hash (as hashKey).
    const rs = load<u32>(ip + 12);
    const rd = load<u32>(ip + 16);
    const s = bswap<u32>(rs);
    const t = bswap<u32>(rd);
    const swap = s > t || (s == t && sport > dport);
    dir = swap ? 1 : 0;
    const wa = swap ? rd : rs;
    const wb = swap ? rs : rd;
    const ports = swap ? dport | (sport << 16) : sport | (dport << 16);
    const tail = proto | (4 << 8);
    store<u64>(k, <u64>wa);
    store<u64>(k + 8, 0);
    store<u64>(k + 16, <u64>wb);
    store<u64>(k + 24, 0);
    store<u64>(k + 32, (<u64>ports) | ((<u64>tail) << 32));
    let h: u32 = 0x7f4a7c15;
    h = mix(h, wa);
    h = mix(h, wb);
    h = mix(h, ports);
    h = mix(h, tail);
    store<u32>(k + P_HASH, fmix32(h));
  } else {
    dir = canonical(k, ip + 8, ip + 24, 4, sport, dport, proto, 6);
    store<u32>(k + P_HASH, hashKey(k));
  }
  store<u8>(k + P_DIR, dir);
  store<u8>(k + P_FLAGS, <u8>flags);
  return true;
}

/**
 * Called by the ACL stage for a packet that matched a `permit-stateful` rule: creates its flow
 * (or advances it when an earlier packet of the batch already did).
 */
export function ctFromAcl(d: usize, slot: u32): void {
  if (buckets == 0) {
    stInsertFailed++;
    return;
  }
  const k = scratchKey(0);
  if (!packetKey(d, slot, k)) return;
  const h = load<u32>(k + P_HASH);
  const dir = load<u8>(k + P_DIR);
  const flags = <u32>load<u8>(k + P_FLAGS);
  const len = load<u32>(d + D_LEN);
  const t = now;
  let s = locate(k, h);
  if (s >= 0 && !isExpired(entryAt(<u32>s), t)) {
    const e = entryAt(<u32>s);
    advance(e, dir != (load<u8>(e + E_ORIG) & 1), flags, len, t);
    return;
  }
  const state = initialState(<u32>load<u8>(k + K_PROTO), <u32>load<u8>(k + K_VER), flags);
  if (state == 0) {
    stUntracked++;
    return;
  }
  if (s >= 0) stExpired++;
  else s = <i32>claim(h, t);
  const e = writeEntry(<u32>s, k, h, state, dir, t);
  advance(e, false, flags, len, t);
  stCreated++;
}

// Keeps the touching loads of the stage alive (a global: not in linear memory).
let touchSink: u64 = 0;

/** Conntrack stage: packets of live flows skip the ACL; the others go on to it. */
export function conntrackStage(vec: usize, n: i32): i32 {
  // Pass 1: keys, hashes, buckets.
  for (let i: i32 = 0; i < n; i++) {
    const slot = <u32>load<u16>(vec + <usize>i * 2);
    const d = desc(slot);
    const k = scratch + <usize>i * PKT_SIZE;
    store<u8>(d + D_NEXT, NODE_ACL);
    store<u32>(d + D_TRACE_B, 0);
    const ok = buckets != 0 && packetKey(d, slot, k);
    store<u8>(k + P_VALID, ok ? 1 : 0);
    if (!ok) {
      store<u32>(d + D_TRACE_A, 0xffffffff);
      continue;
    }
    const h = load<u32>(k + P_HASH);
    const b1 = h & mask;
    store<u32>(k + P_B1, b1);
    store<u32>(k + P_B2, altBucket(b1, sigOf(h)));
  }
  // Pass 2: both buckets' signature lines of every packet, then the first matching entry (one
  // cache line with everything a hit updates): loads independent of each other, so that their
  // cache misses overlap (WebAssembly has no prefetch instruction).
  for (let i: i32 = 0; i < n; i++) {
    const k = scratch + <usize>i * PKT_SIZE;
    if (load<u8>(k + P_VALID) == 0) continue;
    const sig = sigOf(load<u32>(k + P_HASH));
    const b1 = load<u32>(k + P_B1);
    const b2 = load<u32>(k + P_B2);
    const m1 = sigMatches(b1, sig);
    const m2 = b2 != b1 ? sigMatches(b2, sig) : 0;
    store<u16>(k + P_M1, <u16>m1);
    store<u16>(k + P_M2, <u16>m2);
    store<i32>(
      k + P_CAND,
      m1 != 0 ? <i32>(b1 * WAYS + <u32>ctz(m1)) : m2 != 0 ? <i32>(b2 * WAYS + <u32>ctz(m2)) : -1,
    );
  }
  let touched: u64 = 0;
  for (let i: i32 = 0; i < n; i++) {
    const c = load<i32>(scratch + <usize>i * PKT_SIZE + P_CAND);
    if (load<u8>(scratch + <usize>i * PKT_SIZE + P_VALID) == 0 || c < 0) continue;
    touched += load<u64>(entryAt(<u32>c));
  }
  touchSink = touched;
  // Pass 3: resolve in vector order (flows change state as packets are seen).
  const t = now;
  for (let i: i32 = 0; i < n; i++) {
    const k = scratch + <usize>i * PKT_SIZE;
    if (load<u8>(k + P_VALID) == 0) continue;
    const slot = <u32>load<u16>(vec + <usize>i * 2);
    const d = desc(slot);
    const b1 = load<u32>(k + P_B1);
    const b2 = load<u32>(k + P_B2);
    let s = findWith(b1, <u32>load<u16>(k + P_M1), k);
    if (s < 0 && b2 != b1) s = findWith(b2, <u32>load<u16>(k + P_M2), k);
    const proto = <u32>load<u8>(k + K_PROTO);
    if (s < 0 || isExpired(entryAt(<u32>s), t)) {
      store<u32>(d + D_TRACE_A, proto << 16);
      continue;
    }
    const e = entryAt(<u32>s);
    const reply = load<u8>(k + P_DIR) != (load<u8>(e + E_ORIG) & 1);
    advance(e, reply, <u32>load<u8>(k + P_FLAGS), load<u32>(d + D_LEN), t);
    stHits++;
    store<u32>(
      d + D_TRACE_A,
      1 | (reply ? 2 : 0) | ((<u32>load<u8>(e + E_STATE)) << 8) | (proto << 16),
    );
    store<u8>(d + D_NEXT, forwardNode(<u32>load<u16>(d + D_IN_PORT), d));
  }
  return n;
}

// Host calls pass a tuple at p: src (16 bytes), dst (16), sport u16, dport u16, proto u8,
// version u8 (40 bytes), as ctLookupBulk does for each of its tuples.
function tupleKey(p: usize, k: usize): void {
  const ver = <u32>load<u8>(p + 37);
  const dir = canonical(
    k,
    p,
    p + 16,
    ver == 4 ? 1 : 4,
    <u32>load<u16>(p + 32),
    <u32>load<u16>(p + 34),
    <u32>load<u8>(p + 36),
    ver,
  );
  store<u32>(k + P_HASH, hashKey(k));
  store<u8>(k + P_DIR, dir);
}

let lastDir: u8 = 0;

/** Direction bit of the tuple of the last ctLookup/ctAdd (0: it is endpoint A → B). */
export function ctLastDir(): u32 {
  return lastDir;
}

/**
 * Adds (or replaces) the flow of the tuple at p, opened in the tuple's direction, in
 * `state`, last seen at `t`. Slot, or -1 without a table.
 */
export function ctAdd(p: usize, state: u32, t: u32): i32 {
  if (buckets == 0 || state == 0 || state >= CT_STATES) return -1;
  const k = scratchKey(1);
  tupleKey(p, k);
  const h = load<u32>(k + P_HASH);
  lastDir = load<u8>(k + P_DIR);
  let s = locate(k, h);
  if (s < 0) s = <i32>claim(h, t);
  writeEntry(<u32>s, k, h, <u8>state, lastDir, t);
  stCreated++;
  return s;
}

/** State a flow added by the host without one starts in, by protocol. */
function defaultState(proto: u32, ver: u32): u8 {
  if (proto == 6) return CT_TCP_ESTABLISHED;
  if (proto == 17) return CT_UDP_UNREPLIED;
  if ((proto == 1 && ver == 4) || (proto == 58 && ver == 6)) return CT_ICMP;
  return CT_OTHER;
}

/**
 * Adds `n` tuples (40 bytes each, as for ctAdd) at p, each in its protocol's default state,
 * last seen at `t`. Tuples whose version is not 4 or 6 are skipped. Returns how many were
 * added (-1 without a table).
 */
export function ctAddBulk(p: usize, n: u32, t: u32): i32 {
  if (buckets == 0) return -1;
  let added: i32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const q = p + <usize>i * KEY_SIZE;
    const ver = <u32>load<u8>(q + 37);
    if (ver != 4 && ver != 6) continue;
    if (ctAdd(q, defaultState(<u32>load<u8>(q + 36), ver), t) >= 0) added++;
  }
  return added;
}

/** Deletes the flow of the tuple at p (either direction): 1 when it was stored, else 0. */
export function ctDelete(p: usize): i32 {
  if (buckets == 0) return 0;
  const k = scratchKey(1);
  tupleKey(p, k);
  const s = locate(k, load<u32>(k + P_HASH));
  if (s < 0) return 0;
  setSig(<u32>s, 0);
  memory.fill(entryAt(<u32>s), 0, CT_ENTRY_SIZE);
  count--;
  return 1;
}

/** Slot of the live flow of the tuple at p at time t (either direction), or -1. */
export function ctLookup(p: usize, t: u32): i32 {
  if (buckets == 0) return -1;
  const k = scratchKey(1);
  tupleKey(p, k);
  lastDir = load<u8>(k + P_DIR);
  const s = locate(k, load<u32>(k + P_HASH));
  return s < 0 || isExpired(entryAt(<u32>s), t) ? -1 : s;
}

/**
 * Looks up `n` tuples (40 bytes each) at p at time t; writes per tuple an i32 to out: slot <<
 * 1 | direction bit, or -1. Returns the number found.
 */
export function ctLookupBulk(p: usize, n: u32, out: usize, t: u32): u32 {
  let found: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const s = ctLookup(p + <usize>i * KEY_SIZE, t);
    store<i32>(out + <usize>i * 4, s < 0 ? -1 : (s << 1) | (<i32>lastDir));
    if (s >= 0) found++;
  }
  return found;
}

/** First used slot at or after `cursor`, or -1. */
export function ctIterate(cursor: u32): i32 {
  const total = buckets * WAYS;
  for (let s = cursor; s < total; s++) if (sigAt(s) != 0) return <i32>s;
  return -1;
}

/** Address of the entry in `slot` (key, state, counters). */
export function ctEntryPtr(slot: u32): usize {
  return entryAt(slot);
}

/** Removes the flows expired at time t; returns how many (counted as expired). */
export function ctAge(t: u32): u32 {
  let removed: u32 = 0;
  const total = buckets * WAYS;
  for (let s: u32 = 0; s < total; s++) {
    if (sigAt(s) == 0 || !isExpired(entryAt(s), t)) continue;
    setSig(s, 0);
    memory.fill(entryAt(s), 0, CT_ENTRY_SIZE);
    count--;
    removed++;
  }
  stExpired += removed;
  return removed;
}

// Default timeouts (ms): see README "Connection tracking".
ctSetTimeout(CT_TCP_SYN_SENT, 30_000);
ctSetTimeout(CT_TCP_SYN_RECV, 30_000);
ctSetTimeout(CT_TCP_ESTABLISHED, 3_600_000);
ctSetTimeout(CT_TCP_FIN_WAIT, 120_000);
ctSetTimeout(CT_TCP_TIME_WAIT, 120_000);
ctSetTimeout(CT_TCP_CLOSE, 10_000);
ctSetTimeout(CT_UDP_UNREPLIED, 30_000);
ctSetTimeout(CT_UDP_REPLIED, 180_000);
ctSetTimeout(CT_ICMP, 30_000);
ctSetTimeout(CT_OTHER, 60_000);

/** Time of the last batch (ms): the default "now" of host lookups. */
export function ctNow(): u32 {
  return now;
}
