// Gateway stage: SVI responders of a bridge. An ARP request for one of the bridge's gateway
// IPv4 addresses is answered with an ARP reply, a valid Neighbor Solicitation (RFC 4861
// 7.1.1) for one of its gateway IPv6 addresses with a Neighbor Advertisement; both are built
// in place and sent back out of the ingress port (a tunnel port: through vxlan-encap). Only
// ARP and NS frames on bridges with a gateway enter this stage (see forward.ts); everything
// it does not answer goes on to L2 unchanged.
import {
  D_OFF,
  D_LEN,
  D_IN_PORT,
  D_OUT_PORT,
  D_VERDICT,
  D_NEXT,
  D_TRACE_A,
  D_TRACE_B,
  D_OUTER,
  L_L3,
  L_L4,
  L_ETH_TYPE,
  L_VLAN_COUNT,
  L_IP_VER,
  L_PROTO,
  L_L4_KIND,
  L_SPORT,
  L_DPORT,
  L4_ICMP,
  P_BRIDGE,
  P_KIND,
  PORT_KIND_TUNNEL,
  MAX_BRIDGES,
  NONE16,
  V_FORWARD,
  SLOT_GUARD,
  slotSize,
  counting,
  desc,
  slotBase,
  portEntry,
  be16,
  be32,
} from './layout';
import { NODE_L2, NODE_TX, NODE_VXLAN_ENCAP } from './nodes';
import { heapAlloc } from './heap';

/** Gateway addresses per bridge and family. */
export const GW_MAX_ADDRESSES: u32 = 4;

// Per-bridge entry.
const GW_SIZE: u32 = 128;
const G_USED: u32 = 0; // u8
const G_N4: u32 = 1; // u8 IPv4 addresses
const G_N6: u32 = 2; // u8 IPv6 addresses
const G_MAC: u32 = 8; // 6 bytes
const G_V4: u32 = 16; // GW_MAX_ADDRESSES x u32, network byte order as loaded
const G_V6: u32 = 32; // GW_MAX_ADDRESSES x 16 bytes
const G_ARP_REPLIES: u32 = 96; // u64
const G_NA_REPLIES: u32 = 104; // u64

/** Trace word B: passed on to L2. */
export const GW_TRACE_PASS: u32 = 0;
/** Trace word B: ARP reply sent. */
export const GW_TRACE_ARP: u32 = 1;
/** Trace word B: Neighbor Advertisement sent. */
export const GW_TRACE_NA: u32 = 2;
/** Trace word B: a Neighbor Solicitation that failed validation (passed on to L2). */
export const GW_TRACE_NS_INVALID: u32 = 3;

let table: usize = 0;
// Bridges with a gateway: a single test keeps every other packet out of this file.
let gatewayCount: u32 = 0;

function entry(bridge: u32): usize {
  return table + <usize>bridge * GW_SIZE;
}

/** Sets the gateway MAC of `bridge`, clearing its addresses (counters kept). 0, or -1. */
export function gwSet(bridge: u32, mac: u64): i32 {
  if (bridge >= <u32>MAX_BRIDGES) return -1;
  if (table == 0) {
    table = heapAlloc(<usize>MAX_BRIDGES * GW_SIZE);
    if (table == 0) return -1;
  }
  const e = entry(bridge);
  if (load<u8>(e + G_USED) == 0) gatewayCount++;
  store<u8>(e + G_USED, 1);
  store<u8>(e + G_N4, 0);
  store<u8>(e + G_N6, 0);
  for (let i: usize = 0; i < 6; i++) store<u8>(e + G_MAC + i, <u8>(mac >> (40 - 8 * i)));
  return 0;
}

/** Adds IPv4 address `addr` (host order) to the gateway of `bridge`. 0, or -1. */
export function gwAddIpv4(bridge: u32, addr: u32): i32 {
  if (bridge >= <u32>MAX_BRIDGES || table == 0) return -1;
  const e = entry(bridge);
  const n = <u32>load<u8>(e + G_N4);
  if (load<u8>(e + G_USED) == 0 || n >= GW_MAX_ADDRESSES) return -1;
  store<u32>(e + G_V4 + n * 4, bswap<u32>(addr));
  store<u8>(e + G_N4, <u8>(n + 1));
  return 0;
}

