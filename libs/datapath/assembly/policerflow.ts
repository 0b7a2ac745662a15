// Per-flow policers: every 5-tuple flow arriving on a port gets its own token bucket (as
// iptables' hashlimit does), in a bounded table per port. The table is a bucketized hash of
// exact keys, 4 ways per bucket; a new flow in a full bucket evicts the bucket's least
// recently used flow (counted). Buckets use the same exact integer arithmetic as the port
// policers (milli-bytes, refilled per elapsed millisecond, at most 100 s counted), and a new
// flow's bucket starts full.
import {
  D_OFF,
  D_IN_PORT,
  D_OUTER,
  L_L3,
  L_IP_VER,
  L_PROTO,
  L_L4_KIND,
  L_SPORT,
  L_DPORT,
  L4_PORTS,
  MAX_PORTS,
  slotBase,
  counting,
  vectorCapacity,
  desc,
  be32,
} from './layout';
import { heapAlloc, heapFree } from './heap';
import { fmix32 } from './flowhash';

/** Most flows a port's table may hold. */
export const FLOW_MAX_FLOWS: u32 = 1 << 20;
const WAYS: u32 = 4;
const MAX_ELAPSED_MS: u32 = 100000;

// Table header, then the entries.
const T_HEADER: u32 = 64;
const T_RATE: u32 = 0; // u32 bytes per second
const T_BURST: u32 = 4; // u32 bytes
const T_MASK: u32 = 8; // u32 buckets - 1
const T_CLOCK: u32 = 12; // u32 access stamp
const T_FLOWS: u32 = 16; // u32 flows held
const T_CONFORM_PKTS: u32 = 24; // u64 counters
const T_CONFORM_BYTES: u32 = 32;
const T_EXCEED_PKTS: u32 = 40;
const T_EXCEED_BYTES: u32 = 48;
const T_EVICTED: u32 = 56;

// Entry = key (40 bytes) + bucket state.
const E_SIZE: u32 = 64;
const E_USED: u32 = 0; // u8
const E_VER: u32 = 1; // u8
const E_PROTO: u32 = 2; // u8
const E_SPORT: u32 = 4; // u16
const E_DPORT: u32 = 6; // u16
const E_SRC: u32 = 8; // 16 bytes (IPv4 in the first 4)
const E_DST: u32 = 24; // 16 bytes
const E_TOKENS: u32 = 40; // u64 milli-bytes
const E_LAST: u32 = 48; // u32 ms of the last refill
const E_STAMP: u32 = 52; // u32 table clock at the last packet
const E_HASH: u32 = 56; // u32

// Port -> table address (0: none).
let tables: usize = 0;
// Per vector position: the packet's key (40 bytes, entry layout), hash (u32 at 40) and
// whether it has one (u8 at 44); written by flowPrefetch, read by flowPolice.
let vectorKeys: usize = 0;
const VK_SIZE: usize = 48;
/** Ports with a per-flow policer (lets the ingress decision skip the per-port load). */
export let flowPortCount: u32 = 0;
// Key of the packet in hand, in entry layout (the host writes lookup keys here too); in the
// table heap with `tables`, not in static data, which never changes while traffic runs.
let keyBuf: usize = 0;

function tableBytes(mask: u32): usize {
  return <usize>T_HEADER + (<usize>mask + 1) * WAYS * E_SIZE;
}

/** Table of `port` (0: none). */
export function flowTableOf(port: u32): usize {
  return tables == 0 ? 0 : load<usize>(tables + <usize>port * sizeof<usize>());
}

/**
 * Binds a per-flow policer to `port`: `maxFlows` (a power of two, 4 ..  FLOW_MAX_FLOWS)
 * buckets of `rate` bytes/s and `burst` bytes. Rebinding starts an empty table. 0, or -1.
 */
export function flowPolicerBind(port: u32, rate: u32, burst: u32, maxFlows: u32): i32 {
  if (port >= <u32>MAX_PORTS || maxFlows < WAYS || maxFlows > FLOW_MAX_FLOWS) return -1;
  if ((maxFlows & (maxFlows - 1)) != 0 || burst == 0) return -1;
  if (tables == 0) {
    tables = heapAlloc(<usize>MAX_PORTS * sizeof<usize>() + 64);
    if (tables == 0) return -1;
    keyBuf = tables + <usize>MAX_PORTS * sizeof<usize>();
  }
  // Allocated here, in a management call: nothing is allocated while a batch runs.
  if (vectorKeys == 0) {
    vectorKeys = heapAlloc(<usize>vectorCapacity * VK_SIZE);
    if (vectorKeys == 0) return -1;
  }
  flowPolicerUnbind(port);
  const mask = maxFlows / WAYS - 1;
  const t = heapAlloc(tableBytes(mask));
  if (t == 0) return -1;
  store<u32>(t + T_RATE, rate);
  store<u32>(t + T_BURST, burst);
  store<u32>(t + T_MASK, mask);
  store<usize>(tables + <usize>port * sizeof<usize>(), t);
  flowPortCount++;
  return 0;
}

