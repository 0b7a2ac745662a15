// L2 stage: per-bridge learning (with moves), unicast forwarding and rate-limited flooding.
import {
  D_OFF,
  D_IN_PORT,
  D_OUT_PORT,
  D_BRIDGE,
  D_VERDICT,
  D_DROP,
  D_NEXT,
  D_TRACE_A,
  D_TRACE_B,
  P_BRIDGE,
  B_USED,
  B_FLOOD_LIMIT,
  B_WINDOW_START,
  B_WINDOW_COUNT,
  NONE16,
  V_FORWARD,
  V_FLOOD,
  C_LEARNED,
  C_MOVES,
  C_FLOODS,
  C_FLOOD_DROPS,
  C_FORWARDS,
  C_LEARN_FAILED,
  desc,
  slotBase,
  portEntry,
  bridgeEntry,
  countBridge,
  be16,
  be32,
} from './layout';
import {
  DROP_PORT_NOT_IN_BRIDGE,
  DROP_SRC_MAC_MULTICAST,
  DROP_SAME_PORT,
  DROP_EGRESS_NOT_IN_BRIDGE,
  DROP_FLOOD_LIMIT,
} from './drops';
import { NODE_DROP, NODE_TX } from './nodes';
import { egressNode } from './acl';
import { macFind, macAdd, entryPort, entryIsStatic, entrySetPort, entryTouch } from './mactable';

/** Time of the running batch. */
export let now: u32 = 0;
/** Sets the batch time (ms, modulo 2^32) used for learning and flood windows. */
export function setNow(t: u32): void {
  now = t;
}

/** Flood-limit window length in ms. */
export const FLOOD_WINDOW_MS: u32 = 1000;

function macKey(bridge: u32, p: usize): u64 {
  return ((<u64>bridge) << 48) | ((<u64>be16(p)) << 32) | (<u64>be32(p + 2));
}

/** Trace word for a destination lookup miss. */
export const L2_TRACE_MISS: u32 = 0xffff;

/** L2 stage: learn the source, then forward, flood or drop each packet of the vector. */
export function l2Stage(vec: usize, n: i32): i32 {
  for (let i: i32 = 0; i < n; i++) {
    const slot = <u32>load<u16>(vec + <usize>i * 2);
    const d = desc(slot);
    const f = slotBase(slot) + load<u32>(d + D_OFF);
    const inPort = <u32>load<u16>(d + D_IN_PORT);
    const bridge = <u32>load<u16>(portEntry(inPort) + P_BRIDGE);
    store<u16>(d + D_OUT_PORT, NONE16);
    store<u32>(d + D_TRACE_A, bridge);
    store<u32>(d + D_TRACE_B, L2_TRACE_MISS);
    if (bridge == <u32>NONE16 || load<u8>(bridgeEntry(bridge) + B_USED) == 0) {
      store<u8>(d + D_DROP, DROP_PORT_NOT_IN_BRIDGE);
      store<u8>(d + D_NEXT, NODE_DROP);
      continue;
    }
    store<u16>(d + D_BRIDGE, <u16>bridge);
    if ((load<u8>(f + 6) & 1) != 0) {
      store<u8>(d + D_DROP, DROP_SRC_MAC_MULTICAST);
      store<u8>(d + D_NEXT, NODE_DROP);
      continue;
    }
    const srcKey = macKey(bridge, f + 6);
    const se = macFind(srcKey);
    if (se == 0) {
      if (macAdd(srcKey, inPort, 0, now) < 0) countBridge(bridge, C_LEARN_FAILED, 1);
      else countBridge(bridge, C_LEARNED, 1);
    } else if (!entryIsStatic(se)) {
      if (entryPort(se) != inPort) {
        entrySetPort(se, inPort);
        countBridge(bridge, C_MOVES, 1);
      }
      entryTouch(se, now);
    }
    let flood = (load<u8>(f) & 1) != 0;
    if (!flood) {
      const de = macFind(macKey(bridge, f));
      if (de == 0) {
        flood = true;
      } else {
        const out = entryPort(de);
        store<u32>(d + D_TRACE_B, out);
        if (out == inPort) {
          store<u8>(d + D_DROP, DROP_SAME_PORT);
          store<u8>(d + D_NEXT, NODE_DROP);
          continue;
        }
        // An entry can outlive its port's membership (port moved or removed): never forward
        // out of the bridge.
        if (<u32>load<u16>(portEntry(out) + P_BRIDGE) != bridge) {
          store<u8>(d + D_DROP, DROP_EGRESS_NOT_IN_BRIDGE);
          store<u8>(d + D_NEXT, NODE_DROP);
          continue;
        }
        countBridge(bridge, C_FORWARDS, 1);
        store<u16>(d + D_OUT_PORT, <u16>out);
        store<u8>(d + D_VERDICT, V_FORWARD);
        store<u8>(d + D_NEXT, egressNode(out));
        continue;
      }
    }
    const be = bridgeEntry(bridge);
    const limit = load<u32>(be + B_FLOOD_LIMIT);
    if (limit != 0) {
      if (now - load<u32>(be + B_WINDOW_START) >= FLOOD_WINDOW_MS) {
        store<u32>(be + B_WINDOW_START, now);
        store<u32>(be + B_WINDOW_COUNT, 0);
      }
      const used = load<u32>(be + B_WINDOW_COUNT);
      if (used >= limit) {
        countBridge(bridge, C_FLOOD_DROPS, 1);
        store<u8>(d + D_DROP, DROP_FLOOD_LIMIT);
        store<u8>(d + D_NEXT, NODE_DROP);
        continue;
      }
      store<u32>(be + B_WINDOW_COUNT, used + 1);
    }
    countBridge(bridge, C_FLOODS, 1);
    store<u8>(d + D_VERDICT, V_FLOOD);
    store<u8>(d + D_NEXT, NODE_TX);
  }
  return n;
}
