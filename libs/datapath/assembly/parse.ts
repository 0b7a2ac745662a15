// Parse stage: Ethernet, 802.1Q/802.1ad tags, ARP, IPv4 (options, fragments), IPv6 (extension
// header chain), ICMP/ICMPv6, TCP, UDP and VXLAN with its inner frame. Every read is bounds-
// checked against the frame end before it happens; a failed check drops with a named reason.
import {
  L_ETH,
  L_L3,
  L_L4,
  L_ETH_TYPE,
  L_VLAN0,
  L_VLAN_COUNT,
  L_IP_VER,
  L_PROTO,
  L_L4_KIND,
  L_SPORT,
  L_DPORT,
  L_COMPLETE,
  NONE16,
  L4_PORTS,
  L4_ICMP,
  F_FRAGMENT,
  F_VXLAN,
  F_IPV4_OPTIONS,
  LAYER_SIZE,
  D_OFF,
  D_LEN,
  D_IN_PORT,
  D_FLAGS,
  D_VNI,
  D_OUTER,
  D_INNER,
  D_DROP,
  D_VERDICT,
  D_NEXT,
  D_TRACE_A,
  D_TRACE_B,
  V_DROP,
  V_PASS,
  MAX_PORTS,
  C_RX_PKTS,
  C_RX_BYTES,
  slotSize,
  dataCapacity,
  SLOT_GUARD,
  desc,
  slotBase,
  countPort,
  be16,
  be32,
} from './layout';
import {
  DROP_NONE,
  DROP_BAD_DESCRIPTOR,
  DROP_ETH_TRUNCATED,
  DROP_VLAN_TRUNCATED,
  DROP_VLAN_TOO_MANY,
  DROP_ARP_TRUNCATED,
  DROP_IPV4_TRUNCATED,
  DROP_IPV4_BAD_VERSION,
  DROP_IPV4_BAD_IHL,
  DROP_IPV4_BAD_LENGTH,
  DROP_IPV4_BAD_CHECKSUM,
  DROP_IPV4_BAD_OPTION,
  DROP_IPV6_TRUNCATED,
  DROP_IPV6_BAD_VERSION,
  DROP_IPV6_EXT_TRUNCATED,
  DROP_IPV6_TOO_MANY_EXT,
  DROP_TCP_TRUNCATED,
  DROP_TCP_BAD_OFFSET,
  DROP_UDP_TRUNCATED,
  DROP_UDP_BAD_LENGTH,
  DROP_ICMP_TRUNCATED,
  DROP_VXLAN_TRUNCATED,
  DROP_VXLAN_BAD_FLAGS,
} from './drops';
import { NODE_DROP, NODE_VXLAN_DECAP } from './nodes';
import { ingressNode } from './ingress';

/** IANA UDP port of VXLAN. */
export const VXLAN_PORT: u32 = 4789;
const MAX_IPV6_EXT: i32 = 8;

// Scratch written by parseL4 for the caller; module globals avoid a heap allocation.
let scratchFlags: u8 = 0;
let scratchVni: u32 = 0;

// memory.fill is a call out of compiled code in engines; three stores are much cheaper.
function clearLayer(l: usize, eth: u32): void {
  store<u64>(l, 0);
  store<u64>(l, 0, 8);
  store<u64>(l, 0, 16);
  store<u16>(l + L_ETH, <u16>eth);
  store<u16>(l + L_L3, NONE16);
  store<u16>(l + L_L4, NONE16);
}

/**
 * Ones-complement sum check of an IPv4 header; true when the checksum is valid. The sum is
 * taken over native-order 32-bit words: ones-complement addition commutes with byte
 * swapping, and the valid result 0xffff reads the same in either order.
 */
function ipv4ChecksumOk(p: usize, len: u32): bool {
  let sum: u64 = 0;
  for (let i: u32 = 0; i < len; i += 4) sum += <u64>load<u32>(p + i);
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffffffff) + (sum >> 32);
  let s = <u32>sum;
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return s == 0xffff;
}

