// The stage graph: registry (names, next stages), dispatcher, tx/drop stages and trace.
import {
  D_LEN,
  D_IN_PORT,
  D_OUT_PORT,
  D_BRIDGE,
  D_VERDICT,
  D_DROP,
  D_NEXT,
  D_TRACE_ID,
  D_TRACE_A,
  D_TRACE_B,
  P_KIND,
  B_FLOOD_MASK,
  MAX_PORTS,
  NONE16,
  V_FORWARD,
  V_FLOOD,
  V_DROP,
  PORT_KIND_PHYS,
  C_TX_PKTS,
  C_TX_BYTES,
  C_PORT_DROPS,
  TRACE_RECORD_SIZE,
  TRACE_CAPACITY,
  poolSlots,
  vectorCapacity,
  inputVectorBase,
  nodeVectorsBase,
  nodeCountsBase,
  traceBase,
  desc,
  portEntry,
  bridgeEntry,
  countPort,
  countDrop,
  countStage,
  setCounting,
} from './layout';
import { DROP_BAD_DESCRIPTOR } from './drops';
import {
  NODE_PARSE,
  NODE_VXLAN_DECAP,
  NODE_POLICER,
  NODE_CONNTRACK,
  NODE_ACL,
  NODE_GATEWAY,
  NODE_L2,
  NODE_L3,
  NODE_L3V6,
  NODE_ACL_EGRESS,
  NODE_VXLAN_ENCAP,
  NODE_TX,
  NODE_DROP,
  NODE_COUNT,
} from './nodes';
import { parseStage } from './parse';
import { l2Stage, setNow } from './l2';
import { vxlanDecapStage, vxlanEncapStage } from './vxlan';
import { l3Stage } from './l3';
import { l3v6Stage } from './l3v6';
import { aclStage, aclEgressStage } from './acl';
import { policerStage } from './policer';
import { conntrackStage } from './conntrack';
import { gatewayStage } from './gateway';

/** stageMask bit: run without touching any counter (inspection, e.g. `opictl pcap parse`). */
export const NO_COUNTERS: u32 = 0x80000000;

const S_VECTORS: u32 = 0;
const S_PACKETS: u32 = 1;
const S_DROPS: u32 = 2;

/** Name of node `id` ('' past the last node). */
export function nodeName(id: i32): string {
  switch (id) {
    case NODE_PARSE:
      return 'parse';
    case NODE_VXLAN_DECAP:
      return 'vxlan-decap';
    case NODE_POLICER:
      return 'policer';
    case NODE_CONNTRACK:
      return 'conntrack';
    case NODE_ACL:
      return 'acl';
    case NODE_GATEWAY:
      return 'gateway';
    case NODE_L2:
      return 'l2';
    case NODE_L3:
      return 'l3';
    case NODE_L3V6:
      return 'l3v6';
    case NODE_ACL_EGRESS:
      return 'acl-egress';
    case NODE_VXLAN_ENCAP:
      return 'vxlan-encap';
    case NODE_TX:
      return 'tx';
    case NODE_DROP:
      return 'drop';
    default:
      return '';
  }
}

/** Comma-separated names of the stages node `id` may hand a packet to. */
export function nodeNextNames(id: i32): string {
  switch (id) {
    case NODE_PARSE:
      return 'vxlan-decap,policer,conntrack,acl,gateway,l2,l3,drop';
    case NODE_VXLAN_DECAP:
      return 'policer,conntrack,acl,gateway,l2,l3,drop';
    case NODE_POLICER:
      return 'conntrack,acl,gateway,l2,l3,drop';
    case NODE_CONNTRACK:
      return 'acl,gateway,l2,l3';
    case NODE_ACL:
      return 'gateway,l2,l3,drop';
    case NODE_GATEWAY:
      return 'l2,vxlan-encap,tx';
    case NODE_L2:
      return 'acl-egress,vxlan-encap,tx,drop';
    case NODE_L3:
      return 'l3v6,acl-egress,vxlan-encap,tx,drop';
    case NODE_L3V6:
      return 'acl-egress,vxlan-encap,tx,drop';
    case NODE_ACL_EGRESS:
      return 'vxlan-encap,tx,drop';
    case NODE_VXLAN_ENCAP:
      return 'tx,drop';
    default:
      return '';
  }
}

