// VXLAN decap and encap stages (RFC 7348; IPv4 and IPv6 underlay).
import {
  D_OFF,
  D_LEN,
  D_IN_PORT,
  D_OUT_PORT,
  D_FLAGS,
  D_VNI,
  D_FLOW_HASH,
  D_DROP,
  D_NEXT,
  D_TRACE_A,
  D_TRACE_B,
  D_OUTER,
  D_INNER,
  L_ETH,
  L_L3,
  L_L4,
  L_IP_VER,
  LAYER_SIZE,
  NONE16,
  F_DECAP,
  F_ENCAP,
  P_KIND,
  P_TUNNEL,
  PORT_KIND_TUNNEL,
  T_USED,
  T_IP_VER,
  T_TTL,
  T_PORT,
  T_UNDERLAY_PORT,
  T_VNI,
  T_LOCAL_MAC,
  T_REMOTE_MAC,
  T_LOCAL_IP,
  T_REMOTE_IP,
  MAX_TUNNELS,
  SLOT_GUARD,
  ENCAP_CACHE_SIZE,
  encapCacheBase,
  C_RX_PKTS,
  C_RX_BYTES,
  desc,
  slotBase,
  portEntry,
  tunnelEntry,
  countPort,
  be16,
  putBe16,
  putBe32,
} from './layout';
import {
  DROP_VXLAN_NO_TUNNEL,
  DROP_TUNNEL_MISSING,
  DROP_BAD_DESCRIPTOR,
  DROP_ENCAP_TOO_LONG,
  DROP_TUNNEL_MTU_EXCEEDED,
} from './drops';
import { tunnelFits } from './mtu';
import { NODE_DROP, NODE_TX } from './nodes';
import { flowHashOfLayer } from './flowhash';
import { VXLAN_PORT } from './parse';
import { ingressNode } from './ingress';

/** findTunnel result when no tunnel matches. */
export const NO_TUNNEL: u32 = 0xffffffff;

// Small fixed-size copies as plain loads and stores: memory.copy/fill leave compiled code.
function copy6(dst: usize, src: usize): void {
  store<u32>(dst, load<u32>(src));
  store<u16>(dst, load<u16>(src, 4), 4);
}
function copy16(dst: usize, src: usize): void {
  store<u64>(dst, load<u64>(src));
  store<u64>(dst, load<u64>(src, 8), 8);
}
function copy24(dst: usize, src: usize): void {
  store<u64>(dst, load<u64>(src));
  store<u64>(dst, load<u64>(src, 8), 8);
  store<u64>(dst, load<u64>(src, 16), 16);
}

function bytesEqual(a: usize, b: usize, n: usize): bool {
  for (let i: usize = 0; i < n; i++) if (load<u8>(a + i) != load<u8>(b + i)) return false;
  return true;
}

// Finds the tunnel terminating this packet: VNI, underlay version, local and remote address.
function findTunnel(f: usize, d: usize): u32 {
  const ver = <u32>load<u8>(d + D_OUTER + L_IP_VER);
  const l3 = f + <usize>load<u16>(d + D_OUTER + L_L3);
  const alen: usize = ver == 4 ? 4 : 16;
  const src = ver == 4 ? l3 + 12 : l3 + 8;
  const dst = src + alen;
  const vni = load<u32>(d + D_VNI);
  for (let t: u32 = 0; t < <u32>MAX_TUNNELS; t++) {
    const te = tunnelEntry(t);
    if (load<u8>(te + T_USED) == 0 || <u32>load<u8>(te + T_IP_VER) != ver) continue;
    if (load<u32>(te + T_VNI) != vni) continue;
    if (bytesEqual(te + T_REMOTE_IP, src, alen) && bytesEqual(te + T_LOCAL_IP, dst, alen)) return t;
  }
  return NO_TUNNEL;
}

