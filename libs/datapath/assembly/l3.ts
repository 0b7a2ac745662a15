// L3 stage: IPv4 routing for packets that arrive on routed ports. Longest-prefix match in the
// port's VRF, next-hop table (egress port and MAC rewrite; a tunnel port as egress sends the
// packet on to VXLAN encapsulation), TTL decrement with an incremental header checksum update
// (RFC 1624).
import {
  D_OFF,
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
  P_ROUTED,
  P_VRF,
  NONE16,
  MAX_PORTS,
  V_FORWARD,
  D_LEN,
  D_FLAGS,
  F_FRAGMENT,
  L_L4_KIND,
  L_ETH_TYPE,
  L_VLAN_COUNT,
  L_SPORT,
  L4_ICMP,
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
  DROP_TTL_EXCEEDED,
} from './drops';
import { NODE_DROP, NODE_TX, NODE_L3V6 } from './nodes';
import { egressNode } from './acl';
import { heapAlloc } from './heap';
import { lookupScratch, lpmFirstLevelPtr, lpmIsGroup, lpmResolve, lpmResolveEntry } from './lpm4';
import { l3TooBig } from './mtu';
import { onesSum } from './checksum';

/** Next hops the core holds (ids 0 .. MAX_NEXT_HOPS-1). */
export const MAX_NEXT_HOPS: u32 = 65536;
/** Next-hop entry layout. */
export const NH_SIZE: u32 = 16;
export const NH_KIND: u32 = 0; // u8
export const NH_PORT: u32 = 2; // u16 egress port
export const NH_DST_MAC: u32 = 4; // 6 bytes
export const NH_SRC_MAC: u32 = 10; // 6 bytes
export const NH_KIND_NONE: u8 = 0;
export const NH_KIND_FORWARD: u8 = 1;
export const NH_KIND_BLACKHOLE: u8 = 2;

/** Trace word B when no next hop was found. */
export const L3_TRACE_MISS: u32 = 0xffffffff;

/** Next-hop table (allocated on first use; 0 before). */
export let nhBase: usize = 0;
let nhCount: u32 = 0;

function ensureNextHops(): bool {
  if (nhBase == 0) nhBase = heapAlloc(<usize>MAX_NEXT_HOPS * NH_SIZE);
  return nhBase != 0;
}

function nhEntry(id: u32): usize {
  return nhBase + <usize>id * NH_SIZE;
}

function putMac(p: usize, mac: u64): void {
  for (let i: usize = 0; i < 6; i++) store<u8>(p + i, <u8>(mac >> (40 - 8 * i)));
}

/** Sets next hop `id`: kind NH_KIND_FORWARD (port, MACs) or NH_KIND_BLACKHOLE. 0, or -1. */
export function nhAdd(id: u32, kind: u8, port: u32, dstMac: u64, srcMac: u64): i32 {
  if (id >= MAX_NEXT_HOPS || port >= <u32>MAX_PORTS) return -1;
  if (kind != NH_KIND_FORWARD && kind != NH_KIND_BLACKHOLE) return -1;
  if (!ensureNextHops()) return -1;
  const e = nhEntry(id);
  if (load<u8>(e + NH_KIND) == NH_KIND_NONE) nhCount++;
  store<u8>(e + NH_KIND, kind);
  store<u16>(e + NH_PORT, <u16>port);
  putMac(e + NH_DST_MAC, dstMac);
  putMac(e + NH_SRC_MAC, srcMac);
  return 0;
}

/** Deletes next hop `id`: 0, or -1 when it was not set. */
export function nhDelete(id: u32): i32 {
  if (id >= MAX_NEXT_HOPS || nhBase == 0) return -1;
  const e = nhEntry(id);
  if (load<u8>(e + NH_KIND) == NH_KIND_NONE) return -1;
  store<u64>(e, 0);
  store<u64>(e, 0, 8);
  nhCount--;
  return 0;
}

/** Removes every next hop. */
export function nhReset(): void {
  if (nhBase != 0) memory.fill(nhBase, 0, <usize>MAX_NEXT_HOPS * NH_SIZE);
  nhCount = 0;
}

/** Number of next hops set. */
export function nhSize(): u32 {
  return nhCount;
}

/** Address of next hop `id`'s entry (0 when absent), for the host to read. */
export function nhEntryPtr(id: u32): usize {
  if (id >= MAX_NEXT_HOPS || nhBase == 0) return 0;
  const e = nhEntry(id);
  return load<u8>(e + NH_KIND) == NH_KIND_NONE ? 0 : e;
}