/** Removes the per-flow policer of `port` (its flows and counters). */
export function flowPolicerUnbind(port: u32): void {
  if (port >= <u32>MAX_PORTS) return;
  const t = flowTableOf(port);
  if (t == 0) return;
  heapFree(t, tableBytes(load<u32>(t + T_MASK)));
  store<usize>(tables + <usize>port * sizeof<usize>(), 0);
  flowPortCount--;
}

/** Removes every per-flow policer. */
export function flowPolicerReset(): void {
  for (let p: u32 = 0; p < <u32>MAX_PORTS; p++) flowPolicerUnbind(p);
}

// Hash of the key at keyBuf: murmur3's finaliser chained over the big-endian address words,
// the protocol and the ports (the README's earlier flow hash).
function keyHash(k: usize): u32 {
  let h: u32 = 0x811c9dc5;
  const words: usize = load<u8>(k + E_VER) == 4 ? 1 : 4;
  for (let i: usize = 0; i < words; i++) h = fmix32(h ^ be32(k + E_SRC + i * 4));
  for (let i: usize = 0; i < words; i++) h = fmix32(h ^ be32(k + E_DST + i * 4));
  h = fmix32(h ^ (<u32>load<u8>(k + E_PROTO)));
  return fmix32(h ^ (((<u32>load<u16>(k + E_SPORT)) << 16) | (<u32>load<u16>(k + E_DPORT))));
}

function keyEqual(e: usize, k: usize): bool {
  return (
    load<u64>(e) == load<u64>(k) &&
    load<u64>(e + 8) == load<u64>(k + 8) &&
    load<u64>(e + 16) == load<u64>(k + 16) &&
    load<u64>(e + 24) == load<u64>(k + 24) &&
    load<u64>(e + 32) == load<u64>(k + 32)
  );
}

/** Address of the key buffer the host fills for `flowPolicerLookup` (0 before any bind). */
export function flowKeyBuffer(): usize {
  return keyBuf;
}

/** Builds the flow key of a parsed IP packet at `k` (entry layout); false for non-IP packets. */
function packetKey(d: usize, slot: u32, k: usize): bool {
  const l = d + D_OUTER;
  const ver = load<u8>(l + L_IP_VER);
  if (ver != 4 && ver != 6) return false;
  const ip = slotBase(slot) + load<u32>(d + D_OFF) + <usize>load<u16>(l + L_L3);
  for (let i: usize = 0; i < 40; i += 8) store<u64>(k + i, 0);
  store<u8>(k + E_VER, ver);
  store<u8>(k + E_PROTO, load<u8>(l + L_PROTO));
  if (load<u8>(l + L_L4_KIND) == L4_PORTS) {
    store<u16>(k + E_SPORT, load<u16>(l + L_SPORT));
    store<u16>(k + E_DPORT, load<u16>(l + L_DPORT));
  }
  if (ver == 4) {
    store<u32>(k + E_SRC, load<u32>(ip + 12));
    store<u32>(k + E_DST, load<u32>(ip + 16));
  } else {
    store<u64>(k + E_SRC, load<u64>(ip + 8));
    store<u64>(k + E_SRC + 8, load<u64>(ip + 16));
    store<u64>(k + E_DST, load<u64>(ip + 24));
    store<u64>(k + E_DST + 8, load<u64>(ip + 32));
  }
  return true;
}

function find(t: usize, hash: u32, k: usize): usize {
  const b = t + T_HEADER + <usize>(hash & load<u32>(t + T_MASK)) * WAYS * E_SIZE;
  for (let w: u32 = 0; w < WAYS; w++) {
    const e = b + <usize>w * E_SIZE;
    if (load<u8>(e + E_USED) != 0 && load<u32>(e + E_HASH) == hash && keyEqual(e, k)) return e;
  }
  return 0;
}

/** Entry of the flow whose key the host wrote at flowKeyBuffer() on `port` (0: none). */
export function flowPolicerLookup(port: u32): usize {
  const t = port < <u32>MAX_PORTS ? flowTableOf(port) : 0;
  if (t == 0) return 0;
  store<u8>(keyBuf, 1);
  return find(t, keyHash(keyBuf), keyBuf);
}

/** Forgets the flow whose key the host wrote at flowKeyBuffer() on `port`: 0, or -1. */
export function flowPolicerDelete(port: u32): i32 {
  const e = flowPolicerLookup(port);
  if (e == 0) return -1;
  const t = flowTableOf(port);
  memory.fill(e, 0, E_SIZE);
  store<u32>(t + T_FLOWS, load<u32>(t + T_FLOWS) - 1);
  return 0;
}