function txStage(vec: usize, n: i32): i32 {
  for (let i: i32 = 0; i < n; i++) {
    const d = desc(<u32>load<u16>(vec + <usize>i * 2));
    const len = <u64>load<u32>(d + D_LEN);
    const verdict = load<u8>(d + D_VERDICT);
    // Trace: B the verdict, A the egress port (forward) or the copies sent (flood).
    store<u32>(d + D_TRACE_B, <u32>verdict);
    if (verdict == V_FORWARD) {
      const out = <u32>load<u16>(d + D_OUT_PORT);
      countPort(out, C_TX_PKTS, 1);
      countPort(out, C_TX_BYTES, len);
      store<u32>(d + D_TRACE_A, out);
    } else if (verdict == V_FLOOD) {
      const inPort = <u32>load<u16>(d + D_IN_PORT);
      const mask = bridgeEntry(<u32>load<u16>(d + D_BRIDGE)) + 16;
      let sent: u32 = 0;
      for (let w: u32 = 0; w < <u32>MAX_PORTS / 64; w++) {
        let bits = load<u64>(mask + w * 8);
        while (bits != 0) {
          const p = w * 64 + <u32>ctz(bits);
          bits &= bits - 1;
          if (p == inPort || load<u8>(portEntry(p) + P_KIND) != PORT_KIND_PHYS) continue;
          countPort(p, C_TX_PKTS, 1);
          countPort(p, C_TX_BYTES, len);
          sent++;
        }
      }
      store<u32>(d + D_TRACE_A, sent);
    }
    store<u8>(d + D_NEXT, 0xff);
  }
  return n;
}

function dropStage(vec: usize, n: i32): i32 {
  for (let i: i32 = 0; i < n; i++) {
    const d = desc(<u32>load<u16>(vec + <usize>i * 2));
    const reason = <u32>load<u8>(d + D_DROP);
    store<u8>(d + D_VERDICT, V_DROP);
    store<u16>(d + D_OUT_PORT, NONE16);
    countDrop(reason);
    if (reason != DROP_BAD_DESCRIPTOR) countPort(<u32>load<u16>(d + D_IN_PORT), C_PORT_DROPS, 1);
    store<u32>(d + D_TRACE_A, reason);
    store<u8>(d + D_NEXT, 0xff);
  }
  return n;
}

function runStage(node: i32, vec: usize, n: i32): i32 {
  switch (node) {
    case NODE_PARSE:
      return parseStage(vec, n);
    case NODE_VXLAN_DECAP:
      return vxlanDecapStage(vec, n);
    case NODE_POLICER:
      return policerStage(vec, n);
    case NODE_CONNTRACK:
      return conntrackStage(vec, n);
    case NODE_ACL:
      return aclStage(vec, n);
    case NODE_GATEWAY:
      return gatewayStage(vec, n);
    case NODE_L2:
      return l2Stage(vec, n);
    case NODE_L3:
      return l3Stage(vec, n);
    case NODE_L3V6:
      return l3v6Stage(vec, n);
    case NODE_ACL_EGRESS:
      return aclEgressStage(vec, n);
    case NODE_VXLAN_ENCAP:
      return vxlanEncapStage(vec, n);
    case NODE_TX:
      return txStage(vec, n);
    case NODE_DROP:
      return dropStage(vec, n);
    default:
      return 0;
  }
}

// Trace state.
let traceRemaining: u32 = 0;
let traceSeq: u32 = 0;
let traceCount: u32 = 0;
let traceLost: u32 = 0;

/** Traces the next `packets` packets; clears earlier records. */
export function traceStart(packets: u32): void {
  traceRemaining = packets;
  traceCount = 0;
  traceLost = 0;
}
/** Number of trace records gathered. */
export function traceRecords(): u32 {
  return traceCount;
}
/** Records dropped because the trace ring was full. */
export function traceLostRecords(): u32 {
  return traceLost;
}
/** Forgets the gathered records (tracing of remaining packets goes on). */
export function traceClear(): void {
  traceCount = 0;
  traceLost = 0;
}