// IPv4 address of each routed port (u32 host order, 0: none), the source of the ICMP errors
// it sends; allocated on first use.
let portAddrs: usize = 0;

/** Sets the IPv4 address of routed `port` (0: none). 0, or -1. */
export function l3SetPortAddress(port: u32, addr: u32): i32 {
  if (port >= <u32>MAX_PORTS) return -1;
  if (portAddrs == 0) {
    if (addr == 0) return 0;
    portAddrs = heapAlloc(<usize>MAX_PORTS * 4);
    if (portAddrs == 0) return -1;
  }
  store<u32>(portAddrs + <usize>port * 4, addr);
  return 0;
}

// Router MAC of each routed port (6 bytes in 8, 0: none), the source of its ARP replies.
let portMacs: usize = 0;

/** Sets the MAC address of routed `port` (0: none). 0, or -1. */
export function l3SetPortMac(port: u32, mac: u64): i32 {
  if (port >= <u32>MAX_PORTS) return -1;
  if (portMacs == 0) {
    if (mac == 0) return 0;
    portMacs = heapAlloc(<usize>MAX_PORTS * 8);
    if (portMacs == 0) return -1;
  }
  const p = portMacs + <usize>port * 8;
  for (let i: usize = 0; i < 6; i++) store<u8>(p + i, <u8>(mac >> (40 - 8 * i)));
  store<u16>(p + 6, mac == 0 ? 0 : 1);
  return 0;
}

/** Trace word B for IPv6 handed to the l3v6 stage. */
export const L3_TRACE_IPV6: u32 = 0xfffffffb;

/** Trace word B for an ARP request answered by the port. */
export const L3_TRACE_ARP_REPLY: u32 = 0xfffffffd;

/**
 * Answers an Ethernet/IPv4 ARP request for the ingress port's own address (the port needs an
 * address and a MAC), in place: the reply goes back out of the ingress port, VLAN tags kept.
 * Returns false for anything else.
 */
function arpReply(d: usize, f: usize, inPort: u32): bool {
  if (portAddrs == 0 || portMacs == 0) return false;
  const addr = load<u32>(portAddrs + <usize>inPort * 4);
  const mac = portMacs + <usize>inPort * 8;
  if (addr == 0 || load<u16>(mac + 6) == 0) return false;
  if (load<u16>(d + D_OUTER + L_ETH_TYPE) != 0x0806) return false;
  const arp = f + 14 + <usize>load<u8>(d + D_OUTER + L_VLAN_COUNT) * 4;
  // htype 1, ptype IPv4, hlen 6, plen 4, op 1 (request), target = our address.
  if (be32(arp) != 0x00010800 || be32(arp + 4) != 0x06040001) return false;
  if (be32(arp + 24) != addr) return false;
  const senderMacHi = load<u32>(arp + 8);
  const senderMacLo = load<u16>(arp + 12);
  const senderIp = load<u32>(arp + 14);
  store<u32>(f, senderMacHi);
  store<u16>(f + 4, senderMacLo);
  store<u32>(f + 6, load<u32>(mac));
  store<u16>(f + 10, load<u16>(mac + 4));
  store<u16>(arp + 6, bswap<u16>(2));
  store<u32>(arp + 8, load<u32>(mac));
  store<u16>(arp + 12, load<u16>(mac + 4));
  store<u32>(arp + 14, bswap<u32>(addr));
  store<u32>(arp + 18, senderMacHi);
  store<u16>(arp + 22, senderMacLo);
  store<u32>(arp + 24, senderIp);
  store<u16>(d + D_OUT_PORT, <u16>inPort);
  store<u8>(d + D_VERDICT, V_FORWARD);
  store<u8>(d + D_NEXT, NODE_TX);
  store<u32>(d + D_TRACE_B, L3_TRACE_ARP_REPLY);
  return true;
}

/** Trace word B for a packet answered with an ICMP time-exceeded message. */
export const L3_TRACE_ICMP_TIME_EXCEEDED: u32 = 0xfffffffe;

/**
 * Turns a packet into an ICMP error message (RFC 792; `typeCode` = type << 8 | code, `rest`
 * the message's second word) back to its sender, out of its ingress port, when that port has
 * an address: Ethernet addresses swapped, IPv4 from the port's address, and the original IP
 * header plus 8 bytes quoted (the quote is written in place, the new headers in front of
 * it). Not for non-first fragments, ICMP error messages, or packets from 0.0.0.0 or
 * multicast/broadcast sources (RFC 1812 4.3.2.7). Returns false when no message is sent.
 * Used for time exceeded here and fragmentation needed in mtu.ts.
 */
