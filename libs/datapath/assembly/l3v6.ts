// l3v6 stage: IPv6 routing for packets that arrive on routed ports (the l3 stage hands them
// over). Neighbor Solicitations for the port's own address are answered in place with a
// Neighbor Advertisement (RFC 4861); other ND messages are not forwarded. Addresses that must
// not be forwarded (multicast and link-local destinations, link-local, unspecified, loopback
// or multicast sources — RFC 4291) are dropped; the rest is looked up in the port's VRF
// (lpm6.ts), sent to the next hop with the hop limit decremented (IPv6 has no header
// checksum) and the Ethernet addresses rewritten, or answered with an ICMPv6 time-exceeded
// message (RFC 4443) when the hop limit runs out.
import {
  D_OFF,
  D_LEN,
  D_IN_PORT,
  D_OUT_PORT,
  D_VERDICT,
  D_DROP,
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
  L4_ICMP,
  P_KIND,
  P_ROUTED,
  P_VRF,
  NONE16,
  MAX_PORTS,
  V_FORWARD,
  PORT_KIND_TUNNEL,
  SLOT_GUARD,
  desc,
  slotBase,
  slotSize,
  portEntry,
  be32,
} from './layout';
import {
  DROP_NOT_ROUTABLE,
  DROP_NO_ROUTE,
  DROP_NEXT_HOP_MISSING,
  DROP_BLACKHOLE,
  DROP_IPV6_MULTICAST_DST,
  DROP_IPV6_LINK_LOCAL,
  DROP_IPV6_BAD_ADDRESS,
  DROP_HOP_LIMIT_EXCEEDED,
  DROP_ND_INVALID,
  DROP_ND_NOT_HANDLED,
} from './drops';
import { NODE_DROP, NODE_TX, NODE_L3V6 } from './nodes';
import { egressNode } from './acl';
import { heapAlloc } from './heap';
import { nhBase, MAX_NEXT_HOPS, NH_SIZE, NH_KIND, NH_PORT, NH_DST_MAC, NH_SRC_MAC } from './l3';
import { NH_KIND_FORWARD, NH_KIND_BLACKHOLE } from './l3';
import {
  lookupScratch6,
  lpm6FirstLevelPtr,
  lpm6FirstByte,
  lpm6IsGroup,
  lpm6Step,
  lpm6HopOf,
  lpm6AddrBuf,
} from './lpm6';

/** Trace word B: no route. */
export const L3V6_TRACE_MISS: u32 = 0xffffffff;
/** Trace word B: answered with an ICMPv6 time-exceeded message. */
export const L3V6_TRACE_TIME_EXCEEDED: u32 = 0xfffffffe;
/** Trace word B: a Neighbor Solicitation answered with a Neighbor Advertisement. */
export const L3V6_TRACE_NA: u32 = 0xfffffffd;
/** Trace word B: dropped before the lookup (address scope or ND); see the drop reason. */
export const L3V6_TRACE_NOT_ROUTED: u32 = 0xfffffffc;

// Per routed port: IPv6 address (16 bytes) and MAC (6 bytes) + flags, allocated on first use.
const PORT6_SIZE: usize = 32;
const PORT6_ADDR: usize = 0;
const PORT6_MAC: usize = 16;
const PORT6_HAS_ADDR: usize = 22; // u8
const PORT6_HAS_MAC: usize = 23; // u8
let ports6: usize = 0;

/**
 * Sets the IPv6 address (read from lpm6AddrBuf() when `hasAddr`) and MAC (0: none) of routed
 * `port`. 0, or -1.
 */
export function l3v6SetPort(port: u32, hasAddr: bool, mac: u64): i32 {
  if (port >= <u32>MAX_PORTS) return -1;
  if (ports6 == 0) {
    if (!hasAddr && mac == 0) return 0;
    ports6 = heapAlloc(<usize>MAX_PORTS * PORT6_SIZE);
    if (ports6 == 0) return -1;
  }
  const p = ports6 + <usize>port * PORT6_SIZE;
  const a = lpm6AddrBuf();
  store<u64>(p + PORT6_ADDR, hasAddr ? load<u64>(a) : 0);
  store<u64>(p + PORT6_ADDR + 8, hasAddr ? load<u64>(a + 8) : 0);
  for (let i: usize = 0; i < 6; i++) store<u8>(p + PORT6_MAC + i, <u8>(mac >> (40 - 8 * i)));
  store<u8>(p + PORT6_HAS_ADDR, hasAddr ? 1 : 0);
  store<u8>(p + PORT6_HAS_MAC, mac != 0 ? 1 : 0);
  return 0;
}