function traceRecord(d: usize, node: i32): void {
  if (traceCount >= TRACE_CAPACITY) {
    traceLost++;
    return;
  }
  const r = traceBase + <usize>traceCount * TRACE_RECORD_SIZE;
  store<u32>(r, load<u32>(d + D_TRACE_ID));
  store<u8>(r + 4, <u8>node);
  store<u8>(r + 5, load<u8>(d + D_NEXT));
  store<u8>(r + 6, load<u8>(d + D_DROP));
  store<u8>(r + 7, load<u8>(d + D_VERDICT));
  store<u32>(r + 8, load<u32>(d + D_TRACE_A));
  store<u32>(r + 12, load<u32>(d + D_TRACE_B));
  traceCount++;
}

function vectorOf(node: i32): usize {
  return nodeVectorsBase + <usize>node * vectorCapacity * 2;
}

/**
 * Runs `n` packets whose slot indices are at the input vector through the stages enabled in
 * `stageMask` (bit per node id), entering the graph at `startNode` (normally parse; the host
 * injects flood replicas at vxlan-encap). Returns `n`, or -1 when an argument or a slot index
 * is out of range.
 */
export function process(n: i32, nowMs: u32, stageMask: u32, startNode: i32): i32 {
  if (n < 0 || <u32>n > vectorCapacity || startNode < 0 || startNode >= NODE_COUNT) return -1;
  for (let i: i32 = 0; i < n; i++)
    if (<u32>load<u16>(inputVectorBase + <usize>i * 2) >= poolSlots) return -1;
  setNow(nowMs);
  setCounting((stageMask & NO_COUNTERS) == 0);
  for (let k: i32 = 0; k < NODE_COUNT; k++) store<u32>(nodeCountsBase + <usize>k * 4, 0);
  memory.copy(vectorOf(startNode), inputVectorBase, <usize>n * 2);
  store<u32>(nodeCountsBase + <usize>startNode * 4, <u32>n);
  // Whether any packet of this batch is traced: when none is, the dispatcher never looks at
  // the trace ids.
  let traced = false;
  for (let i: i32 = 0; i < n; i++) {
    const d = desc(<u32>load<u16>(inputVectorBase + <usize>i * 2));
    if (traceRemaining > 0) {
      traceRemaining--;
      store<u32>(d + D_TRACE_ID, ++traceSeq);
      traced = true;
    } else {
      store<u32>(d + D_TRACE_ID, 0);
    }
  }
  for (let node: i32 = 0; node < NODE_COUNT; node++) {
    const count = <i32>load<u32>(nodeCountsBase + <usize>node * 4);
    if (count == 0 || (stageMask & ((<u32>1) << node)) == 0) continue;
    const vec = vectorOf(node);
    runStage(node, vec, count);
    countStage(<u32>node, S_VECTORS, 1);
    countStage(<u32>node, S_PACKETS, <u64>count);
    if (traced) {
      for (let i: i32 = 0; i < count; i++) {
        const d = desc(<u32>load<u16>(vec + <usize>i * 2));
        if (load<u32>(d + D_TRACE_ID) != 0) traceRecord(d, node);
      }
    }
    if (node == NODE_TX || node == NODE_DROP) continue;
    // Append each packet to its successor's vector. Packets mostly go where their neighbour
    // went, so the successor's vector and fill level stay in locals until it changes (a
    // fill level kept in memory makes a store-to-load chain through the whole vector).
    let cur: i32 = -1;
    let curVec: usize = 0;
    let curCount: u32 = 0;
    let drops: u64 = 0;
    for (let i: i32 = 0; i < count; i++) {
      const slot = load<u16>(vec + <usize>i * 2);
      const d = desc(<u32>slot);
      let next = <i32>load<u8>(d + D_NEXT);
      if (next <= node || next >= NODE_COUNT) {
        // A stage named an impossible successor: drop rather than loop.
        store<u8>(d + D_DROP, DROP_BAD_DESCRIPTOR);
        next = NODE_DROP;
      }
      if (next == NODE_DROP) drops++;
      if (next != cur) {
        if (cur >= 0) store<u32>(nodeCountsBase + <usize>cur * 4, curCount);
        cur = next;
        curVec = vectorOf(next);
        curCount = load<u32>(nodeCountsBase + <usize>next * 4);
      }
      store<u16>(curVec + <usize>curCount * 2, slot);
      curCount++;
    }
    if (cur >= 0) store<u32>(nodeCountsBase + <usize>cur * 4, curCount);
    if (drops != 0) countStage(<u32>node, S_DROPS, drops);
  }
  return n;
}

export { NODE_COUNT };