export function icmpError(
  d: usize,
  f: usize,
  ip: usize,
  inPort: u32,
  typeCode: u32,
  rest: u32,
  trace: u32,
): bool {
  if (portAddrs == 0) return false;
  const addr = load<u32>(portAddrs + <usize>inPort * 4);
  if (addr == 0) return false;
  if ((load<u8>(d + D_FLAGS) & F_FRAGMENT) != 0 && (be32(ip + 4) & 0x1fff) != 0) return false;
  if (load<u8>(ip + 9) == 1 && load<u8>(d + D_OUTER + L_L4_KIND) == L4_ICMP) {
    const type = <u32>load<u16>(d + D_OUTER + L_SPORT);
    if (type == 3 || type == 4 || type == 5 || type == 11 || type == 12) return false;
  }
  const src = be32(ip + 12);
  if (src == 0 || src >= 0xe0000000) return false;
  const l3 = <u32>load<u16>(d + D_OUTER + L_L3);
  const off = load<u32>(d + D_OFF);
  // Room for the new headers before the quote, inside the slot's headroom.
  if (off + l3 < SLOT_GUARD + 42) return false;
  const ihl = ((<u32>load<u8>(ip)) & 0xf) * 4;
  const total = <u32>bswap<u16>(load<u16>(ip + 2));
  const quoted = total < ihl + 8 ? total : ihl + 8;
  // Read everything the new headers overwrite first: they may overlap the old Ethernet header.
  const dstMacHi = load<u32>(f);
  const dstMacLo = load<u16>(f + 4);
  const srcMacHi = load<u32>(f + 6);
  const srcMacLo = load<u16>(f + 10);
  const o = ip - 42;
  store<u32>(o, srcMacHi);
  store<u16>(o + 4, srcMacLo);
  store<u32>(o + 6, dstMacHi);
  store<u16>(o + 10, dstMacLo);
  store<u16>(o + 12, bswap<u16>(0x0800));
  const nip = o + 14;
  store<u32>(nip, bswap<u32>(0x45000000 | (28 + quoted)));
  store<u32>(nip + 4, 0);
  store<u32>(nip + 8, bswap<u32>(0x40010000));
  store<u32>(nip + 12, bswap<u32>(addr));
  store<u32>(nip + 16, bswap<u32>(src));
  store<u16>(nip + 10, bswap<u16>(<u16>(~onesSum(nip, 20, 0) & 0xffff)));
  const icmp = nip + 20;
  store<u32>(icmp, bswap<u32>(typeCode << 16));
  store<u32>(icmp + 4, bswap<u32>(rest));
  store<u16>(icmp + 2, bswap<u16>(<u16>(~onesSum(icmp, 8 + quoted, 0) & 0xffff)));
  store<u32>(d + D_OFF, off + l3 - 42);
  store<u32>(d + D_LEN, 42 + quoted);
  store<u16>(d + D_OUT_PORT, <u16>inPort);
  store<u8>(d + D_VERDICT, V_FORWARD);
  store<u8>(d + D_NEXT, NODE_TX);
  store<u32>(d + D_TRACE_B, trace);
  return true;
}

function drop(d: usize, reason: u8): void {
  store<u8>(d + D_DROP, reason);
  store<u8>(d + D_NEXT, NODE_DROP);
}