function port6(port: u32): usize {
  return ports6 == 0 ? 0 : ports6 + <usize>port * PORT6_SIZE;
}

// One's-complement sum of big-endian 16-bit words (an odd last byte is padded with zero).
function sum16(p: usize, len: u32, sum: u32): u32 {
  let i: u32 = 0;
  for (; i + 1 < len; i += 2) sum += <u32>bswap<u16>(load<u16>(p + i));
  if (i < len) sum += (<u32>load<u8>(p + i)) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

// ICMPv6 checksum sum (RFC 4443 2.3): pseudo-header of `ip`'s addresses, length, next header
// 58, then the `len` bytes of the message at `icmp`. Returns the folded sum (0xffff = valid
// when the message holds its checksum).
function icmp6Sum(ip: usize, icmp: usize, len: u32): u32 {
  let sum = sum16(ip + 8, 32, 0);
  sum += (len >> 16) + (len & 0xffff) + 58;
  return sum16(icmp, len, sum);
}

function isMulticast(a: usize): bool {
  return load<u8>(a) == 0xff;
}

function isLinkLocal(a: usize): bool {
  return load<u8>(a) == 0xfe && (load<u8>(a + 1) & 0xc0) == 0x80;
}

function isUnspecified(a: usize): bool {
  return load<u64>(a) == 0 && load<u64>(a + 8) == 0;
}

function isLoopback(a: usize): bool {
  return load<u64>(a) == 0 && load<u64>(a + 8) == 0x0100000000000000;
}

function sameAddress(a: usize, b: usize): bool {
  return load<u64>(a) == load<u64>(b) && load<u64>(a + 8) == load<u64>(b + 8);
}

// ff02::1:ffXX:XXXX, the solicited-node multicast prefix (RFC 4291 2.7.1).
function isSolicitedNode(a: usize): bool {
  return (
    load<u64>(a) == 0x02ff &&
    load<u16>(a + 8) == 0 &&
    load<u16>(a + 10) == 0x0100 &&
    load<u8>(a + 12) == 0xff
  );
}

// The solicited-node address of `target` (its low 24 bits under the prefix).
function isSolicitedNodeOf(a: usize, target: usize): bool {
  return (
    isSolicitedNode(a) &&
    load<u8>(a + 13) == load<u8>(target + 13) &&
    load<u16>(a + 14) == load<u16>(target + 14)
  );
}

function drop(d: usize, reason: u8): void {
  store<u8>(d + D_DROP, reason);
  store<u8>(d + D_NEXT, NODE_DROP);
}

const ND_REPLY: i32 = 0;
const ND_INVALID: i32 = 1;
const ND_NOT_HANDLED: i32 = 2;

/**
 * A Neighbor Solicitation (RFC 4861 7.1.1 validity: hop limit 255, code 0, ICMP length >= 24,
 * checksum, target not multicast, every option of non-zero length within the message, from
 * :: only to a solicited-node address and without a source link-layer address option) for
 * the ingress port's address (to it or to its solicited-node address) is turned in place
 * into a Neighbor Advertisement out of the same port: router, solicited and override flags,
 * target link-layer address option = the port's MAC; to the solicitor, or to ff02::1 with
 * the solicited flag clear when the source was :: (RFC 4861 7.2.4).
 */
function neighborSolicit(d: usize, slot: u32, f: usize, ip: usize, inPort: u32): i32 {
  const l3 = <u32>load<u16>(d + D_OUTER + L_L3);
  const icmpOff = <u32>load<u16>(d + D_OUTER + L_L4);
  const end = l3 + 40 + <u32>bswap<u16>(load<u16>(ip + 4));
  const icmp = f + icmpOff;
  const icmpLen = end - icmpOff;
  if (load<u8>(ip + 7) != 255 || load<u8>(d + D_OUTER + L_DPORT) != 0) return ND_INVALID;
  if (icmpLen < 24 || icmp6Sum(ip, icmp, icmpLen) != 0xffff) return ND_INVALID;
  const target = icmp + 8;
  if (isMulticast(target)) return ND_INVALID;
  let sourceLinkLayer = false;
  let o: u32 = 24;
  while (o < icmpLen) {
    if (icmpLen - o < 2) return ND_INVALID;
    const olen = <u32>load<u8>(icmp + o + 1) * 8;
    if (olen == 0 || olen > icmpLen - o) return ND_INVALID;
    if (load<u8>(icmp + o) == 1) sourceLinkLayer = true;
    o += olen;
  }
  const fromUnspecified = isUnspecified(ip + 8);
  if (fromUnspecified && (sourceLinkLayer || !isSolicitedNode(ip + 24))) {
    return ND_INVALID;
  }
  const p = port6(inPort);
  if (p == 0 || load<u8>(p + PORT6_HAS_ADDR) == 0 || load<u8>(p + PORT6_HAS_MAC) == 0) {
    return ND_NOT_HANDLED;
  }
  const mine = p + PORT6_ADDR;
  if (!sameAddress(target, mine)) return ND_NOT_HANDLED;
  if (!sameAddress(ip + 24, mine) && !isSolicitedNodeOf(ip + 24, mine)) return ND_NOT_HANDLED;
  // Everything the reply needs from the request, before it is overwritten.
  const srcMacHi = load<u32>(f + 6);
  const srcMacLo = load<u16>(f + 10);
  const srcHi = load<u64>(ip + 8);
  const srcLo = load<u64>(ip + 16);
  // The advertisement (l3 + 72 bytes) may be longer than the solicitation: keep it inside the
  // slot, moving the Ethernet/VLAN header towards the headroom when the frame sits at the end.
  const base = slotBase(slot);
  let off = load<u32>(d + D_OFF);
  const limit = <u32>slotSize - SLOT_GUARD;
  if (off > limit - (l3 + 72)) {
    const moved = limit - (l3 + 72);
    memory.copy(base + moved, base + off, l3);
    off = moved;
  }
  const g = base + off;
  const nip = g + l3;
  if (fromUnspecified) {
    store<u32>(g, 0x00003333);
    store<u16>(g + 4, 0x0100);
  } else {
    store<u32>(g, srcMacHi);
    store<u16>(g + 4, srcMacLo);
  }
  store<u32>(g + 6, load<u32>(p + PORT6_MAC));
  store<u16>(g + 10, load<u16>(p + PORT6_MAC + 4));
  store<u32>(nip, bswap<u32>(0x60000000));
  store<u32>(nip + 4, bswap<u32>((32 << 16) | (58 << 8) | 255));
  store<u64>(nip + 8, load<u64>(mine));
  store<u64>(nip + 16, load<u64>(mine + 8));
  if (fromUnspecified) {
    store<u64>(nip + 24, 0x02ff);
    store<u64>(nip + 32, 0x0100000000000000);
  } else {
    store<u64>(nip + 24, srcHi);
    store<u64>(nip + 32, srcLo);
  }
  const na = nip + 40;
  store<u32>(na, bswap<u32>(136 << 24));
  // Router, solicited (not for a solicitation from ::), override.
  store<u32>(na + 4, bswap<u32>(fromUnspecified ? 0xa0000000 : 0xe0000000));
  store<u64>(na + 8, load<u64>(mine));
  store<u64>(na + 16, load<u64>(mine + 8));
  store<u16>(na + 24, bswap<u16>(0x0201));
  store<u32>(na + 26, load<u32>(p + PORT6_MAC));
  store<u16>(na + 30, load<u16>(p + PORT6_MAC + 4));
  store<u16>(na + 2, bswap<u16>(<u16>(~icmp6Sum(nip, na, 32) & 0xffff)));
  store<u32>(d + D_OFF, off);
  store<u32>(d + D_LEN, l3 + 72);
  store<u16>(d + D_OUT_PORT, <u16>inPort);
  store<u8>(d + D_VERDICT, V_FORWARD);
  store<u8>(d + D_NEXT, NODE_TX);
  return ND_REPLY;
}

/** Largest invoking-packet quote: the message must fit the IPv6 minimum MTU (RFC 4443 2.4). */
const QUOTE_MAX: u32 = 1280 - 48;

/**
 * Turns a packet whose hop limit ran out into an ICMPv6 time-exceeded message (type 3 code
 * 0) back to its sender out of the ingress port, when that port has an IPv6 address: Ethernet
 * addresses swapped (untagged), IPv6 from the port's address, hop limit 64, and as much of
 * the invoking packet as fits in 1280 bytes. Never for ICMPv6 errors (or fragments that may
 * be one: ICMPv6 without its header parsed) or from/to addresses no reply may go to.
 * Returns false when no message is sent.
 */
function timeExceeded6(d: usize, slot: u32, f: usize, ip: usize, inPort: u32): bool {
  const p = port6(inPort);
  if (p == 0 || load<u8>(p + PORT6_HAS_ADDR) == 0) return false;
  if (load<u8>(d + D_OUTER + L_PROTO) == 58) {
    if (load<u8>(d + D_OUTER + L_L4_KIND) != L4_ICMP) return false;
    if (load<u16>(d + D_OUTER + L_SPORT) < 128) return false;
  }
  if (isMulticast(ip + 24) || isMulticast(ip + 8) || isUnspecified(ip + 8)) return false;
  const total: u32 = 40 + <u32>bswap<u16>(load<u16>(ip + 4));
  const quote = total < QUOTE_MAX ? total : QUOTE_MAX;
  const dstMacHi = load<u32>(f);
  const dstMacLo = load<u16>(f + 4);
  const srcMacHi = load<u32>(f + 6);
  const srcMacLo = load<u16>(f + 10);
  const srcHi = load<u64>(ip + 8);
  const srcLo = load<u64>(ip + 16);
  // The new headers (62 bytes) go in front of the quote; when the headroom is too small the
  // quote moves up to make room.
  const base = slotBase(slot);
  let o = ip - 62;
  if (o < base + SLOT_GUARD) {
    o = base + SLOT_GUARD;
    memory.copy(o + 62, ip, quote);
  }
  store<u32>(o, srcMacHi);
  store<u16>(o + 4, srcMacLo);
  store<u32>(o + 6, dstMacHi);
  store<u16>(o + 10, dstMacLo);
  store<u16>(o + 12, bswap<u16>(0x86dd));
  const nip = o + 14;
  store<u32>(nip, bswap<u32>(0x60000000));
  store<u32>(nip + 4, bswap<u32>(((8 + quote) << 16) | (58 << 8) | 64));
  store<u64>(nip + 8, load<u64>(p + PORT6_ADDR));
  store<u64>(nip + 16, load<u64>(p + PORT6_ADDR + 8));
  store<u64>(nip + 24, srcHi);
  store<u64>(nip + 32, srcLo);
  const icmp = nip + 40;
  store<u32>(icmp, bswap<u32>(0x03000000));
  store<u32>(icmp + 4, 0);
  store<u16>(icmp + 2, bswap<u16>(<u16>(~icmp6Sum(nip, icmp, 8 + quote) & 0xffff)));
  store<u32>(d + D_OFF, <u32>(o - base));
  store<u32>(d + D_LEN, 62 + quote);
  store<u16>(d + D_OUT_PORT, <u16>inPort);
  store<u8>(d + D_VERDICT, V_FORWARD);
  store<u8>(d + D_NEXT, NODE_TX);
  return true;
}

// Decisions taken before the route lookup: ND, and addresses that are never forwarded.
// Returns true when the packet is decided (answered or dropped).
function beforeLookup(d: usize, slot: u32, f: usize, ip: usize, inPort: u32): bool {
  if (load<u8>(d + D_OUTER + L_PROTO) == 58 && load<u8>(d + D_OUTER + L_L4_KIND) == L4_ICMP) {
    const type = <u32>load<u16>(d + D_OUTER + L_SPORT);
    if (type >= 133 && type <= 137) {
      const r = type == 135 ? neighborSolicit(d, slot, f, ip, inPort) : ND_NOT_HANDLED;
      if (r == ND_REPLY) store<u32>(d + D_TRACE_B, L3V6_TRACE_NA);
      else drop(d, r == ND_INVALID ? DROP_ND_INVALID : DROP_ND_NOT_HANDLED);
      return true;
    }
  }
  const src = ip + 8;
  const dst = ip + 24;
  if (isMulticast(dst)) drop(d, DROP_IPV6_MULTICAST_DST);
  else if (isLinkLocal(dst) || isLinkLocal(src)) drop(d, DROP_IPV6_LINK_LOCAL);
  else if (
    isMulticast(src) ||
    isUnspecified(src) ||
    isLoopback(src) ||
    isUnspecified(dst) ||
    isLoopback(dst)
  )
    drop(d, DROP_IPV6_BAD_ADDRESS);
  else return false;
  return true;
}

/** l3v6 stage: route each IPv6 packet of the vector in its ingress port's VRF. */
export function l3v6Stage(vec: usize, n: i32): i32 {
  // Pass 1 decides what needs no lookup and finds each other packet's first-level entry;
  // pass 2 loads those entries, then walks every lookup of the vector one level (address
  // byte) per round, so that the cache misses of all packets at one level overlap; pass 3
  // forwards.
  const entries = lookupScratch6;
  for (let i: i32 = 0; i < n; i++) {
    const slot = <u32>load<u16>(vec + <usize>i * 2);
    const d = desc(slot);
    const inPort = <u32>load<u16>(d + D_IN_PORT);
    const pe = portEntry(inPort);
    const f = slotBase(slot) + load<u32>(d + D_OFF);
    store<u16>(d + D_OUT_PORT, NONE16);
    store<u32>(d + D_TRACE_A, 0);
    store<u32>(d + D_TRACE_B, L3V6_TRACE_NOT_ROUTED);
    store<u8>(d + D_NEXT, NODE_L3V6);
    if (entries != 0) store<u32>(entries + <usize>i * 8, 0);
    if (load<u8>(pe + P_ROUTED) == 0 || load<u8>(d + D_OUTER + L_IP_VER) != 6) {
      drop(d, DROP_NOT_ROUTABLE);
      continue;
    }
    const ip = f + <usize>load<u16>(d + D_OUTER + L_L3);
    store<u32>(d + D_TRACE_A, be32(ip + 24));
    if (beforeLookup(d, slot, f, ip, inPort)) continue;
    store<u32>(d + D_TRACE_B, L3V6_TRACE_MISS);
    if (entries != 0) {
      const vrf = <u32>load<u16>(pe + P_VRF);
      store<u32>(entries + <usize>i * 8, <u32>lpm6FirstLevelPtr(vrf, ip + 24));
      store<u32>(entries + <usize>i * 8 + 4, <u32>(ip + 24 + lpm6FirstByte(vrf)));
    }
  }
  if (entries != 0) {
    let more = false;
    for (let i: i32 = 0; i < n; i++) {
      const p = <usize>load<u32>(entries + <usize>i * 8);
      if (p == 0) continue;
      const e = load<u32>(p);
      store<u32>(entries + <usize>i * 8, e);
      more = more || lpm6IsGroup(e);
    }
    while (more) {
      more = false;
      for (let i: i32 = 0; i < n; i++) {
        const at = entries + <usize>i * 8;
        const e = load<u32>(at);
        if (!lpm6IsGroup(e)) continue;
        const p = <usize>load<u32>(at + 4);
        const next = lpm6Step(e, <u32>load<u8>(p));
        store<u32>(at, next);
        store<u32>(at + 4, <u32>(p + 1));
        more = more || lpm6IsGroup(next);
      }
    }
  }
  for (let i: i32 = 0; i < n; i++) {
    const slot = <u32>load<u16>(vec + <usize>i * 2);
    const d = desc(slot);
    if (load<u8>(d + D_NEXT) != NODE_L3V6) continue;
    const inPort = <u32>load<u16>(d + D_IN_PORT);
    const pe = portEntry(inPort);
    const f = slotBase(slot) + load<u32>(d + D_OFF);
    const ip = f + <usize>load<u16>(d + D_OUTER + L_L3);
    // A VRF without an IPv6 table has no first-level entry: no route.
    const nh = entries == 0 ? -1 : lpm6HopOf(load<u32>(entries + <usize>i * 8));
    if (nh < 0) {
      drop(d, DROP_NO_ROUTE);
      continue;
    }
    store<u32>(d + D_TRACE_B, <u32>nh);
    if (nhBase == 0 || <u32>nh >= MAX_NEXT_HOPS) {
      drop(d, DROP_NEXT_HOP_MISSING);
      continue;
    }
    const e = nhBase + <usize>nh * NH_SIZE;
    const kind = load<u8>(e + NH_KIND);
    if (kind != NH_KIND_FORWARD) {
      drop(d, kind == NH_KIND_BLACKHOLE ? DROP_BLACKHOLE : DROP_NEXT_HOP_MISSING);
      continue;
    }
    const hops = <u32>load<u8>(ip + 7);
    if (hops <= 1) {
      if (timeExceeded6(d, slot, f, ip, inPort))
        store<u32>(d + D_TRACE_B, L3V6_TRACE_TIME_EXCEEDED);
      else drop(d, DROP_HOP_LIMIT_EXCEEDED);
      continue;
    }
    store<u8>(ip + 7, <u8>(hops - 1));
    store<u32>(f, load<u32>(e + NH_DST_MAC));
    store<u16>(f + 4, load<u16>(e + NH_DST_MAC + 4));
    store<u32>(f + 6, load<u32>(e + NH_SRC_MAC));
    store<u16>(f + 10, load<u16>(e + NH_SRC_MAC + 4));
    const out = <u32>load<u16>(e + NH_PORT);
    store<u16>(d + D_OUT_PORT, <u16>out);
    store<u8>(d + D_VERDICT, V_FORWARD);
    store<u8>(d + D_NEXT, egressNode(out));
  }
  return n;
}