function parseL4(
  f: usize,
  l: usize,
  inner: usize,
  proto: u32,
  q: u32,
  end: u32,
  fragment: bool,
): u8 {
  const ipVer = <u32>load<u8>(l + L_IP_VER);
  if (proto == 6) {
    if (end - q < 20) return DROP_TCP_TRUNCATED;
    const doff = ((<u32>load<u8>(f + q + 12)) >> 4) * 4;
    if (doff < 20) return DROP_TCP_BAD_OFFSET;
    if (doff > end - q) return DROP_TCP_TRUNCATED;
    store<u16>(l + L_L4, <u16>q);
    store<u16>(l + L_SPORT, <u16>be16(f + q));
    store<u16>(l + L_DPORT, <u16>be16(f + q + 2));
    store<u8>(l + L_L4_KIND, L4_PORTS);
    return DROP_NONE;
  }
  if (proto == 17) {
    if (end - q < 8) return DROP_UDP_TRUNCATED;
    const ulen = be16(f + q + 4);
    if (!fragment && (ulen < 8 || ulen > end - q)) return DROP_UDP_BAD_LENGTH;
    const dport = be16(f + q + 2);
    store<u16>(l + L_L4, <u16>q);
    store<u16>(l + L_SPORT, <u16>be16(f + q));
    store<u16>(l + L_DPORT, <u16>dport);
    store<u8>(l + L_L4_KIND, L4_PORTS);
    if (dport == VXLAN_PORT && inner != 0 && !fragment) {
      const v = q + 8;
      const vend = q + ulen;
      if (vend - v < 8) return DROP_VXLAN_TRUNCATED;
      if ((load<u8>(f + v) & 0x08) == 0) return DROP_VXLAN_BAD_FLAGS;
      scratchVni = be32(f + v + 4) >> 8;
      // The inner frame's own flags (fragment, options) are not the packet's flags.
      const outerFlags = scratchFlags | F_VXLAN;
      const reason = parseLayer(f, v + 8, vend, inner, 0);
      scratchFlags = outerFlags;
      return reason;
    }
    return DROP_NONE;
  }
  if ((proto == 1 && ipVer == 4) || (proto == 58 && ipVer == 6)) {
    if (end - q < 8) return DROP_ICMP_TRUNCATED;
    store<u16>(l + L_L4, <u16>q);
    store<u16>(l + L_SPORT, <u16>load<u8>(f + q));
    store<u16>(l + L_DPORT, <u16>load<u8>(f + q + 1));
    store<u8>(l + L_L4_KIND, L4_ICMP);
    return DROP_NONE;
  }
  return DROP_NONE;
}

function parseIpv4(f: usize, l: usize, inner: usize, p: u32, end: u32): u8 {
  store<u16>(l + L_L3, <u16>p);
  if (end - p < 20) return DROP_IPV4_TRUNCATED;
  const vihl = <u32>load<u8>(f + p);
  if (vihl >> 4 != 4) return DROP_IPV4_BAD_VERSION;
  const ihl = (vihl & 15) * 4;
  if (ihl < 20) return DROP_IPV4_BAD_IHL;
  const total = be16(f + p + 2);
  if (total < ihl) return DROP_IPV4_BAD_LENGTH;
  if (total > end - p) return DROP_IPV4_TRUNCATED;
  if (!ipv4ChecksumOk(f + p, ihl)) return DROP_IPV4_BAD_CHECKSUM;
  if (ihl > 20) {
    scratchFlags |= F_IPV4_OPTIONS;
    let i: u32 = 20;
    while (i < ihl) {
      const t = <u32>load<u8>(f + p + i);
      if (t == 0) break;
      if (t == 1) {
        i++;
        continue;
      }
      if (i + 1 >= ihl) return DROP_IPV4_BAD_OPTION;
      const ol = <u32>load<u8>(f + p + i + 1);
      if (ol < 2 || i + ol > ihl) return DROP_IPV4_BAD_OPTION;
      i += ol;
    }
  }
  const proto = <u32>load<u8>(f + p + 9);
  store<u8>(l + L_IP_VER, 4);
  store<u8>(l + L_PROTO, <u8>proto);
  const frag = be16(f + p + 6);
  const fragment = (frag & 0x3fff) != 0;
  if (fragment) scratchFlags |= F_FRAGMENT;
  if ((frag & 0x1fff) != 0) return DROP_NONE;
  return parseL4(f, l, inner, proto, p + ihl, p + total, fragment);
}