/** L3 stage: route each IPv4 packet of the vector in its ingress port's VRF. */
export function l3Stage(vec: usize, n: i32): i32 {
  // Pass 1: where each packet's first-level route entry is. Pass 2 loads them all in a tight
  // loop so that the cache misses of a big table overlap; pass 3 finishes each packet.
  const entries = lookupScratch;
  for (let i: i32 = 0; i < n; i++) {
    const slot = <u32>load<u16>(vec + <usize>i * 2);
    const d = desc(slot);
    const pe = portEntry(<u32>load<u16>(d + D_IN_PORT));
    store<u16>(d + D_OUT_PORT, NONE16);
    store<u32>(d + D_TRACE_A, 0);
    if (entries == 0) continue;
    store<u32>(entries + <usize>i * 4, 0);
    if (load<u8>(pe + P_ROUTED) == 0 || load<u8>(d + D_OUTER + L_IP_VER) != 4) continue;
    const ip = slotBase(slot) + load<u32>(d + D_OFF) + <usize>load<u16>(d + D_OUTER + L_L3);
    const dst = be32(ip + 16);
    store<u32>(d + D_TRACE_A, dst);
    store<u32>(entries + <usize>i * 4, <u32>lpmFirstLevelPtr(<u32>load<u16>(pe + P_VRF), dst));
  }
  if (entries != 0) {
    for (let i: i32 = 0; i < n; i++) {
      const p = <usize>load<u32>(entries + <usize>i * 4);
      store<u32>(entries + <usize>i * 4, p == 0 ? 0 : load<u32>(p));
    }
    // Pass 2b: the same for the group level. Few packets need it (prefixes longer than the
    // first level), but each of those misses the cache again; followed one packet at a
    // time in pass 3, these misses did not overlap and cost more than the first level.
    for (let i: i32 = 0; i < n; i++) {
      const e = load<u32>(entries + <usize>i * 4);
      if (!lpmIsGroup(e)) continue;
      const d = desc(<u32>load<u16>(vec + <usize>i * 2));
      const vrf = <u32>load<u16>(portEntry(<u32>load<u16>(d + D_IN_PORT)) + P_VRF);
      store<u32>(entries + <usize>i * 4, lpmResolveEntry(vrf, e, load<u32>(d + D_TRACE_A)));
    }
  }
  for (let i: i32 = 0; i < n; i++) {
    const slot = <u32>load<u16>(vec + <usize>i * 2);
    const d = desc(slot);
    const f = slotBase(slot) + load<u32>(d + D_OFF);
    const pe = portEntry(<u32>load<u16>(d + D_IN_PORT));
    const first = entries == 0 ? 0 : load<u32>(entries + <usize>i * 4);
    store<u32>(d + D_TRACE_B, L3_TRACE_MISS);
    if (load<u8>(pe + P_ROUTED) == 0 || load<u8>(d + D_OUTER + L_IP_VER) != 4) {
      // IPv6 is routed by the l3v6 stage (assembly/l3v6.ts).
      if (load<u8>(pe + P_ROUTED) != 0 && load<u8>(d + D_OUTER + L_IP_VER) == 6) {
        store<u8>(d + D_NEXT, NODE_L3V6);
        store<u32>(d + D_TRACE_B, L3_TRACE_IPV6);
        continue;
      }
      if (load<u8>(pe + P_ROUTED) == 0 || !arpReply(d, f, <u32>load<u16>(d + D_IN_PORT)))
        drop(d, DROP_NOT_ROUTABLE);
      continue;
    }
    const ip = f + <usize>load<u16>(d + D_OUTER + L_L3);
    const nh = lpmResolve(<u32>load<u16>(pe + P_VRF), first, load<u32>(d + D_TRACE_A));
    if (nh < 0) {
      drop(d, DROP_NO_ROUTE);
      continue;
    }
    store<u32>(d + D_TRACE_B, <u32>nh);
    if (nhBase == 0 || <u32>nh >= MAX_NEXT_HOPS) {
      drop(d, DROP_NEXT_HOP_MISSING);
      continue;
    }
    const e = nhEntry(<u32>nh);
    const kind = load<u8>(e + NH_KIND);
    if (kind != NH_KIND_FORWARD) {
      drop(d, kind == NH_KIND_BLACKHOLE ? DROP_BLACKHOLE : DROP_NEXT_HOP_MISSING);
      continue;
    }
    const ttl = <u32>load<u8>(ip + 8);
    if (ttl <= 1) {
      const inPort = <u32>load<u16>(d + D_IN_PORT);
      if (!icmpError(d, f, ip, inPort, 0x0b00, 0, L3_TRACE_ICMP_TIME_EXCEEDED))
        drop(d, DROP_TTL_EXCEEDED);
      continue;
    }
    if (l3TooBig(d, f, ip, <u32>load<u16>(d + D_IN_PORT), <u32>load<u16>(e + NH_PORT))) continue;
    store<u8>(ip + 8, <u8>(ttl - 1));
    // RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), with m' = m - 0x0100 (TTL is the high byte
    // of its 16-bit word), so ~m + m' = 0xfeff.
    const hc = <u32>bswap<u16>(load<u16>(ip + 10));
    let sum = (~hc & 0xffff) + 0xfeff;
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    store<u16>(ip + 10, bswap<u16>(<u16>(~sum & 0xffff)));
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
