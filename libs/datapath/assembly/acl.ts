// ACL stages (`acl` on ingress, `acl-egress` after L2/L3): ordered rule sets, first terminal
// match wins, classified by tuple-space search with tuple merging. The host compiles a rule
// set (src/acl.ts) into one block of linear memory with four classifiers: terminal
// (permit/deny) and non-terminal (count/log) rules of each direction. Rules are grouped by
// "shape" (IP version and the source and destination prefix lengths of the key), one hash
// table per shape keyed by the masked addresses; each rule's own prefixes, protocol, ports,
// ICMP fields, VNI and port are checked on the chain of rules sharing a hash. Per packet,
// candidate maps (first address bytes, protocol, version) leave the shapes that may match;
// they are probed in order of their best rule until none can hold an earlier rule than the
// match in hand; then the count/log shapes before that match, collecting every match. The
// cost follows the number of shapes a packet can match, not the number of rules. Activating
// a compiled set is one store: batches see the old set or the new one, never a mix.
import {
  D_OFF,
  D_LEN,
  D_OUT_PORT,
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
  desc,
  slotBase,
  be32,
} from './layout';
import { DROP_ACL_DENY, DROP_ACL_EGRESS_DENY } from './drops';
import { NODE_ACL, NODE_ACL_EGRESS, NODE_DROP } from './nodes';
import { now } from './l2';
import { heapAlloc, heapFree } from './heap';
import { forwardNode } from './forward';
import { tunnelOrTx } from './egress';
import { ctOrAcl, ctFromAcl } from './conntrack';

// Compiled set layout (offsets in bytes from the set's base; all little-endian).
const H_RULES: u32 = 0; // u32 number of rules
const H_RULE_OFF: u32 = 4; // u32
const H_COUNTER_OFF: u32 = 8; // u32 per rule u64 packets, u64 bytes; then ingress, egress default
const H_SAMPLE_OFF: u32 = 12; // u32 per rule: matches left before the next log record
const H_SCRATCH_OFF: u32 = 16; // u32 per log rule of one direction: a packet's sampled rules
const H_DEFAULT: u32 = 20; // u32 ingress default action, u32 egress default action
// Four classifiers, u32 shape count and u32 shape offset each, at H_CLASS + c * 8 with
// c = direction * 2 + (non-terminal ? 1 : 0).
const H_CLASS: u32 = 28;
// Four u32 offsets of the classifiers' candidate maps: u64 shape bits for IPv4 (M_V4) and
// IPv6, then one u64 per value of the first source byte (M_SRC), first destination byte
// (M_DST) and protocol (M_PROTO). Bit k stands for shape k: a classifier has at most 61
// shapes (src/acl.ts keyLength), so 64 bits hold them.
const H_MAPS: u32 = 60;
const M_V4: u32 = 0;
const M_SRC: u32 = 16;
const M_DST: u32 = 16 + 2048;
const M_PROTO: u32 = 16 + 4096;

const SHAPE_SIZE: u32 = 144;
const S_VER: u32 = 0; // u8 4 or 6
const S_MIN_PRIO: u32 = 4; // u32 best (lowest) rule index in the shape
const S_TABLE_OFF: u32 = 8; // u32
const S_TABLE_MASK: u32 = 12; // u32 slots - 1
const S_SRC_MASK: u32 = 16; // 4 x u32 key masks (host order per 32-bit word)
const S_DST_MASK: u32 = 32; // 4 x u32
// Which first address bytes and protocols the shape's rules allow (256-bit maps; the host
// builds the classifier's candidate maps, H_MAPS, from them).
const S_SRC_FIRST: u32 = 48;
const S_DST_FIRST: u32 = 80;
const S_PROTOS: u32 = 112; // 256-bit map of the protocols the shape's rules allow

