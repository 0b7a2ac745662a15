// ACL stage: ordered rule sets, first match wins, classified by tuple-space search. The host
// compiles a rule set (src/acl.ts) into one block of linear memory: rules grouped by "shape"
// (IP version, source and destination prefix lengths, whether the protocol is given), one
// hash table per shape keyed by the masked addresses and protocol; ports, ICMP fields, VNI
// and ingress port are checked on the chain of rules sharing a key. A packet probes each shape once, in order of the shape's best
// rule, and stops as soon as no remaining shape can hold an earlier rule, so its cost follows
// the number of shapes, not of rules. Activating a compiled set is one store: batches see
// the old set or the new one, never a mix.
import {
  D_OFF,
  D_IN_PORT,
  D_VNI,
  D_FLAGS,
  D_DROP,
  D_NEXT,
  D_TRACE_A,
  D_TRACE_B,
  D_OUTER,
  L_L3,
  L_IP_VER,
  L_PROTO,
  L_L4_KIND,
  L_SPORT,
  L_DPORT,
  F_VXLAN,
  F_DECAP,
  MAX_PORTS,
  counting,
  vectorCapacity,
  desc,
  slotBase,
  be32,
} from './layout';
import { DROP_ACL_DENY } from './drops';
import { NODE_DROP } from './nodes';
import { heapAlloc, heapFree } from './heap';
import { forwardNode } from './forward';
import { ctOrAcl, ctFromAcl } from './conntrack';

// Compiled set layout (offsets in bytes from the set's base; all little-endian).
const H_SHAPES: u32 = 0; // u32 number of shapes
const H_RULES: u32 = 4; // u32 number of rules (counters: one per rule, then the default's)
const H_DEFAULT: u32 = 8; // u32 default action
const H_SHAPE_OFF: u32 = 12; // u32
const H_RULE_OFF: u32 = 16; // u32
const H_COUNTER_OFF: u32 = 20; // u32 u64 hits per rule, then the default's

const SHAPE_SIZE: u32 = 112;
const S_VER: u32 = 0; // u8 4 or 6
const S_PROTO_EXACT: u32 = 1; // u8 1: the protocol is part of the key
const S_MIN_PRIO: u32 = 4; // u32 best (lowest) rule index in the shape
const S_TABLE_OFF: u32 = 8; // u32
const S_TABLE_MASK: u32 = 12; // u32 slots - 1
const S_SRC_MASK: u32 = 16; // 4 x u32 key masks (host order per 32-bit word)
const S_DST_MASK: u32 = 32; // 4 x u32
// Which first address bytes the shape's keys have (256-bit maps; all set when the prefix is
// shorter than 8 bits): a packet whose bytes are absent skips the shape without hashing.
const S_SRC_FIRST: u32 = 48;
const S_DST_FIRST: u32 = 80;

const RULE_SIZE: u32 = 96;
const R_ACTION: u32 = 0; // u8
const R_L4: u32 = 1; // u8 required l4 kind (0 any)
const R_PROTO: u32 = 2; // u8
const R_EXACT: u32 = 3; // u8 bits: 1 proto, 2 vni, 4 in port
const R_IN_PORT: u32 = 4; // u16
const R_VNI: u32 = 8; // u32
const R_A_LO: u32 = 12; // u16 source port / ICMP type range
const R_A_HI: u32 = 14;
const R_B_LO: u32 = 16; // u16 destination port / ICMP code range
const R_B_HI: u32 = 18;
const R_NEXT: u32 = 20; // u32 next record + 1 with the same key (0: end)
const R_PRIO: u32 = 24; // u32 rule index (a rule without addresses has a record per version)
const R_SRC: u32 = 32; // 4 x u32 masked with the rule's own mask
const R_DST: u32 = 48;
const R_SRC_MASK: u32 = 64; // 4 x u32 the rule's own masks
const R_DST_MASK: u32 = 80;

// Hash slot: u32 key hash, u32 first rule index + 1 (0: empty).
const SLOT_SIZE: u32 = 8;