function parseIpv6(f: usize, l: usize, inner: usize, p: u32, end: u32): u8 {
  store<u16>(l + L_L3, <u16>p);
  if (end - p < 40) return DROP_IPV6_TRUNCATED;
  if ((<u32>load<u8>(f + p)) >> 4 != 6) return DROP_IPV6_BAD_VERSION;
  const plen = be16(f + p + 4);
  if (plen > end - p - 40) return DROP_IPV6_TRUNCATED;
  const l4end = p + 40 + plen;
  let nh = <u32>load<u8>(f + p + 6);
  let q = p + 40;
  let count: i32 = 0;
  let fragment = false;
  while (true) {
    if (nh == 0 || nh == 43 || nh == 60 || nh == 51) {
      if (count == MAX_IPV6_EXT) return DROP_IPV6_TOO_MANY_EXT;
      count++;
      if (l4end - q < 8) return DROP_IPV6_EXT_TRUNCATED;
      const hl = nh == 51 ? (<u32>load<u8>(f + q + 1) + 2) * 4 : (<u32>load<u8>(f + q + 1) + 1) * 8;
      if (l4end - q < hl) return DROP_IPV6_EXT_TRUNCATED;
      nh = <u32>load<u8>(f + q);
      q += hl;
    } else if (nh == 44) {
      if (count == MAX_IPV6_EXT) return DROP_IPV6_TOO_MANY_EXT;
      count++;
      if (l4end - q < 8) return DROP_IPV6_EXT_TRUNCATED;
      fragment = true;
      scratchFlags |= F_FRAGMENT;
      const fo = be16(f + q + 2);
      nh = <u32>load<u8>(f + q);
      q += 8;
      if ((fo & 0xfff8) != 0) {
        store<u8>(l + L_IP_VER, 6);
        store<u8>(l + L_PROTO, <u8>nh);
        return DROP_NONE;
      }
    } else {
      break;
    }
  }
  store<u8>(l + L_IP_VER, 6);
  store<u8>(l + L_PROTO, <u8>nh);
  return parseL4(f, l, inner, nh, q, l4end, fragment);
}

/**
 * Parses one Ethernet frame spanning [start, end) of the buffer at `f` into layer `l`.
 * `inner` is where a VXLAN inner frame is parsed (0: do not look into VXLAN).
 */
export function parseLayer(f: usize, start: u32, end: u32, l: usize, inner: usize): u8 {
  clearLayer(l, start);
  if (end - start < 14) return DROP_ETH_TRUNCATED;
  let type = be16(f + start + 12);
  let p = start + 14;
  let vlans: u32 = 0;
  while (type == 0x8100 || type == 0x88a8) {
    if (vlans == 2) return DROP_VLAN_TOO_MANY;
    if (end - p < 4) return DROP_VLAN_TRUNCATED;
    store<u16>(l + L_VLAN0 + vlans * 2, <u16>(be16(f + p) & 0xfff));
    vlans++;
    type = be16(f + p + 2);
    p += 4;
  }
  store<u8>(l + L_VLAN_COUNT, <u8>vlans);
  store<u16>(l + L_ETH_TYPE, <u16>type);
  store<u8>(l + L_COMPLETE, 1);
  if (type == 0x0806) {
    if (end - p < 8) return DROP_ARP_TRUNCATED;
    const need: u32 = 8 + 2 * <u32>load<u8>(f + p + 4) + 2 * <u32>load<u8>(f + p + 5);
    if (end - p < need) return DROP_ARP_TRUNCATED;
    return DROP_NONE;
  }
  if (type == 0x0800) return parseIpv4(f, l, inner, p, end);
  if (type == 0x86dd) return parseIpv6(f, l, inner, p, end);
  return DROP_NONE;
}

/**
 * The common frame in one go: untagged Ethernet, IPv4 without options, not a fragment, valid
 * header checksum, UDP (not VXLAN) or TCP, all lengths consistent. Writes exactly the layer
 * parseLayer would (three u64 stores) and returns true; returns false, having written
 * nothing, for anything else, which parseLayer then parses from scratch.
 */