// True when the packet is addressed to one of our VTEP addresses.
function addressedToVtep(f: usize, d: usize): bool {
  const ver = <u32>load<u8>(d + D_OUTER + L_IP_VER);
  const l3 = f + <usize>load<u16>(d + D_OUTER + L_L3);
  const alen: usize = ver == 4 ? 4 : 16;
  const dst = (ver == 4 ? l3 + 12 : l3 + 8) + alen;
  for (let t: u32 = 0; t < <u32>MAX_TUNNELS; t++) {
    const te = tunnelEntry(t);
    if (load<u8>(te + T_USED) == 0 || <u32>load<u8>(te + T_IP_VER) != ver) continue;
    if (bytesEqual(te + T_LOCAL_IP, dst, alen)) return true;
  }
  return false;
}

/** VXLAN decap stage: terminate packets of known tunnels; the inner frame continues to L2. */
export function vxlanDecapStage(vec: usize, n: i32): i32 {
  for (let i: i32 = 0; i < n; i++) {
    const slot = <u32>load<u16>(vec + <usize>i * 2);
    const d = desc(slot);
    const off = load<u32>(d + D_OFF);
    const f = slotBase(slot) + off;
    const t = findTunnel(f, d);
    store<u32>(d + D_TRACE_A, t);
    store<u32>(d + D_TRACE_B, load<u32>(d + D_VNI));
    if (t == NO_TUNNEL) {
      if (addressedToVtep(f, d)) {
        store<u8>(d + D_DROP, DROP_VXLAN_NO_TUNNEL);
        store<u8>(d + D_NEXT, NODE_DROP);
      } else {
        // Not ours to terminate: an ordinary packet of its ingress port.
        store<u8>(d + D_NEXT, ingressNode(<u32>load<u16>(d + D_IN_PORT), d));
      }
      continue;
    }
    const te = tunnelEntry(t);
    const innerEth = <u32>load<u16>(d + D_INNER + L_ETH);
    const udp = <u32>load<u16>(d + D_OUTER + L_L4);
    const innerEnd = udp + be16(f + udp + 4);
    const innerLen = innerEnd - innerEth;
    // The inner layer becomes the packet's only layer, rebased to the new frame start.
    copy24(d + D_OUTER, d + D_INNER);
    store<u64>(d + D_INNER, 0);
    store<u64>(d + D_INNER, 0, 8);
    store<u64>(d + D_INNER, 0, 16);
    store<u16>(d + D_INNER + L_L3, NONE16);
    store<u16>(d + D_INNER + L_L4, NONE16);
    store<u16>(d + D_OUTER + L_ETH, 0);
    const l3 = <u32>load<u16>(d + D_OUTER + L_L3);
    if (l3 != <u32>NONE16) store<u16>(d + D_OUTER + L_L3, <u16>(l3 - innerEth));
    const l4 = <u32>load<u16>(d + D_OUTER + L_L4);
    if (l4 != <u32>NONE16) store<u16>(d + D_OUTER + L_L4, <u16>(l4 - innerEth));
    store<u32>(d + D_OFF, off + innerEth);
    store<u32>(d + D_LEN, innerLen);
    store<u8>(d + D_FLAGS, F_DECAP);
    const port = <u32>load<u16>(te + T_PORT);
    store<u16>(d + D_IN_PORT, <u16>port);
    countPort(port, C_RX_PKTS, 1);
    countPort(port, C_RX_BYTES, innerLen);
    store<u8>(d + D_NEXT, ingressNode(port, d));
  }
  return n;
}

function onesSum(p: usize, len: u32, sum: u32): u32 {
  let i: u32 = 0;
  for (; i + 1 < len; i += 2) sum += be16(p + i);
  if (i < len) sum += (<u32>load<u8>(p + i)) << 8;
  return sum;
}