/** Actions. */
export const ACL_PERMIT: u32 = 0;
export const ACL_DENY: u32 = 1;
/** Permit and create the packet's connection-tracking flow (assembly/conntrack.ts). */
export const ACL_PERMIT_STATEFUL: u32 = 2;
/** Trace word A when the default action applied. */
export const ACL_TRACE_DEFAULT: u32 = 0xffffffff;

let active: usize = 0;
let activeBytes: usize = 0;
// Ingress ports the ACL applies to (256-bit mask).
const boundPorts = memory.data(32, 16);

/** A block of `bytes` for the host to compile a rule set into (0 when out of memory). */
export function aclAlloc(bytes: usize): usize {
  if (packets == 0) {
    packets = heapAlloc(<usize>vectorCapacity * PKT_SIZE);
    if (packets == 0) return 0;
  }
  return heapAlloc(bytes);
}

/** Makes the set at `p` (from aclAlloc, `bytes` long) the active one; frees the previous. */
export function aclActivate(p: usize, bytes: usize): void {
  const old = active;
  const oldBytes = activeBytes;
  active = p;
  activeBytes = bytes;
  heapFree(old, oldBytes);
}

/** Removes the active set: no packet is classified. */
export function aclClear(): void {
  aclActivate(0, 0);
}

/** Address of the active set (0: none), for the host to read counters. */
export function aclActive(): usize {
  return active;
}

/** Applies (or not) the ACL to packets arriving on `port`. */
export function aclBind(port: u32, on: bool): void {
  if (port >= <u32>MAX_PORTS) return;
  const w = boundPorts + <usize>(port >> 5) * 4;
  const bit = (<u32>1) << (port & 31);
  store<u32>(w, on ? load<u32>(w) | bit : load<u32>(w) & ~bit);
}

/** Stage after ingress policing for packet `d` arriving on `port`: conntrack/ACL, gateway, L3 or L2. */
export function afterPolicer(port: u32, d: usize): u8 {
  return aclApplies(port) ? ctOrAcl() : forwardNode(port, d);
}

/** True when packets arriving on `port` go through the ACL stage. */
export function aclApplies(port: u32): bool {
  return (
    active != 0 && (load<u32>(boundPorts + <usize>(port >> 5) * 4) & ((<u32>1) << (port & 31))) != 0
  );
}

function fmix32(x: u32): u32 {
  x ^= x >> 16;
  x *= 0x85ebca6b;
  x ^= x >> 13;
  x *= 0xc2b2ae35;
  x ^= x >> 16;
  return x;
}

// Per-packet classification state for one vector (heap, not static data: batches must leave
// the module's static data untouched). Shapes are probed shape by shape across the whole
// vector, so each shape's fields stay in registers and the probes of different packets
// overlap in memory.
let packets: usize = 0;
const PKT_SIZE: u32 = 64;
const K_SRC: u32 = 0; // 4 x u32 host order
const K_DST: u32 = 16;
const K_BEST: u32 = 32; // u32 best rule so far (0xffffffff: none)
const K_ACTION: u32 = 36; // u32
const K_VNI: u32 = 40; // u32
const K_VER: u32 = 44; // u8 (0: not classified)
const K_PROTO: u32 = 45; // u8
const K_L4: u32 = 46; // u8
const K_HAS_VNI: u32 = 47; // u8
const K_PORT: u32 = 48; // u16
const K_A: u32 = 50; // u16
const K_B: u32 = 52; // u16

