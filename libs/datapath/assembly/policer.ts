// Policer stage: token buckets (rate in bytes per second, burst in bytes) bound to ingress
// ports. Tokens are kept in milli-bytes so that refills over whole milliseconds are exact
// integers (the reference does the same arithmetic); a packet conforms when the bucket holds
// its length, and is dropped (`policer`) otherwise.
import {
  D_LEN,
  D_IN_PORT,
  D_DROP,
  D_NEXT,
  D_TRACE_A,
  D_TRACE_B,
  MAX_PORTS,
  MAX_BRIDGES,
  P_BRIDGE,
  NONE16,
  desc,
  counting,
  portEntry,
} from './layout';
import { DROP_POLICER } from './drops';
import { NODE_DROP } from './nodes';
import { heapAlloc } from './heap';
import { now } from './l2';
import { afterPolicer } from './acl';
import { flowTableOf, flowPolice, flowPortCount, flowPrefetch } from './policerflow';

/** Policers the core holds (ids 0 .. MAX_POLICERS-1). */
export const MAX_POLICERS: u32 = 256;
/** Longest refill interval taken into account: the bucket is full by then for any rate. */
const MAX_ELAPSED_MS: u32 = 100000;

const POLICER_SIZE: u32 = 64;
const P_USED: u32 = 0; // u8
const P_STARTED: u32 = 1; // u8 0 until the first packet sets P_LAST
const P_RATE: u32 = 4; // u32 bytes per second
const P_BURST: u32 = 8; // u32 bytes
const P_LAST: u32 = 12; // u32 ms of the last refill
const P_TOKENS: u32 = 16; // u64 milli-bytes
const P_CONFORM_PKTS: u32 = 24; // u64 counters
const P_CONFORM_BYTES: u32 = 32;
const P_EXCEED_PKTS: u32 = 40;
const P_EXCEED_BYTES: u32 = 48;

/** Policer table (0 until the first policer is set). */
let table: usize = 0;
// Port → policer id + 1 (0: none), u16 per port; then the same per bridge.
let portMap: usize = 0;
let bridgeMap: usize = 0;
const TABLE_BYTES: usize =
  <usize>MAX_POLICERS * POLICER_SIZE + <usize>MAX_PORTS * 2 + <usize>MAX_BRIDGES * 2;

function ensure(): bool {
  if (table == 0) {
    const p = heapAlloc(TABLE_BYTES);
    if (p == 0) return false;
    table = p;
    portMap = p + <usize>MAX_POLICERS * POLICER_SIZE;
    bridgeMap = portMap + <usize>MAX_PORTS * 2;
  }
  return true;
}

function entry(id: u32): usize {
  return table + <usize>id * POLICER_SIZE;
}

/** Sets policer `id` (bucket full, counters kept when it existed). 0, or -1. */
export function policerAdd(id: u32, rate: u32, burst: u32): i32 {
  if (id >= MAX_POLICERS || !ensure()) return -1;
  const e = entry(id);
  store<u8>(e + P_USED, 1);
  store<u8>(e + P_STARTED, 0);
  store<u32>(e + P_RATE, rate);
  store<u32>(e + P_BURST, burst);
  store<u64>(e + P_TOKENS, <u64>burst * 1000);
  return 0;
}

/** Deletes policer `id` and unbinds it from every port: 0, or -1 when it was not set. */
export function policerDelete(id: u32): i32 {
  if (id >= MAX_POLICERS || table == 0 || load<u8>(entry(id) + P_USED) == 0) return -1;
  memory.fill(entry(id), 0, POLICER_SIZE);
  for (let p: u32 = 0; p < <u32>MAX_PORTS; p++)
    if (<u32>load<u16>(portMap + <usize>p * 2) == id + 1) store<u16>(portMap + <usize>p * 2, 0);
  for (let b: u32 = 0; b < <u32>MAX_BRIDGES; b++)
    if (<u32>load<u16>(bridgeMap + <usize>b * 2) == id + 1) store<u16>(bridgeMap + <usize>b * 2, 0);
  return 0;
}

/** Removes every policer and binding. */
export function policerReset(): void {
  if (table != 0) memory.fill(table, 0, TABLE_BYTES);
}

/** Charges frames bridged in `bridge` to policer `id` (id < 0: unbind). 0, or -1. */
export function policerBindBridge(bridge: u32, id: i32): i32 {
  if (bridge >= <u32>MAX_BRIDGES) return -1;
  if (id < 0) {
    if (table != 0) store<u16>(bridgeMap + <usize>bridge * 2, 0);
    return 0;
  }
  if (<u32>id >= MAX_POLICERS || table == 0 || load<u8>(entry(<u32>id) + P_USED) == 0) return -1;
  store<u16>(bridgeMap + <usize>bridge * 2, <u16>(id + 1));
  return 0;
}

/** Policer id + 1 bound to `bridge` (0: none). */
export function policerOfBridge(bridge: u32): u32 {
  return table == 0 || bridge >= <u32>MAX_BRIDGES
    ? 0
    : <u32>load<u16>(bridgeMap + <usize>bridge * 2);
}