function fold(sum: u32): u32 {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

/** Encapsulated UDP source ports are VXLAN_SPORT_BASE | (flow hash & 0x3fff). */
export const VXLAN_SPORT_BASE: u32 = 49152;

// Outer headers of IPv4-underlay tunnels, built once per encap stage run for each tunnel it
// uses (the host may rewrite a tunnel entry between batches, never during one): 50 bytes of
// Ethernet, IPv4 (total length and checksum 0), UDP (source port and length 0) and VXLAN.
// A packet then costs three 16-byte copies and four 16-bit patches; the IPv4 checksum is the
// template's sum plus the total length (RFC 1071 sums are order-free).
// Cache entry (ENCAP_CACHE_SIZE bytes per tunnel, zeroed by layoutInit): template, sum, stamp.
const TPL_SUM: usize = 64;
const TPL_EPOCH: usize = 68;
let encapEpoch: u32 = 0;

function cacheEntry(t: u32): usize {
  return encapCacheBase + <usize>t * ENCAP_CACHE_SIZE;
}

function buildTemplate(t: u32, te: usize): usize {
  const f = cacheEntry(t);
  copy6(f, te + T_REMOTE_MAC);
  copy6(f + 6, te + T_LOCAL_MAC);
  putBe16(f + 12, 0x0800);
  const ip = f + 14;
  putBe32(ip, 0x45000000);
  putBe32(ip + 4, 0x00004000);
  store<u8>(ip + 8, load<u8>(te + T_TTL));
  store<u8>(ip + 9, 17);
  putBe16(ip + 10, 0);
  store<u32>(ip + 12, load<u32>(te + T_LOCAL_IP));
  store<u32>(ip + 16, load<u32>(te + T_REMOTE_IP));
  const udp = ip + 20;
  putBe32(udp, VXLAN_PORT);
  putBe32(udp + 4, 0);
  putBe32(udp + 8, 0x08000000);
  putBe32(udp + 12, load<u32>(te + T_VNI) << 8);
  store<u32>(f + TPL_SUM, onesSum(ip, 20, 0));
  store<u32>(f + TPL_EPOCH, encapEpoch);
  return f;
}

/** VXLAN encap stage: wrap frames forwarded to a tunnel port; they leave on its underlay port. */
export function vxlanEncapStage(vec: usize, n: i32): i32 {
  if (++encapEpoch == 0) {
    // Wrapped: a stale stamp could match again; forget them all.
    for (let t: u32 = 0; t < <u32>MAX_TUNNELS; t++) store<u32>(cacheEntry(t) + TPL_EPOCH, 0);
    encapEpoch = 1;
  }
  for (let i: i32 = 0; i < n; i++) {
    const slot = <u32>load<u16>(vec + <usize>i * 2);
    const d = desc(slot);
    const pe = portEntry(<u32>load<u16>(d + D_OUT_PORT));
    const t = <u32>load<u16>(pe + P_TUNNEL);
    store<u32>(d + D_TRACE_A, t);
    if (
      load<u8>(pe + P_KIND) != PORT_KIND_TUNNEL ||
      t >= <u32>MAX_TUNNELS ||
      load<u8>(tunnelEntry(t) + T_USED) == 0
    ) {
      store<u8>(d + D_DROP, DROP_TUNNEL_MISSING);
      store<u8>(d + D_NEXT, NODE_DROP);
      continue;
    }
    const te = tunnelEntry(t);
    const v6 = load<u8>(te + T_IP_VER) == 6;
    const ipLen: u32 = v6 ? 40 : 20;
    const hdr: u32 = 14 + ipLen + 16;
    const off = load<u32>(d + D_OFF);
    const len = load<u32>(d + D_LEN);
    if (off < SLOT_GUARD + hdr) {
      store<u8>(d + D_DROP, DROP_BAD_DESCRIPTOR);
      store<u8>(d + D_NEXT, NODE_DROP);
      continue;
    }
    if (len + hdr - 14 > 0xffff) {
      store<u8>(d + D_DROP, DROP_ENCAP_TOO_LONG);
      store<u8>(d + D_NEXT, NODE_DROP);
      continue;
    }
    if (!tunnelFits(<u32>load<u16>(d + D_OUT_PORT), len)) {
      store<u8>(d + D_DROP, DROP_TUNNEL_MTU_EXCEEDED);
      store<u8>(d + D_NEXT, NODE_DROP);
      continue;
    }
    // The flow hash is computed only here, by the one stage that needs it (it costs about as
    // much as parsing a frame).
    const hash = flowHashOfLayer(slotBase(slot) + off, d + D_OUTER);
    store<u32>(d + D_FLOW_HASH, hash);
    const f = slotBase(slot) + off - hdr;
    if (!v6) {
      const c = cacheEntry(t);
      const tpl = load<u32>(c + TPL_EPOCH) == encapEpoch ? c : buildTemplate(t, te);
      v128.store(f, v128.load(tpl));
      v128.store(f, v128.load(tpl, 16), 16);
      v128.store(f, v128.load(tpl, 32), 32);
      store<u16>(f, load<u16>(tpl, 48), 48);
      const udpLen = 16 + len;
      putBe16(f + 16, 20 + udpLen);
      putBe16(f + 24, ~fold(load<u32>(tpl + TPL_SUM) + 20 + udpLen) & 0xffff);
      putBe16(f + 34, VXLAN_SPORT_BASE | (hash & 0x3fff));
      putBe16(f + 38, udpLen);
      store<u32>(d + D_OFF, off - hdr);
      store<u32>(d + D_LEN, len + hdr);
      store<u8>(d + D_FLAGS, load<u8>(d + D_FLAGS) | F_ENCAP);
      store<u16>(d + D_OUT_PORT, load<u16>(te + T_UNDERLAY_PORT));
      store<u32>(d + D_TRACE_B, load<u32>(te + T_VNI));
      store<u8>(d + D_NEXT, NODE_TX);
      continue;
    }
    copy6(f, te + T_REMOTE_MAC);
    copy6(f + 6, te + T_LOCAL_MAC);
    putBe16(f + 12, v6 ? 0x86dd : 0x0800);
    const ip = f + 14;
    const udp = ip + ipLen;
    const udpLen = 16 + len;
    const ttl = <u32>load<u8>(te + T_TTL);
    if (v6) {
      putBe32(ip, 0x60000000 | (hash & 0xfffff));
      putBe16(ip + 4, udpLen);
      store<u8>(ip + 6, 17);
      store<u8>(ip + 7, <u8>ttl);
      copy16(ip + 8, te + T_LOCAL_IP);
      copy16(ip + 24, te + T_REMOTE_IP);
    } else {
      putBe16(ip, 0x4500);
      putBe16(ip + 2, 20 + udpLen);
      putBe32(ip + 4, 0x00004000);
      store<u8>(ip + 8, <u8>ttl);
      store<u8>(ip + 9, 17);
      putBe16(ip + 10, 0);
      store<u32>(ip + 12, load<u32>(te + T_LOCAL_IP));
      store<u32>(ip + 16, load<u32>(te + T_REMOTE_IP));
      putBe16(ip + 10, ~fold(onesSum(ip, 20, 0)) & 0xffff);
    }
    putBe16(udp, VXLAN_SPORT_BASE | (hash & 0x3fff));
    putBe16(udp + 2, VXLAN_PORT);
    putBe16(udp + 4, udpLen);
    putBe16(udp + 6, 0);
    putBe32(udp + 8, 0x08000000);
    putBe32(udp + 12, load<u32>(te + T_VNI) << 8);
    if (v6) {
      // IPv6 forbids a zero UDP checksum here (RFC 8200); compute it over the pseudo-header.
      let sum = onesSum(ip + 8, 32, 0);
      sum += udpLen + 17;
      sum = onesSum(udp, udpLen, sum);
      let c = ~fold(sum) & 0xffff;
      if (c == 0) c = 0xffff;
      putBe16(udp + 6, c);
    }
    store<u32>(d + D_OFF, off - hdr);
    store<u32>(d + D_LEN, len + hdr);
    store<u8>(d + D_FLAGS, load<u8>(d + D_FLAGS) | F_ENCAP);
    store<u16>(d + D_OUT_PORT, load<u16>(te + T_UNDERLAY_PORT));
    store<u32>(d + D_TRACE_B, load<u32>(te + T_VNI));
    store<u8>(d + D_NEXT, NODE_TX);
  }
  return n;
}