function fastLayer(f: usize, len: u32, l: usize): bool {
  if (len < 34 || load<u16>(f + 12) != 0x0008 || load<u8>(f + 14) != 0x45) return false;
  const total = be16(f + 16);
  if (total < 20 || total > len - 14) return false;
  // The fragment field (flags and offset, bytes 20..21) must be zero except DF.
  if ((load<u16>(f + 20) & 0xff3f) != 0) return false;
  let sum: u64 = <u64>load<u32>(f + 14) + <u64>load<u32>(f + 18) + <u64>load<u32>(f + 22);
  sum += <u64>load<u32>(f + 26) + <u64>load<u32>(f + 30);
  sum = (sum & 0xffffffff) + (sum >> 32);
  let s32 = <u32>sum + <u32>(sum >> 32);
  s32 = (s32 & 0xffff) + (s32 >> 16);
  s32 = (s32 & 0xffff) + (s32 >> 16);
  if (s32 != 0xffff) return false;
  const proto = <u32>load<u8>(f + 23);
  const room = total - 20;
  if (proto == 17) {
    if (room < 8) return false;
    const ulen = be16(f + 38);
    if (ulen < 8 || ulen > room || be16(f + 36) == VXLAN_PORT) return false;
  } else if (proto == 6) {
    if (room < 20) return false;
    const doff = ((<u32>load<u8>(f + 46)) >> 4) * 4;
    if (doff < 20 || doff > room) return false;
  } else {
    return false;
  }
  // L_ETH 0, L_L3 14, L_L4 34, L_ETH_TYPE 0x0800 | VLANs 0, IP version 4, proto, L4 ports |
  // source and destination port, complete.
  store<u64>(l, ((<u64>14) << 16) | ((<u64>34) << 32) | ((<u64>0x0800) << 48));
  store<u64>(l, ((<u64>4) << 40) | ((<u64>proto) << 48) | ((<u64>L4_PORTS) << 56), 8);
  store<u64>(l, (<u64>be16(f + 34)) | ((<u64>be16(f + 36)) << 16) | ((<u64>1) << 32), 16);
  return true;
}

/** Parse stage: validates descriptors, counts rx, parses, picks decap, L2 or L3. */
export function parseStage(vec: usize, n: i32): i32 {
  for (let i: i32 = 0; i < n; i++) {
    const slot = <u32>load<u16>(vec + <usize>i * 2);
    const d = desc(slot);
    const off = load<u32>(d + D_OFF);
    const len = load<u32>(d + D_LEN);
    const port = <u32>load<u16>(d + D_IN_PORT);
    store<u8>(d + D_FLAGS, 0);
    store<u32>(d + D_VNI, 0);
    store<u8>(d + D_VERDICT, V_PASS);
    store<u8>(d + D_DROP, DROP_NONE);
    store<u32>(d + D_TRACE_B, 0);
    if (
      port >= <u32>MAX_PORTS ||
      off < SLOT_GUARD ||
      len > dataCapacity ||
      // Written without `off + len` so that huge values cannot wrap around.
      off > slotSize - SLOT_GUARD - len
    ) {
      store<u32>(d + D_TRACE_A, 0);
      clearLayer(d + D_OUTER, 0);
      clearLayer(d + D_INNER, 0);
      store<u8>(d + D_DROP, DROP_BAD_DESCRIPTOR);
      store<u8>(d + D_NEXT, NODE_DROP);
      continue;
    }
    countPort(port, C_RX_PKTS, 1);
    countPort(port, C_RX_BYTES, len);
    const f = slotBase(slot) + off;
    scratchFlags = 0;
    scratchVni = 0;
    const reason = fastLayer(f, len, d + D_OUTER)
      ? DROP_NONE
      : parseLayer(f, 0, len, d + D_OUTER, d + D_INNER);
    store<u8>(d + D_FLAGS, scratchFlags);
    store<u32>(d + D_VNI, scratchVni);
    store<u32>(
      d + D_TRACE_A,
      (<u32>load<u16>(d + D_OUTER + L_ETH_TYPE)) | ((<u32>load<u8>(d + D_OUTER + L_PROTO)) << 16),
    );
    if (reason != DROP_NONE) {
      store<u8>(d + D_DROP, reason);
      store<u8>(d + D_NEXT, NODE_DROP);
      continue;
    }
    store<u8>(d + D_NEXT, (scratchFlags & F_VXLAN) != 0 ? NODE_VXLAN_DECAP : ingressNode(port, d));
  }
  return n;
}