/** True when packets arriving on `port` go through the policer stage. */
export function policerApplies(port: u32): bool {
  if (flowPortCount != 0 && flowTableOf(port) != 0) return true;
  if (table == 0) return false;
  if (load<u16>(portMap + <usize>port * 2) != 0) return true;
  const bridge = <u32>load<u16>(portEntry(port) + P_BRIDGE);
  return bridge != <u32>NONE16 && load<u16>(bridgeMap + <usize>bridge * 2) != 0;
}

/** Trace word B: the packet conformed (bit 0) to the policer of this kind (bits 1-2). */
export const POLICER_TRACE_CONFORM: u32 = 1;
export const POLICER_KIND_PORT: u32 = 0;
export const POLICER_KIND_FLOW: u32 = 2;
export const POLICER_KIND_BRIDGE: u32 = 4;

// Charges `len` bytes to policer entry `e`: true when they conform.
function charge(e: usize, len: u64): bool {
  let tokens = load<u64>(e + P_TOKENS);
  const cap = <u64>load<u32>(e + P_BURST) * 1000;
  if (load<u8>(e + P_STARTED) == 0) {
    store<u8>(e + P_STARTED, 1);
  } else {
    let elapsed = now - load<u32>(e + P_LAST);
    if (elapsed > MAX_ELAPSED_MS) elapsed = MAX_ELAPSED_MS;
    tokens += <u64>load<u32>(e + P_RATE) * <u64>elapsed;
    if (tokens > cap) tokens = cap;
  }
  store<u32>(e + P_LAST, now);
  if (tokens >= len * 1000) {
    store<u64>(e + P_TOKENS, tokens - len * 1000);
    if (counting) {
      store<u64>(e + P_CONFORM_PKTS, load<u64>(e + P_CONFORM_PKTS) + 1);
      store<u64>(e + P_CONFORM_BYTES, load<u64>(e + P_CONFORM_BYTES) + len);
    }
    return true;
  }
  store<u64>(e + P_TOKENS, tokens);
  if (counting) {
    store<u64>(e + P_EXCEED_PKTS, load<u64>(e + P_EXCEED_PKTS) + 1);
    store<u64>(e + P_EXCEED_BYTES, load<u64>(e + P_EXCEED_BYTES) + len);
  }
  return false;
}

/** Binds policer `id` to ingress `port` (id < 0: unbind). 0, or -1. */
export function policerBind(port: u32, id: i32): i32 {
  if (port >= <u32>MAX_PORTS) return -1;
  if (id < 0) {
    if (table != 0) store<u16>(portMap + <usize>port * 2, 0);
    return 0;
  }
  if (<u32>id >= MAX_POLICERS || table == 0 || load<u8>(entry(<u32>id) + P_USED) == 0) return -1;
  store<u16>(portMap + <usize>port * 2, <u16>(id + 1));
  return 0;
}

/** Address of policer `id`'s entry (0 when not set), for the host to read. */
export function policerEntryPtr(id: u32): usize {
  if (id >= MAX_POLICERS || table == 0 || load<u8>(entry(id) + P_USED) == 0) return 0;
  return entry(id);
}

/** Policer id + 1 bound to `port` (0: none). */
export function policerOfPort(port: u32): u32 {
  return table == 0 ? 0 : <u32>load<u16>(portMap + <usize>port * 2);
}

/**
 * Policer stage: charge each packet to its ingress port's policer, then to its flow's bucket
 * when the port polices flows, then to its bridge's policer; the first that exceeds drops it.
 */
export function policerStage(vec: usize, n: i32): i32 {
  if (flowPortCount != 0) flowPrefetch(vec, n);
  for (let i: i32 = 0; i < n; i++) {
    const slot = <u32>load<u16>(vec + <usize>i * 2);
    const d = desc(slot);
    const port = <u32>load<u16>(d + D_IN_PORT);
    const len = <u64>load<u32>(d + D_LEN);
    const id1 = policerOfPort(port);
    store<u32>(d + D_TRACE_A, id1 - 1);
    store<u32>(d + D_TRACE_B, POLICER_KIND_PORT | POLICER_TRACE_CONFORM);
    store<u8>(d + D_NEXT, afterPolicer(port, d));
    let kind: u32 = POLICER_KIND_PORT;
    let ok = true;
    if (id1 != 0) ok = charge(entry(id1 - 1), len);
    const ft = flowTableOf(port);
    if (ok && ft != 0) {
      const r = flowPolice(ft, i, len, now);
      if (r != 2) {
        kind = POLICER_KIND_FLOW;
        ok = r == 1;
        store<u32>(d + D_TRACE_A, port);
      }
    }
    const bridge = <u32>load<u16>(portEntry(port) + P_BRIDGE);
    const bid1 = bridge == <u32>NONE16 ? 0 : policerOfBridge(bridge);
    if (ok && bid1 != 0) {
      kind = POLICER_KIND_BRIDGE;
      ok = charge(entry(bid1 - 1), len);
      store<u32>(d + D_TRACE_A, bid1 - 1);
    }
    store<u32>(d + D_TRACE_B, kind | (ok ? POLICER_TRACE_CONFORM : 0));
    if (!ok) {
      store<u8>(d + D_DROP, DROP_POLICER);
      store<u8>(d + D_NEXT, NODE_DROP);
    }
  }
  return n;
}