function ruleMatches(r: usize, k: usize, words: u32): bool {
  for (let w: u32 = 0; w < words; w++) {
    const o = <usize>w * 4;
    if ((load<u32>(k + K_SRC + o) & load<u32>(r + R_SRC_MASK + o)) != load<u32>(r + R_SRC + o))
      return false;
    if ((load<u32>(k + K_DST + o) & load<u32>(r + R_DST_MASK + o)) != load<u32>(r + R_DST + o))
      return false;
  }
  const exact = <u32>load<u8>(r + R_EXACT);
  if (exact != 0) {
    if ((exact & 1) != 0 && <u32>load<u8>(k + K_PROTO) != <u32>load<u8>(r + R_PROTO)) return false;
    if (
      (exact & 2) != 0 &&
      (load<u8>(k + K_HAS_VNI) == 0 || load<u32>(k + K_VNI) != load<u32>(r + R_VNI))
    )
      return false;
    if ((exact & 4) != 0 && load<u16>(k + K_PORT) != load<u16>(r + R_IN_PORT)) return false;
  }
  const need = <u32>load<u8>(r + R_L4);
  if (need != 0) {
    if (<u32>load<u8>(k + K_L4) != need) return false;
    const a = <u32>load<u16>(k + K_A);
    const b = <u32>load<u16>(k + K_B);
    if (a < <u32>load<u16>(r + R_A_LO) || a > <u32>load<u16>(r + R_A_HI)) return false;
    if (b < <u32>load<u16>(r + R_B_LO) || b > <u32>load<u16>(r + R_B_HI)) return false;
  }
  return true;
}

