// Gateway stage: SVI responders of a bridge. An ARP request for one of the bridge's gateway
// IPv4 addresses is answered with an ARP reply, a valid Neighbor Solicitation (RFC 4861
// 7.1.1) for one of its gateway IPv6 addresses with a Neighbor Advertisement; both are built
// in place and sent back out of the ingress port (a tunnel port: through vxlan-encap). Only
// ARP and NS frames on bridges with a gateway enter this stage (see forward.ts); everything
// it does not answer goes on to L2 unchanged.
import {
  D_OFF,
  D_IN_PORT,
  D_OUT_PORT,
  D_VERDICT,
  D_NEXT,
  D_TRACE_A,
  D_TRACE_B,
  D_OUTER,
  L_ETH_TYPE,
  L_VLAN_COUNT,
  L_IP_VER,
  L_PROTO,
  L_L4_KIND,
  L_SPORT,
  L4_ICMP,
  P_BRIDGE,
  P_KIND,
  PORT_KIND_TUNNEL,
  MAX_BRIDGES,
  NONE16,
  V_FORWARD,
  counting,
  desc,
  slotBase,
  portEntry,
  be32,
} from './layout';
import { NODE_L2, NODE_TX, NODE_VXLAN_ENCAP } from './nodes';
import { heapAlloc } from './heap';
import { nsAnswer, NS_ANSWERED, NS_INVALID } from './nd';

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

/**
 * Answers a Neighbor Solicitation (RFC 4861 7.1.1) for one of the gateway's IPv6 addresses
 * with a Neighbor Advertisement (nd.ts, router flag set). Solicitations for other addresses
 * pass on to L2 before any validation. Returns GW_TRACE_NA, GW_TRACE_NS_INVALID or
 * GW_TRACE_PASS.
 */
function naReply(g: usize, slot: u32, d: usize, next: u8): u32 {
  const n = <u32>load<u8>(g + G_N6);
  const r = nsAnswer(slot, d, g + G_V6, n, g + G_MAC, true, true, next);
  return r == NS_ANSWERED ? GW_TRACE_NA : r == NS_INVALID ? GW_TRACE_NS_INVALID : GW_TRACE_PASS;
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
    // Replies leave through the ingress port: a tunnel port's through vxlan-encap.
    const next = load<u8>(pe + P_KIND) == PORT_KIND_TUNNEL ? NODE_VXLAN_ENCAP : NODE_TX;
    if (load<u16>(d + D_OUTER + L_ETH_TYPE) != 0x0806) {
      const done = naReply(g, slot, d, next);
      if (done == GW_TRACE_NA) count(g + G_NA_REPLIES);
      store<u32>(d + D_TRACE_B, done);
    } else if (arpReply(g, slotBase(slot) + load<u32>(d + D_OFF), d)) {
      count(g + G_ARP_REPLIES);
      store<u32>(d + D_TRACE_B, GW_TRACE_ARP);
      store<u16>(d + D_OUT_PORT, <u16>inPort);
      store<u8>(d + D_VERDICT, V_FORWARD);
      store<u8>(d + D_NEXT, next);
    }
  }
  return n;
}