/** Adds the IPv6 address `hi`‖`lo` (host order halves) to the gateway of `bridge`. */
export function gwAddIpv6(bridge: u32, hi: u64, lo: u64): i32 {
  if (bridge >= <u32>MAX_BRIDGES || table == 0) return -1;
  const e = entry(bridge);
  const n = <u32>load<u8>(e + G_N6);
  if (load<u8>(e + G_USED) == 0 || n >= GW_MAX_ADDRESSES) return -1;
  const a = e + G_V6 + n * 16;
  store<u64>(a, bswap<u64>(hi));
  store<u64>(a + 8, bswap<u64>(lo));
  store<u8>(e + G_N6, <u8>(n + 1));
  return 0;
}

/** Removes the gateway of `bridge` (and its counters): 0, or -1 when it had none. */
export function gwDelete(bridge: u32): i32 {
  if (bridge >= <u32>MAX_BRIDGES || table == 0) return -1;
  const e = entry(bridge);
  if (load<u8>(e + G_USED) == 0) return -1;
  memory.fill(e, 0, GW_SIZE);
  gatewayCount--;
  return 0;
}

/** Removes every gateway. */
export function gwReset(): void {
  if (table != 0) memory.fill(table, 0, <usize>MAX_BRIDGES * GW_SIZE);
  gatewayCount = 0;
}

/** Address of the gateway entry of `bridge` (0: none), for the host to read. */
export function gwEntryPtr(bridge: u32): usize {
  if (bridge >= <u32>MAX_BRIDGES || table == 0) return 0;
  const e = entry(bridge);
  return load<u8>(e + G_USED) == 0 ? 0 : e;
}

function gatewayOfPort(port: u32): usize {
  if (gatewayCount == 0) return 0;
  const bridge = <u32>load<u16>(portEntry(port) + P_BRIDGE);
  if (bridge == <u32>NONE16) return 0;
  const e = entry(bridge);
  return load<u8>(e + G_USED) == 0 ? 0 : e;
}

/** True for an ARP frame or an ICMPv6 Neighbor Solicitation on a bridge with a gateway. */
export function gatewayWanted(port: u32, d: usize): bool {
  if (gatewayCount == 0) return false;
  if (gatewayOfPort(port) == 0) return false;
  const l = d + D_OUTER;
  if (load<u16>(l + L_ETH_TYPE) == 0x0806) return true;
  return (
    load<u8>(l + L_IP_VER) == 6 &&
    load<u8>(l + L_PROTO) == 58 &&
    load<u8>(l + L_L4_KIND) == L4_ICMP &&
    load<u16>(l + L_SPORT) == 135
  );
}

function count(p: usize): void {
  if (counting) store<u64>(p, load<u64>(p) + 1);
}

// Answers an ARP request for one of the gateway's IPv4 addresses, in place (as the routed
// port's responder in l3.ts does).
function arpReply(g: usize, f: usize, d: usize): bool {
  const arp = f + 14 + <usize>load<u8>(d + D_OUTER + L_VLAN_COUNT) * 4;
  if (be32(arp) != 0x00010800 || be32(arp + 4) != 0x06040001) return false;
  const target = load<u32>(arp + 24);
  const n = <u32>load<u8>(g + G_N4);
  let found = false;
  for (let i: u32 = 0; i < n; i++) if (load<u32>(g + G_V4 + i * 4) == target) found = true;
  if (!found) return false;
  const senderMacHi = load<u32>(arp + 8);
  const senderMacLo = load<u16>(arp + 12);
  const senderIp = load<u32>(arp + 14);
  store<u32>(f, senderMacHi);
  store<u16>(f + 4, senderMacLo);
  store<u32>(f + 6, load<u32>(g + G_MAC));
  store<u16>(f + 10, load<u16>(g + G_MAC + 4));
  store<u16>(arp + 6, bswap<u16>(2));
  store<u32>(arp + 8, load<u32>(g + G_MAC));
  store<u16>(arp + 12, load<u16>(g + G_MAC + 4));
  store<u32>(arp + 14, target);
  store<u32>(arp + 18, senderMacHi);
  store<u16>(arp + 22, senderMacLo);
  store<u32>(arp + 24, senderIp);
  return true;
}