/** ACL stage: classify each packet of the vector against the active set. */
export function aclStage(vec: usize, n: i32): i32 {
  const set = active;
  // Pass 1: every packet's fields.
  for (let i: i32 = 0; i < n; i++) {
    const slot = <u32>load<u16>(vec + <usize>i * 2);
    const d = desc(slot);
    const port = <u32>load<u16>(d + D_IN_PORT);
    const ver = <u32>load<u8>(d + D_OUTER + L_IP_VER);
    store<u32>(d + D_TRACE_A, ACL_TRACE_DEFAULT);
    store<u32>(d + D_TRACE_B, ACL_PERMIT);
    store<u8>(d + D_NEXT, forwardNode(port, d));
    if (set == 0) continue;
    const k = packets + <usize>i * PKT_SIZE;
    store<u32>(k + K_BEST, 0xffffffff);
    store<u32>(k + K_ACTION, load<u32>(set + H_DEFAULT));
    // Only IP packets are classified; the set was removed since parse chose this stage.
    store<u8>(k + K_VER, ver == 4 || ver == 6 ? <u8>ver : 0);
    if (ver != 4 && ver != 6) continue;
    const ip = slotBase(slot) + load<u32>(d + D_OFF) + <usize>load<u16>(d + D_OUTER + L_L3);
    if (ver == 4) {
      store<u32>(k + K_SRC, be32(ip + 12));
      store<u32>(k + K_DST, be32(ip + 16));
    } else {
      for (let w: usize = 0; w < 4; w++) {
        store<u32>(k + K_SRC + w * 4, be32(ip + 8 + w * 4));
        store<u32>(k + K_DST + w * 4, be32(ip + 24 + w * 4));
      }
    }
    const hasVni = (load<u8>(d + D_FLAGS) & (F_VXLAN | F_DECAP)) != 0;
    store<u8>(k + K_PROTO, load<u8>(d + D_OUTER + L_PROTO));
    store<u8>(k + K_HAS_VNI, hasVni ? 1 : 0);
    store<u32>(k + K_VNI, hasVni ? load<u32>(d + D_VNI) : 0);
    store<u16>(k + K_PORT, <u16>port);
    store<u8>(k + K_L4, load<u8>(d + D_OUTER + L_L4_KIND));
    store<u16>(k + K_A, load<u16>(d + D_OUTER + L_SPORT));
    store<u16>(k + K_B, load<u16>(d + D_OUTER + L_DPORT));
  }
  if (set == 0) return n;
  // Pass 2: shape by shape, in order of their best rule, over the packets still open to it.
  const shapes = set + <usize>load<u32>(set + H_SHAPE_OFF);
  const rules = set + <usize>load<u32>(set + H_RULE_OFF);
  const nShapes = load<u32>(set + H_SHAPES);
  for (let sk: u32 = 0; sk < nShapes; sk++) {
    const s = shapes + <usize>sk * SHAPE_SIZE;
    const minPrio = load<u32>(s + S_MIN_PRIO);
    const sver = <u32>load<u8>(s + S_VER);
    const words: u32 = sver == 4 ? 1 : 4;
    const protoExact = load<u8>(s + S_PROTO_EXACT) != 0;
    const table = set + <usize>load<u32>(s + S_TABLE_OFF);
    const mask = load<u32>(s + S_TABLE_MASK);
    for (let i: i32 = 0; i < n; i++) {
      const k = packets + <usize>i * PKT_SIZE;
      // No rule of this shape can beat the match in hand (or the packet is not of its version).
      if (<u32>load<u8>(k + K_VER) != sver || load<u32>(k + K_BEST) <= minPrio) continue;
      const sf = load<u32>(k + K_SRC) >> 24;
      const df = load<u32>(k + K_DST) >> 24;
      if ((load<u32>(s + S_SRC_FIRST + <usize>(sf >> 5) * 4) & ((<u32>1) << (sf & 31))) == 0)
        continue;
      if ((load<u32>(s + S_DST_FIRST + <usize>(df >> 5) * 4) & ((<u32>1) << (df & 31))) == 0)
        continue;
      // Multiply-xor chain, one finaliser at the end: cheaper than a finaliser per word.
      let h: u32 = 0x811c9dc5 ^ sver;
      for (let w: u32 = 0; w < words; w++) {
        const o = <usize>w * 4;
        h = (h ^ (load<u32>(k + K_SRC + o) & load<u32>(s + S_SRC_MASK + o))) * 0x9e3779b1;
        h = (h ^ (load<u32>(k + K_DST + o) & load<u32>(s + S_DST_MASK + o))) * 0x85ebca77;
      }
      h = fmix32((h ^ (protoExact ? <u32>load<u8>(k + K_PROTO) : 0)) * 0xc2b2ae3d);
      let best = load<u32>(k + K_BEST);
      let at = h & mask;
      for (;;) {
        const e = table + <usize>at * SLOT_SIZE;
        const head = load<u32>(e, 4);
        if (head == 0) break;
        if (load<u32>(e) == h) {
          // The chain holds the rules of one key in rule order: the first that matches is
          // the best of this key.
          let ri = head;
          while (ri != 0) {
            const r = rules + <usize>(ri - 1) * RULE_SIZE;
            const prio = load<u32>(r + R_PRIO);
            if (prio >= best) break;
            if (ruleMatches(r, k, words)) {
              best = prio;
              store<u32>(k + K_BEST, prio);
              store<u32>(k + K_ACTION, <u32>load<u8>(r + R_ACTION));
              break;
            }
            ri = load<u32>(r + R_NEXT);
          }
        }
        at = (at + 1) & mask;
      }
    }
  }
  // Pass 3: count and act.
  const counters = set + <usize>load<u32>(set + H_COUNTER_OFF);
  const nRules = load<u32>(set + H_RULES);
  for (let i: i32 = 0; i < n; i++) {
    const k = packets + <usize>i * PKT_SIZE;
    if (load<u8>(k + K_VER) == 0) continue;
    const slot = <u32>load<u16>(vec + <usize>i * 2);
    const d = desc(slot);
    const best = load<u32>(k + K_BEST);
    const action = load<u32>(k + K_ACTION);
    const c = counters + <usize>(best == 0xffffffff ? nRules : best) * 8;
    if (counting) store<u64>(c, load<u64>(c) + 1);
    store<u32>(d + D_TRACE_A, best);
    store<u32>(d + D_TRACE_B, action);
    if (action == ACL_DENY) {
      store<u8>(d + D_DROP, DROP_ACL_DENY);
      store<u8>(d + D_NEXT, NODE_DROP);
    } else if (action == ACL_PERMIT_STATEFUL) {
      ctFromAcl(d, slot);
    }
  }
  return n;
}
