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
  L_IP_VER,
  L_PROTO,
  L_L4_KIND,
  L_SPORT,
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
  DROP_PACKET_TOO_BIG,
} from './drops';
import { egressMtu, mtuFloor } from './mtu';
import { NODE_DROP, NODE_TX, NODE_L3V6 } from './nodes';
import { egressNode } from './acl';
import { heapAlloc } from './heap';
import { icmp6Checksum } from './checksum';
import { isUnspecified6, nsAnswer, NS_ANSWERED, NS_INVALID } from './nd';
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
/** Trace word B: answered with an ICMPv6 packet-too-big message. */
export const L3V6_TRACE_PACKET_TOO_BIG: u32 = 0xfffffffb;
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

function isMulticast(a: usize): bool {
  return load<u8>(a) == 0xff;
}

function isLinkLocal(a: usize): bool {
  return load<u8>(a) == 0xfe && (load<u8>(a + 1) & 0xc0) == 0x80;
}

function isLoopback(a: usize): bool {
  return load<u64>(a) == 0 && load<u64>(a + 8) == 0x0100000000000000;
}

function drop(d: usize, reason: u8): void {
  store<u8>(d + D_DROP, reason);
  store<u8>(d + D_NEXT, NODE_DROP);
}

const ND_REPLY: i32 = 0;
const ND_INVALID: i32 = 1;
const ND_NOT_HANDLED: i32 = 2;

/**
 * A valid Neighbor Solicitation (nd.ts) for the ingress port's address (to it or to its
 * solicited-node address) is turned in place into a Neighbor Advertisement (router flag set)
 * out of the same port. Every invalid one is dropped, whoever it asks for.
 */
function neighborSolicit(d: usize, slot: u32, inPort: u32): i32 {
  const p = port6(inPort);
  const ready = p != 0 && load<u8>(p + PORT6_HAS_ADDR) != 0 && load<u8>(p + PORT6_HAS_MAC) != 0;
  const r = nsAnswer(slot, d, p + PORT6_ADDR, ready ? 1 : 0, p + PORT6_MAC, true, false, NODE_TX);
  return r == NS_ANSWERED ? ND_REPLY : r == NS_INVALID ? ND_INVALID : ND_NOT_HANDLED;
}

/** Largest invoking-packet quote: the message must fit the IPv6 minimum MTU (RFC 4443 2.4). */
const QUOTE_MAX: u32 = 1280 - 48;

/**
 * Turns the packet at `ip` into the ICMPv6 error `head` (type << 24 | code << 16) with `word`
 * as its second word, back to its sender out of the ingress port, when that port has an IPv6
 * address: Ethernet addresses swapped (untagged), IPv6 from the port's address, hop limit 64,
 * and as much of the invoking packet as fits in 1280 bytes (RFC 4443 2.4). Never for ICMPv6
 * errors (or fragments that may be one: ICMPv6 without its header parsed) or from/to
 * addresses no reply may go to. Returns false when no message is sent.
 */
function icmp6Error(
  d: usize,
  slot: u32,
  f: usize,
  ip: usize,
  inPort: u32,
  head: u32,
  word: u32,
): bool {
  const p = port6(inPort);
  if (p == 0 || load<u8>(p + PORT6_HAS_ADDR) == 0) return false;
  if (load<u8>(d + D_OUTER + L_PROTO) == 58) {
    if (load<u8>(d + D_OUTER + L_L4_KIND) != L4_ICMP) return false;
    if (load<u16>(d + D_OUTER + L_SPORT) < 128) return false;
  }
  if (isMulticast(ip + 24) || isMulticast(ip + 8) || isUnspecified6(ip + 8)) return false;
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
  store<u32>(icmp, bswap<u32>(head));
  store<u32>(icmp + 4, bswap<u32>(word));
  store<u16>(icmp + 2, bswap<u16>(<u16>icmp6Checksum(nip + 8, nip + 24, icmp, 8 + quote)));
  store<u32>(d + D_OFF, <u32>(o - base));
  store<u32>(d + D_LEN, 62 + quote);
  store<u16>(d + D_OUT_PORT, <u16>inPort);
  store<u8>(d + D_VERDICT, V_FORWARD);
  store<u8>(d + D_NEXT, NODE_TX);
  return true;
}

// Packet too big (RFC 4443 3.2) for egress `out`: answered with that link's MTU or dropped
// (true), or false when it fits. IPv6 routers never fragment (RFC 8200 5); egressMtu counts
// the tunnel overhead.
function tooBig6(d: usize, slot: u32, f: usize, ip: usize, inPort: u32, out: u32): bool {
  const mtu = egressMtu(out);
  if (<u32>40 + <u32>bswap<u16>(load<u16>(ip + 4)) <= mtu) return false;
  if (icmp6Error(d, slot, f, ip, inPort, 0x02000000, mtu))
    store<u32>(d + D_TRACE_B, L3V6_TRACE_PACKET_TOO_BIG);
  else drop(d, DROP_PACKET_TOO_BIG);
  return true;
}

// Decisions taken before the route lookup: ND, and addresses that are never forwarded.
// Returns true when the packet is decided (answered or dropped).
function beforeLookup(d: usize, slot: u32, f: usize, ip: usize, inPort: u32): bool {
  if (load<u8>(d + D_OUTER + L_PROTO) == 58 && load<u8>(d + D_OUTER + L_L4_KIND) == L4_ICMP) {
    const type = <u32>load<u16>(d + D_OUTER + L_SPORT);
    if (type >= 133 && type <= 137) {
      const r = type == 135 ? neighborSolicit(d, slot, inPort) : ND_NOT_HANDLED;
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
    isUnspecified6(src) ||
    isLoopback(src) ||
    isUnspecified6(dst) ||
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
      if (icmp6Error(d, slot, f, ip, inPort, 0x03000000, 0))
        store<u32>(d + D_TRACE_B, L3V6_TRACE_TIME_EXCEEDED);
      else drop(d, DROP_HOP_LIMIT_EXCEEDED);
      continue;
    }
    const out = <u32>load<u16>(e + NH_PORT);
    const length = <u32>40 + <u32>bswap<u16>(load<u16>(ip + 4));
    if (length > mtuFloor && tooBig6(d, slot, f, ip, inPort, out)) continue;
    store<u8>(ip + 7, <u8>(hops - 1));
    store<u32>(f, load<u32>(e + NH_DST_MAC));
    store<u16>(f + 4, load<u16>(e + NH_DST_MAC + 4));
    store<u32>(f + 6, load<u32>(e + NH_SRC_MAC));
    store<u16>(f + 10, load<u16>(e + NH_SRC_MAC + 4));
    store<u16>(d + D_OUT_PORT, <u16>out);
    store<u8>(d + D_VERDICT, V_FORWARD);
    store<u8>(d + D_NEXT, egressNode(out));
  }
  return n;
}