const RULE_SIZE: u32 = 96;
const R_ACTION: u32 = 0; // u8
const R_L4: u32 = 1; // u8 required l4 kind (0 any)
const R_PROTO: u32 = 2; // u8
const R_EXACT: u32 = 3; // u8 bits: 1 proto, 2 vni, 4 port
const R_PORT: u32 = 4; // u16 ingress port (ingress rules) or egress port (egress rules)
const R_VNI: u32 = 8; // u32
const R_A_LO: u32 = 12; // u16 source port / ICMP type range
const R_A_HI: u32 = 14;
const R_B_LO: u32 = 16; // u16 destination port / ICMP code range
const R_B_HI: u32 = 18;
const R_NEXT: u32 = 20; // u32 next record + 1 with the same key (0: end)
const R_PRIO: u32 = 24; // u32 rule index (a rule without addresses has a record per version)
const R_SAMPLE: u32 = 28; // u32 log: one record per this many matches
// The first address words (all of IPv4) sit in the record's first 48 bytes with the fields
// above, so an IPv4 chain walk touches one or two cache lines per record.
const R_SRC: u32 = 32; // u32 source word 0, masked with the rule's own mask
const R_DST: u32 = 36; // u32
const R_SRC_MASK: u32 = 40; // u32 the rule's own masks, word 0
const R_DST_MASK: u32 = 44; // u32
const R_SRC_REST: u32 = 48; // 3 x u32 IPv6 words 1-3: source
const R_DST_REST: u32 = 60; // 3 x u32 destination
const R_SRC_MASK_REST: u32 = 72; // 3 x u32
const R_DST_MASK_REST: u32 = 84; // 3 x u32

// Hash slot: u32 key hash, u32 first record + 1 (0: empty). One slot per hash value.
const SLOT_SIZE: u32 = 8;

/** Actions (codes 0 and 1 and every code from 4 up are terminal). */
export const ACL_PERMIT: u32 = 0;
export const ACL_DENY: u32 = 1;
/** Non-terminal: counts and goes on. */
export const ACL_COUNT: u32 = 2;
/** Non-terminal: counts, writes a sampled record to the log ring and goes on. */
export const ACL_LOG: u32 = 3;
/** Terminal: permit and create the packet's connection-tracking flow (assembly/conntrack.ts). */
export const ACL_PERMIT_STATEFUL: u32 = 4;
/** Trace word A when the default action applied. */
export const ACL_TRACE_DEFAULT: u32 = 0xffffffff;

/** Directions. */
export const ACL_INGRESS: u32 = 0;
export const ACL_EGRESS: u32 = 1;

// Log ring: records the host drains with aclLogRead/aclLogClear. Bounded; records that find
// it full are counted, not written (the host reads the oldest ones first).
export const ACL_LOG_CAPACITY: u32 = 1024;
const LOG_RECORD_SIZE: u32 = 64;
const LG_RULE: u32 = 0; // u32
const LG_TIME: u32 = 4; // u32 batch time (ms)
const LG_LEN: u32 = 8; // u32 frame length
const LG_PORT: u32 = 12; // u16
const LG_DIR: u32 = 14; // u8
const LG_VER: u32 = 15; // u8
const LG_PROTO: u32 = 16; // u8
const LG_ACTION: u32 = 17; // u8 the packet's terminal action
const LG_L4: u32 = 18; // u8 l4 kind
const LG_A: u32 = 20; // u16 source port / ICMP type
const LG_B: u32 = 22; // u16 destination port / ICMP code
const LG_SRC: u32 = 32; // 16 bytes, network order (IPv4 in the first 4)
const LG_DST: u32 = 48;
let logRing: usize = 0;
let logCount: u32 = 0;
let logLost: u64 = 0;

let active: usize = 0;
let activeBytes: usize = 0;
// Ports the ACL applies to (256-bit masks): arriving packets, then leaving packets.
const boundPorts = memory.data(64, 16);