/** Ones-complement sum of `len` bytes at `p` (big-endian 16-bit words) added to `sum`. */
export function gwOnesSum(p: usize, len: u32, sum: u32): u32 {
  let i: u32 = 0;
  for (; i + 1 < len; i += 2) sum += be16(p + i);
  if (i < len) sum += (<u32>load<u8>(p + i)) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

/**
 * ICMPv6 checksum (RFC 8200 8.1) of the `len`-byte message at `icmp` from `src` to `dst`
 * (16-byte addresses): the value to store, or 0xffff - sum for verification (0 when valid).
 */
export function icmp6Checksum(src: usize, dst: usize, icmp: usize, len: u32): u32 {
  let sum = gwOnesSum(src, 16, 0);
  sum = gwOnesSum(dst, 16, sum);
  sum += (len >> 16) + (len & 0xffff) + 58;
  sum = gwOnesSum(icmp, len, sum);
  return ~sum & 0xffff;
}

function isZero16(p: usize): bool {
  return load<u64>(p) == 0 && load<u64>(p + 8) == 0;
}

function same16(a: usize, b: usize): bool {
  return load<u64>(a) == load<u64>(b) && load<u64>(a + 8) == load<u64>(b + 8);
}

// ff02::1:ffXX:XXXX of `target`.
function isSolicitedNode(dst: usize, target: usize): bool {
  return (
    be32(dst) == 0xff020000 &&
    load<u32>(dst + 4) == 0 &&
    be32(dst + 8) == 1 &&
    load<u8>(dst + 12) == 0xff &&
    load<u8>(dst + 13) == load<u8>(target + 13) &&
    load<u16>(dst + 14) == load<u16>(target + 14)
  );
}

// Where the NA is built: the NS's place when the slot has room behind it, else moved towards
// the headroom by what it lacks. 0 when neither fits.
function naFrameStart(slot: u32, d: usize, newLen: u32): u32 {
  const off = load<u32>(d + D_OFF);
  const len = load<u32>(d + D_LEN);
  if (off <= slotSize - SLOT_GUARD - newLen) return off;
  const grow = newLen - len;
  return off >= SLOT_GUARD + grow ? off - grow : 0;
}

/**
 * Validates a Neighbor Solicitation (RFC 4861 7.1.1) for one of the gateway's IPv6 addresses
 * and answers it with a Neighbor Advertisement (RFC 4861 7.2.4: router, solicited and
 * override flags, target link-layer address option; to all-nodes without the solicited flag
 * for DAD from ::). Returns GW_TRACE_NA, GW_TRACE_NS_INVALID or GW_TRACE_PASS.
 */
function naReply(g: usize, slot: u32, d: usize): u32 {
  const f = slotBase(slot) + load<u32>(d + D_OFF);
  const l3 = <u32>load<u16>(d + D_OUTER + L_L3);
  const l4 = <u32>load<u16>(d + D_OUTER + L_L4);
  const ip = f + l3;
  const icmp = f + l4;
  const end = l3 + 40 + be16(ip + 4);
  const icmpLen = end - l4;
  const target = icmp + 8;
  // Which address is asked for decides whether this NS is ours before it is validated.
  if (icmpLen < 24) return GW_TRACE_NS_INVALID;
  const n = <u32>load<u8>(g + G_N6);
  let gw: usize = 0;
  for (let i: u32 = 0; i < n; i++) if (same16(g + G_V6 + i * 16, target)) gw = g + G_V6 + i * 16;
  if (gw == 0) return GW_TRACE_PASS;
  const src = ip + 8;
  const dst = ip + 24;
  if (!same16(dst, target) && !isSolicitedNode(dst, target)) return GW_TRACE_PASS;
  if (load<u8>(ip + 7) != 255 || load<u16>(d + D_OUTER + L_DPORT) != 0) return GW_TRACE_NS_INVALID;
  if (icmp6Checksum(src, dst, icmp, icmpLen) != 0) return GW_TRACE_NS_INVALID;
  if (load<u8>(target) == 0xff) return GW_TRACE_NS_INVALID;
  const dad = isZero16(src);
  let o = l4 + 24;
  while (o < end) {
    if (end - o < 2) return GW_TRACE_NS_INVALID;
    const olen = <u32>load<u8>(f + o + 1) * 8;
    if (olen == 0 || olen > end - o) return GW_TRACE_NS_INVALID;
    if (dad && load<u8>(f + o) == 1) return GW_TRACE_NS_INVALID;
    o += olen;
  }
  if (dad && !isSolicitedNode(dst, target)) return GW_TRACE_NS_INVALID;
  const hl = 14 + <u32>load<u8>(d + D_OUTER + L_VLAN_COUNT) * 4;
  const newLen = hl + 40 + 32;
  const start = naFrameStart(slot, d, newLen);
  if (start == 0) return GW_TRACE_PASS;
  // Everything the NA needs from the NS, read before it is overwritten.
  const srcHi = load<u64>(src);
  const srcLo = load<u64>(src + 8);
  const macHi = load<u32>(f + 6);
  const macLo = load<u16>(f + 10);
  const nf = slotBase(slot) + start;
  if (nf != f) memory.copy(nf, f, hl);
  if (dad) {
    store<u32>(nf, bswap<u32>(0x33330000));
    store<u16>(nf + 4, bswap<u16>(1));
  } else {
    store<u32>(nf, macHi);
    store<u16>(nf + 4, macLo);
  }
  store<u32>(nf + 6, load<u32>(g + G_MAC));
  store<u16>(nf + 10, load<u16>(g + G_MAC + 4));
  const nip = nf + hl;
  store<u32>(nip, bswap<u32>(0x60000000));
  store<u16>(nip + 4, bswap<u16>(32));
  store<u8>(nip + 6, 58);
  store<u8>(nip + 7, 255);
  store<u64>(nip + 8, load<u64>(gw));
  store<u64>(nip + 16, load<u64>(gw + 8));
  if (dad) {
    store<u64>(nip + 24, bswap<u64>(0xff02000000000000));
    store<u64>(nip + 32, bswap<u64>(1));
  } else {
    store<u64>(nip + 24, srcHi);
    store<u64>(nip + 32, srcLo);
  }
  const na = nip + 40;
  store<u32>(na, bswap<u32>(0x88000000));
  store<u32>(na + 4, bswap<u32>(dad ? 0xa0000000 : 0xe0000000));
  store<u64>(na + 8, load<u64>(gw));
  store<u64>(na + 16, load<u64>(gw + 8));
  store<u8>(na + 24, 2);
  store<u8>(na + 25, 1);
  store<u32>(na + 26, load<u32>(g + G_MAC));
  store<u16>(na + 30, load<u16>(g + G_MAC + 4));
  store<u16>(na + 2, bswap<u16>(<u16>icmp6Checksum(nip + 8, nip + 24, na, 32)));
  store<u32>(d + D_OFF, start);
  store<u32>(d + D_LEN, newLen);
  // The parsed layer now describes the NA (vxlan-encap hashes it).
  store<u16>(d + D_OUTER + L_L4, <u16>(hl + 40));
  store<u16>(d + D_OUTER + L_SPORT, 136);
  store<u16>(d + D_OUTER + L_DPORT, 0);
  return GW_TRACE_NA;
}

/** Gateway stage: answer ARP requests and Neighbor Solicitations for gateway addresses. */
export function gatewayStage(vec: usize, n: i32): i32 {
  for (let i: i32 = 0; i < n; i++) {
    const slot = <u32>load<u16>(vec + <usize>i * 2);
    const d = desc(slot);
    const inPort = <u32>load<u16>(d + D_IN_PORT);
    const pe = portEntry(inPort);
    const bridge = <u32>load<u16>(pe + P_BRIDGE);
    store<u32>(d + D_TRACE_A, bridge);
    store<u32>(d + D_TRACE_B, GW_TRACE_PASS);
    store<u8>(d + D_NEXT, NODE_L2);
    const g = gatewayOfPort(inPort);
    if (g == 0) continue;
    let done: u32 = GW_TRACE_PASS;
    if (load<u16>(d + D_OUTER + L_ETH_TYPE) == 0x0806) {
      if (arpReply(g, slotBase(slot) + load<u32>(d + D_OFF), d)) {
        done = GW_TRACE_ARP;
        count(g + G_ARP_REPLIES);
      }
    } else {
      done = naReply(g, slot, d);
      if (done == GW_TRACE_NA) count(g + G_NA_REPLIES);
    }
    store<u32>(d + D_TRACE_B, done);
    if (done != GW_TRACE_ARP && done != GW_TRACE_NA) continue;
    store<u16>(d + D_OUT_PORT, <u16>inPort);
    store<u8>(d + D_VERDICT, V_FORWARD);
    store<u8>(d + D_NEXT, load<u8>(pe + P_KIND) == PORT_KIND_TUNNEL ? NODE_VXLAN_ENCAP : NODE_TX);
  }
  return n;
}