/** Address of `port`'s table header (0: none), for the host to read config and counters. */
export function flowPolicerTablePtr(port: u32): usize {
  return port < <u32>MAX_PORTS ? flowTableOf(port) : 0;
}

/** Entries in `port`'s table (used or not): the host iterates them by index. */
export function flowPolicerSlots(port: u32): u32 {
  const t = flowPolicerTablePtr(port);
  return t == 0 ? 0 : (load<u32>(t + T_MASK) + 1) * WAYS;
}

// Keeps the touching loads of flowPrefetch from being optimised away.
let sink: u32 = 0;

/**
 * First pass of the policer stage over a vector: keys and hashes the flow of every packet on
 * a flow-policed port and loads a word of each way of its bucket, so that the cache misses
 * of a large table overlap (WebAssembly has no prefetch instruction).
 */
export function flowPrefetch(vec: usize, n: i32): void {
  let s: u32 = 0;
  for (let i: i32 = 0; i < n; i++) {
    const slot = <u32>load<u16>(vec + <usize>i * 2);
    const d = desc(slot);
    const k = vectorKeys + <usize>i * VK_SIZE;
    const t = flowTableOf(<u32>load<u16>(d + D_IN_PORT));
    if (t == 0 || !packetKey(d, slot, k)) {
      store<u8>(k + 44, 0);
      continue;
    }
    store<u8>(k, 1);
    const h = keyHash(k);
    store<u32>(k + 40, h);
    store<u8>(k + 44, 1);
    const b = t + T_HEADER + <usize>(h & load<u32>(t + T_MASK)) * WAYS * E_SIZE;
    s += load<u32>(b) + load<u32>(b + E_SIZE) + load<u32>(b + 2 * E_SIZE);
    s += load<u32>(b + 3 * E_SIZE);
  }
  sink += s;
}

/**
 * Charges the packet at vector position `i` (`len` bytes) to its flow's bucket in table `t`:
 * 1 when it conforms, 0 when it exceeds, 2 when it is not an IP packet (not policed). Its key
 * is the one flowPrefetch built for position `i`.
 */
export function flowPolice(t: usize, i: i32, len: u64, now: u32): u32 {
  if (vectorKeys == 0) return 2;
  const k = vectorKeys + <usize>i * VK_SIZE;
  if (load<u8>(k + 44) == 0) return 2;
  const hash = load<u32>(k + 40);
  const clock = load<u32>(t + T_CLOCK) + 1;
  store<u32>(t + T_CLOCK, clock);
  const cap = <u64>load<u32>(t + T_BURST) * 1000;
  let e = find(t, hash, k);
  let tokens: u64;
  if (e == 0) {
    // A free way, else the way least recently used (oldest stamp, wrap-safe).
    const b = t + T_HEADER + <usize>(hash & load<u32>(t + T_MASK)) * WAYS * E_SIZE;
    let victim: usize = 0;
    let oldest: u32 = 0;
    for (let w: u32 = 0; w < WAYS; w++) {
      const c = b + <usize>w * E_SIZE;
      if (load<u8>(c + E_USED) == 0) {
        victim = c;
        break;
      }
      const age = clock - load<u32>(c + E_STAMP);
      if (victim == 0 || age > oldest) {
        victim = c;
        oldest = age;
      }
    }
    e = victim;
    if (load<u8>(e + E_USED) != 0) {
      if (counting) store<u64>(t + T_EVICTED, load<u64>(t + T_EVICTED) + 1);
    } else {
      store<u32>(t + T_FLOWS, load<u32>(t + T_FLOWS) + 1);
    }
    for (let j: usize = 0; j < 40; j += 8) store<u64>(e + j, load<u64>(k + j));
    store<u32>(e + E_HASH, hash);
    tokens = cap;
  } else {
    let elapsed = now - load<u32>(e + E_LAST);
    if (elapsed > MAX_ELAPSED_MS) elapsed = MAX_ELAPSED_MS;
    tokens = load<u64>(e + E_TOKENS) + <u64>load<u32>(t + T_RATE) * <u64>elapsed;
    if (tokens > cap) tokens = cap;
  }
  store<u32>(e + E_LAST, now);
  store<u32>(e + E_STAMP, clock);
  if (tokens >= len * 1000) {
    store<u64>(e + E_TOKENS, tokens - len * 1000);
    if (counting) {
      store<u64>(t + T_CONFORM_PKTS, load<u64>(t + T_CONFORM_PKTS) + 1);
      store<u64>(t + T_CONFORM_BYTES, load<u64>(t + T_CONFORM_BYTES) + len);
    }
    return 1;
  }
  store<u64>(e + E_TOKENS, tokens);
  if (counting) {
    store<u64>(t + T_EXCEED_PKTS, load<u64>(t + T_EXCEED_PKTS) + 1);
    store<u64>(t + T_EXCEED_BYTES, load<u64>(t + T_EXCEED_BYTES) + len);
  }
  return 0;
}