/** A block of `bytes` for the host to compile a rule set into (0 when out of memory). */
export function aclAlloc(bytes: usize): usize {
  if (packets == 0) {
    packets = heapAlloc(PKT_SIZE);
    if (packets == 0) return 0;
  }
  if (logRing == 0) {
    logRing = heapAlloc(<usize>ACL_LOG_CAPACITY * LOG_RECORD_SIZE);
    if (logRing == 0) return 0;
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

/** Applies (or not) the ACL to packets arriving on (direction 0) or leaving by (1) `port`. */
export function aclBind(port: u32, on: bool, direction: u32): void {
  if (port >= <u32>MAX_PORTS || direction > 1) return;
  const w = boundPorts + <usize>direction * 32 + <usize>(port >> 5) * 4;
  const bit = (<u32>1) << (port & 31);
  store<u32>(w, on ? load<u32>(w) | bit : load<u32>(w) & ~bit);
}

/** Address of the log ring's first record (0 before the first set). */
export function aclLogBase(): usize {
  return logRing;
}
/** Records in the log ring. */
export function aclLogCount(): u32 {
  return logCount;
}
/** Records that found the ring full, since the core started. */
export function aclLogLost(): u64 {
  return logLost;
}
/** Empties the log ring (after the host has read it). */
export function aclLogClear(): void {
  logCount = 0;
}

/** Stage after ingress policing for packet `d` arriving on `port`: conntrack/ACL, gateway, L3 or L2. */
export function afterPolicer(port: u32, d: usize): u8 {
  return aclApplies(port) ? ctOrAcl() : forwardNode(port, d);
}

function bound(port: u32, direction: u32): bool {
  return (
    (load<u32>(boundPorts + <usize>direction * 32 + <usize>(port >> 5) * 4) &
      ((<u32>1) << (port & 31))) !=
    0
  );
}

/** True when packets arriving on `port` go through the ACL stage. */
export function aclApplies(port: u32): bool {
  return active != 0 && bound(port, ACL_INGRESS);
}

/**
 * Stage for a unicast packet that L2 or L3 forwards out of `out`: the egress ACL when that
 * port is bound for egress, else encapsulation (tunnel ports) or tx.
 */
export function egressNode(out: u32): u8 {
  return active != 0 && out < <u32>MAX_PORTS && bound(out, ACL_EGRESS)
    ? NODE_ACL_EGRESS
    : tunnelOrTx(out);
}

// Classification state of the packet in hand (heap, not static data: batches must leave the
// module's static data untouched).
let packets: usize = 0; // the key block (one packet's fields)
const PKT_SIZE: u32 = 64;
const K_SRC: u32 = 0; // 4 x u32 host order
const K_DST: u32 = 16;
const K_ACTION: u32 = 36; // u32
const K_VNI: u32 = 40; // u32
const K_VER: u32 = 44; // u8 (0: not classified)
const K_PROTO: u32 = 45; // u8
const K_L4: u32 = 46; // u8
const K_HAS_VNI: u32 = 47; // u8
const K_PORT: u32 = 48; // u16
const K_A: u32 = 50; // u16
const K_B: u32 = 52; // u16

// IPv6 address words 1-3 of rule `r` against packet `k` (word 0 is checked first, inline).
function restMatches6(r: usize, k: usize): bool {
  for (let w: u32 = 1; w < 4; w++) {
    const o = <usize>w * 4;
    const q = o - 4;
    if (
      (load<u32>(k + K_SRC + o) & load<u32>(r + R_SRC_MASK_REST + q)) !=
      load<u32>(r + R_SRC_REST + q)
    )
      return false;
    if (
      (load<u32>(k + K_DST + o) & load<u32>(r + R_DST_MASK_REST + q)) !=
      load<u32>(r + R_DST_REST + q)
    )
      return false;
  }
  return true;
}

// Everything but the addresses: protocol, VNI, port, ports or ICMP fields.
function fieldsMatch(r: usize, k: usize): bool {
  const exact = <u32>load<u8>(r + R_EXACT);
  if (exact != 0) {
    if ((exact & 1) != 0 && <u32>load<u8>(k + K_PROTO) != <u32>load<u8>(r + R_PROTO)) return false;
    if (
      (exact & 2) != 0 &&
      (load<u8>(k + K_HAS_VNI) == 0 || load<u32>(k + K_VNI) != load<u32>(r + R_VNI))
    )
      return false;
    if ((exact & 4) != 0 && load<u16>(k + K_PORT) != load<u16>(r + R_PORT)) return false;
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

// The key hash of a packet for a shape: a multiply-xor chain and a last multiply, no
// finaliser; tables are indexed by its top bits (h >>> clz(mask)), which depend on every
// key bit. src/acl.ts computes the same for the rules.
function shapeHash(k: usize, s: usize, sver: u32, words: u32): u32 {
  let h: u32 = 0x811c9dc5 ^ sver;
  // IPv4 (one word) without the loop.
  h = (h ^ (load<u32>(k + K_SRC) & load<u32>(s + S_SRC_MASK))) * 0x9e3779b1;
  h = (h ^ (load<u32>(k + K_DST) & load<u32>(s + S_DST_MASK))) * 0x85ebca77;
  for (let w: u32 = 1; w < words; w++) {
    const o = <usize>w * 4;
    h = (h ^ (load<u32>(k + K_SRC + o) & load<u32>(s + S_SRC_MASK + o))) * 0x9e3779b1;
    h = (h ^ (load<u32>(k + K_DST + o) & load<u32>(s + S_DST_MASK + o))) * 0x85ebca77;
  }
  return h * 0xc2b2ae3d;
}

// A packet's fields into the key block `k` (the port is the ingress or the egress port).
// Returns the IP version, 0 for packets that are not classified.
function gatherKey(k: usize, d: usize, slot: u32, direction: u32): u32 {
  const ver = <u32>load<u8>(d + D_OUTER + L_IP_VER);
  if (ver != 4 && ver != 6) return 0;
  store<u8>(k + K_VER, <u8>ver);
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
  store<u16>(k + K_PORT, load<u16>(d + (direction == ACL_EGRESS ? D_OUT_PORT : D_IN_PORT)));
  store<u8>(k + K_L4, load<u8>(d + D_OUTER + L_L4_KIND));
  store<u16>(k + K_A, load<u16>(d + D_OUTER + L_SPORT));
  store<u16>(k + K_B, load<u16>(d + D_OUTER + L_DPORT));
  return ver;
}

// The shapes of a classifier that may hold a rule matching packet `k` (bit k: shape k).
function candidates(maps: usize, k: usize, ver: u32): u64 {
  const sf = <usize>(load<u32>(k + K_SRC) >> 24);
  const df = <usize>(load<u32>(k + K_DST) >> 24);
  const pr = <usize>load<u8>(k + K_PROTO);
  return (
    load<u64>(maps + M_V4 + (ver == 6 ? 8 : 0)) &
    load<u64>(maps + M_SRC + sf * 8) &
    load<u64>(maps + M_DST + df * 8) &
    load<u64>(maps + M_PROTO + pr * 8)
  );
}

// Probes shape `s` for packet `k`: the best rule of its chains that matches and comes before
// `best`, or `best`. Stores the new best rule and its action in the packet's state.
function probe(rules: usize, set: usize, s: usize, k: usize, ver: u32, best: u32): u32 {
  const src = load<u32>(k + K_SRC);
  const dst = load<u32>(k + K_DST);
  let h: u32 = 0x811c9dc5 ^ ver;
  h = (h ^ (src & load<u32>(s + S_SRC_MASK))) * 0x9e3779b1;
  h = (h ^ (dst & load<u32>(s + S_DST_MASK))) * 0x85ebca77;
  if (ver == 6) {
    for (let w: usize = 1; w < 4; w++) {
      h = (h ^ (load<u32>(k + K_SRC + w * 4) & load<u32>(s + S_SRC_MASK + w * 4))) * 0x9e3779b1;
      h = (h ^ (load<u32>(k + K_DST + w * 4) & load<u32>(s + S_DST_MASK + w * 4))) * 0x85ebca77;
    }
  }
  h *= 0xc2b2ae3d;
  const table = set + <usize>load<u32>(s + S_TABLE_OFF);
  const mask = load<u32>(s + S_TABLE_MASK);
  let at = h >>> clz(mask);
  for (;;) {
    const e = table + <usize>at * SLOT_SIZE;
    let ri = load<u32>(e, 4);
    if (ri == 0) break;
    if (load<u32>(e) == h) {
      // The chain holds the rules whose keys hash to h, in rule order: the first that
      // matches is the best of this shape. Address word 0 (all of IPv4) is compared here.
      while (ri != 0) {
        const r = rules + <usize>(ri - 1) * RULE_SIZE;
        const prio = load<u32>(r + R_PRIO);
        if (prio >= best) break;
        if (
          (src & load<u32>(r + R_SRC_MASK)) == load<u32>(r + R_SRC) &&
          (dst & load<u32>(r + R_DST_MASK)) == load<u32>(r + R_DST) &&
          (ver == 4 || restMatches6(r, k)) &&
          fieldsMatch(r, k)
        ) {
          best = prio;
          store<u32>(k + K_ACTION, <u32>load<u8>(r + R_ACTION));
          break;
        }
        ri = load<u32>(r + R_NEXT);
      }
      break;
    }
    at = (at + 1) & mask;
  }
  return best;
}

// fieldsMatch for an IPv4 packet read straight from its descriptor (the fast path keeps no
// key block): parsed layer, flags, VNI, and `port` (ingress or egress as the direction wants).
function fieldsMatchLayer(r: usize, d: usize, port: u32): bool {
  const exact = <u32>load<u8>(r + R_EXACT);
  if (exact != 0) {
    if ((exact & 1) != 0 && <u32>load<u8>(d + D_OUTER + L_PROTO) != <u32>load<u8>(r + R_PROTO))
      return false;
    if (
      (exact & 2) != 0 &&
      ((load<u8>(d + D_FLAGS) & (F_VXLAN | F_DECAP)) == 0 ||
        load<u32>(d + D_VNI) != load<u32>(r + R_VNI))
    )
      return false;
    if ((exact & 4) != 0 && port != <u32>load<u16>(r + R_PORT)) return false;
  }
  const need = <u32>load<u8>(r + R_L4);
  if (need != 0) {
    if (<u32>load<u8>(d + D_OUTER + L_L4_KIND) != need) return false;
    const a = <u32>load<u16>(d + D_OUTER + L_SPORT);
    const b = <u32>load<u16>(d + D_OUTER + L_DPORT);
    if (a < <u32>load<u16>(r + R_A_LO) || a > <u32>load<u16>(r + R_A_HI)) return false;
    if (b < <u32>load<u16>(r + R_B_LO) || b > <u32>load<u16>(r + R_B_HI)) return false;
  }
  return true;
}

// probe for an IPv4 packet with its addresses in hand and its fields in descriptor `d`.
// Returns the best rule (as probe) in the low word and its action in the high word.
function probe4(
  rules: usize,
  set: usize,
  s: usize,
  src: u32,
  dst: u32,
  d: usize,
  port: u32,
  best: u32,
): u64 {
  let h: u32 = 0x811c9dc5 ^ 4;
  h = (h ^ (src & load<u32>(s + S_SRC_MASK))) * 0x9e3779b1;
  h = (h ^ (dst & load<u32>(s + S_DST_MASK))) * 0x85ebca77;
  h *= 0xc2b2ae3d;
  const table = set + <usize>load<u32>(s + S_TABLE_OFF);
  const mask = load<u32>(s + S_TABLE_MASK);
  let at = h >>> clz(mask);
  for (;;) {
    const e = table + <usize>at * SLOT_SIZE;
    let ri = load<u32>(e, 4);
    if (ri == 0) break;
    if (load<u32>(e) == h) {
      while (ri != 0) {
        const r = rules + <usize>(ri - 1) * RULE_SIZE;
        const prio = load<u32>(r + R_PRIO);
        if (prio >= best) break;
        if (
          (src & load<u32>(r + R_SRC_MASK)) == load<u32>(r + R_SRC) &&
          (dst & load<u32>(r + R_DST_MASK)) == load<u32>(r + R_DST) &&
          fieldsMatchLayer(r, d, port)
        )
          return ((<u64>load<u8>(r + R_ACTION)) << 32) | (<u64>prio);
        ri = load<u32>(r + R_NEXT);
      }
      break;
    }
    at = (at + 1) & mask;
  }
  return <u64>best;
}

function countRule(counters: usize, index: u32, len: u64): void {
  const c = counters + <usize>index * 16;
  store<u64>(c, load<u64>(c) + 1);
  store<u64>(c, load<u64>(c, 8) + len, 8);
}

function writeLog(k: usize, d: usize, rule: u32, direction: u32, action: u32): void {
  if (logCount >= ACL_LOG_CAPACITY) {
    logLost++;
    return;
  }
  const r = logRing + <usize>logCount * LOG_RECORD_SIZE;
  logCount++;
  const ver = <u32>load<u8>(k + K_VER);
  store<u32>(r + LG_RULE, rule);
  store<u32>(r + LG_TIME, now);
  store<u32>(r + LG_LEN, load<u32>(d + D_LEN));
  store<u16>(r + LG_PORT, load<u16>(k + K_PORT));
  store<u8>(r + LG_DIR, <u8>direction);
  store<u8>(r + LG_VER, <u8>ver);
  store<u8>(r + LG_PROTO, load<u8>(k + K_PROTO));
  store<u8>(r + LG_ACTION, <u8>action);
  store<u8>(r + LG_L4, load<u8>(k + K_L4));
  store<u16>(r + LG_A, load<u16>(k + K_A));
  store<u16>(r + LG_B, load<u16>(k + K_B));
  for (let w: usize = 0; w < 4; w++) {
    const keep = w == 0 || ver == 6;
    store<u32>(r + LG_SRC + w * 4, keep ? bswap<u32>(load<u32>(k + K_SRC + w * 4)) : 0);
    store<u32>(r + LG_DST + w * 4, keep ? bswap<u32>(load<u32>(k + K_DST + w * 4)) : 0);
  }
}

// Trace word B: the terminal action (low byte), how many count/log rules matched before it
// (bits 8-14, at most 127), whether the first of them is a log rule (bit 15) and its index
// (high 16 bits; 0xffff: none, or past 65534).
function traceB(action: u32, ntCount: u32, ntFirst: u32, firstLogs: bool): u32 {
  return (
    (action & 0xff) |
    (min(ntCount, 127) << 8) |
    (firstLogs ? 0x8000 : 0) |
    ((ntFirst < 0xffff ? ntFirst : 0xffff) << 16)
  );
}

// Count/log rules of classifier `c` matching packet `k` before its deciding rule `best`: each
// counts; sampled log matches are kept in rule order in `scratch`. Returns how many matched,
// the first of them and whether it is a log rule (packed as traceB wants them) and the
// number of log records in the high 32 bits.
function nonTerminal(set: usize, c: u32, k: usize, ver: u32, best: u32, len: u64): u64 {
  const nShapes = load<u32>(set + H_CLASS + <usize>c * 8);
  if (nShapes == 0) return 0;
  const rules = set + <usize>load<u32>(set + H_RULE_OFF);
  const counters = set + <usize>load<u32>(set + H_COUNTER_OFF);
  const samples = set + <usize>load<u32>(set + H_SAMPLE_OFF);
  const scratch = set + <usize>load<u32>(set + H_SCRATCH_OFF);
  const shapes = set + <usize>load<u32>(set + H_CLASS + <usize>c * 8 + 4);
  const maps = set + <usize>load<u32>(set + H_MAPS + <usize>c * 4);
  const words: u32 = ver == 4 ? 1 : 4;
  let ntCount: u32 = 0;
  let ntFirst: u32 = 0xffffffff;
  let firstLogs = false;
  let logged: u32 = 0;
  // Shapes are in order of their best rule: stop at the first that starts after the match.
  let cand = candidates(maps, k, ver);
  while (cand != 0) {
    const s = shapes + <usize>ctz(cand) * SHAPE_SIZE;
    cand &= cand - 1;
    if (load<u32>(s + S_MIN_PRIO) >= best) break;
    const h = shapeHash(k, s, ver, words);
    const src = load<u32>(k + K_SRC);
    const dst = load<u32>(k + K_DST);
    const table = set + <usize>load<u32>(s + S_TABLE_OFF);
    const mask = load<u32>(s + S_TABLE_MASK);
    let at = h >>> clz(mask);
    for (;;) {
      const e = table + <usize>at * SLOT_SIZE;
      let ri = load<u32>(e, 4);
      if (ri == 0) break;
      if (load<u32>(e) == h) {
        while (ri != 0) {
          const r = rules + <usize>(ri - 1) * RULE_SIZE;
          const prio = load<u32>(r + R_PRIO);
          if (prio >= best) break;
          if (
            (src & load<u32>(r + R_SRC_MASK)) == load<u32>(r + R_SRC) &&
            (dst & load<u32>(r + R_DST_MASK)) == load<u32>(r + R_DST) &&
            (ver == 4 || restMatches6(r, k)) &&
            fieldsMatch(r, k)
          ) {
            countRule(counters, prio, len);
            ntCount++;
            const logs = <u32>load<u8>(r + R_ACTION) == ACL_LOG;
            if (prio < ntFirst) {
              ntFirst = prio;
              firstLogs = logs;
            }
            if (logs) {
              // Matches left before the next record (0: this one), so no division per match.
              const p = samples + <usize>prio * 4;
              const left = load<u32>(p);
              store<u32>(p, left == 0 ? load<u32>(r + R_SAMPLE) - 1 : left - 1);
              if (left == 0) {
                // Insertion in rule order (a packet matches few log rules).
                let j = logged;
                while (j > 0 && load<u32>(scratch + <usize>(j - 1) * 4) > prio) {
                  store<u32>(scratch + <usize>j * 4, load<u32>(scratch + <usize>(j - 1) * 4));
                  j--;
                }
                store<u32>(scratch + <usize>j * 4, prio);
                logged++;
              }
            }
          }
          ri = load<u32>(r + R_NEXT);
        }
        break;
      }
      at = (at + 1) & mask;
    }
  }
  return ((<u64>logged) << 32) | (<u64>traceB(0, ntCount, ntFirst, firstLogs));
}

// Classifies the vector packet by packet: key, candidate shapes of the terminal classifier
// probed in order of their best rule until none can beat the match in hand, then (when
// counting) the count/log rules before the match, counters, log records, verdict.
function classify(vec: usize, n: i32, direction: u32): void {
  const set = active;
  if (set == 0) {
    // The set was removed since an earlier stage chose this one: everything passes.
    for (let i: i32 = 0; i < n; i++) {
      const d = desc(<u32>load<u16>(vec + <usize>i * 2));
      store<u8>(
        d + D_NEXT,
        direction == ACL_EGRESS
          ? tunnelOrTx(<u32>load<u16>(d + D_OUT_PORT))
          : forwardNode(<u32>load<u16>(d + D_IN_PORT), d),
      );
      store<u32>(d + D_TRACE_A, ACL_TRACE_DEFAULT);
      store<u32>(d + D_TRACE_B, traceB(ACL_PERMIT, 0, 0xffffffff, false));
    }
    return;
  }
  const k = packets;
  const c = direction * 2;
  const rules = set + <usize>load<u32>(set + H_RULE_OFF);
  const nShapes = load<u32>(set + H_CLASS + <usize>c * 8);
  const ntShapes = load<u32>(set + H_CLASS + <usize>(c + 1) * 8);
  const shapes = set + <usize>load<u32>(set + H_CLASS + <usize>c * 8 + 4);
  const maps = set + <usize>load<u32>(set + H_MAPS + <usize>c * 4);
  const counters = set + <usize>load<u32>(set + H_COUNTER_OFF);
  const scratch = set + <usize>load<u32>(set + H_SCRATCH_OFF);
  const defaultSlot = load<u32>(set + H_RULES) + direction;
  const defaultAction = load<u32>(set + H_DEFAULT + <usize>direction * 4);
  for (let i: i32 = 0; i < n; i++) {
    const slot = <u32>load<u16>(vec + <usize>i * 2);
    const d = desc(slot);
    store<u8>(
      d + D_NEXT,
      direction == ACL_EGRESS
        ? tunnelOrTx(<u32>load<u16>(d + D_OUT_PORT))
        : forwardNode(<u32>load<u16>(d + D_IN_PORT), d),
    );
    if (ntShapes == 0 && nShapes != 0 && load<u8>(d + D_OUTER + L_IP_VER) == 4) {
      // IPv4 without count/log rules (the common case): the addresses in locals, the other
      // fields read from the parsed layer on the rule checks that need them, no key block.
      const ip = slotBase(slot) + load<u32>(d + D_OFF) + <usize>load<u16>(d + D_OUTER + L_L3);
      const src = be32(ip + 12);
      const dst = be32(ip + 16);
      const port = <u32>load<u16>(d + (direction == ACL_EGRESS ? D_OUT_PORT : D_IN_PORT));
      let cand =
        load<u64>(maps + M_V4) &
        load<u64>(maps + M_SRC + <usize>(src >> 24) * 8) &
        load<u64>(maps + M_DST + <usize>(dst >> 24) * 8) &
        load<u64>(maps + M_PROTO + <usize>load<u8>(d + D_OUTER + L_PROTO) * 8);
      let best: u32 = 0xffffffff;
      let action = defaultAction;
      while (cand != 0) {
        const s = shapes + <usize>ctz(cand) * SHAPE_SIZE;
        cand &= cand - 1;
        if (load<u32>(s + S_MIN_PRIO) >= best) break;
        const got = probe4(rules, set, s, src, dst, d, port, best);
        if (<u32>got != best) {
          best = <u32>got;
          action = <u32>(got >> 32);
        }
      }
      if (counting)
        countRule(counters, best == 0xffffffff ? defaultSlot : best, <u64>load<u32>(d + D_LEN));
      store<u32>(d + D_TRACE_A, best);
      store<u32>(d + D_TRACE_B, traceB(action, 0, 0xffffffff, false));
      if (action == ACL_DENY) {
        store<u8>(d + D_DROP, direction == ACL_EGRESS ? DROP_ACL_EGRESS_DENY : DROP_ACL_DENY);
        store<u8>(d + D_NEXT, NODE_DROP);
      } else if (action == ACL_PERMIT_STATEFUL) {
        ctFromAcl(d, slot);
      }
      continue;
    }
    // Non-IP packets pass unclassified.
    const ver = gatherKey(k, d, slot, direction);
    if (ver == 0) {
      store<u32>(d + D_TRACE_A, ACL_TRACE_DEFAULT);
      store<u32>(d + D_TRACE_B, traceB(ACL_PERMIT, 0, 0xffffffff, false));
      continue;
    }
    let best: u32 = 0xffffffff;
    let action = defaultAction;
    if (nShapes != 0) {
      let cand = candidates(maps, k, ver);
      while (cand != 0) {
        const s = shapes + <usize>ctz(cand) * SHAPE_SIZE;
        cand &= cand - 1;
        if (load<u32>(s + S_MIN_PRIO) >= best) break;
        best = probe(rules, set, s, k, ver, best);
      }
      if (best != 0xffffffff) action = load<u32>(k + K_ACTION);
    }
    let nt: u64 = traceB(0, 0, 0xffffffff, false);
    if (counting) {
      const len = <u64>load<u32>(d + D_LEN);
      if (ntShapes != 0) nt = nonTerminal(set, c + 1, k, ver, best, len);
      countRule(counters, best == 0xffffffff ? defaultSlot : best, len);
      const logged = <u32>(nt >> 32);
      for (let j: u32 = 0; j < logged; j++)
        writeLog(k, d, load<u32>(scratch + <usize>j * 4), direction, action);
    }
    store<u32>(d + D_TRACE_A, best);
    store<u32>(d + D_TRACE_B, ((<u32>nt) & 0xffffff00) | (action & 0xff));
    if (action == ACL_DENY) {
      store<u8>(d + D_DROP, direction == ACL_EGRESS ? DROP_ACL_EGRESS_DENY : DROP_ACL_DENY);
      store<u8>(d + D_NEXT, NODE_DROP);
    } else if (action == ACL_PERMIT_STATEFUL) {
      ctFromAcl(d, slot);
    }
  }
}

/** ACL stage: classify each packet of the vector against the active set's ingress rules. */
export function aclStage(vec: usize, n: i32): i32 {
  classify(vec, n, ACL_INGRESS);
  return n;
}

/** Egress ACL stage: unicast packets leaving by an egress-bound port, before encap/tx. */
export function aclEgressStage(vec: usize, n: i32): i32 {
  classify(vec, n, ACL_EGRESS);
  return n;
}
