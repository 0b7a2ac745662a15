// Neighbor Discovery (RFC 4861) code shared by the two responders: the
// bridge gateways (gateway.ts, SVIs) and the routed ports (l3v6.ts). Each caller decides in
// which order it asks "is this NS for one of my addresses?" and "is it valid?" (a gateway
// passes other hosts' solicitations on to L2 untouched; a routed port drops every invalid
// one), and where the advertisement goes; the checks and the advertisement are the same.
import {
  D_OFF,
  D_LEN,
  D_IN_PORT,
  D_OUT_PORT,
  D_VERDICT,
  D_NEXT,
  D_OUTER,
  V_FORWARD,
  L_L3,
  L_L4,
  L_SPORT,
  L_DPORT,
  SLOT_GUARD,
  slotSize,
  slotBase,
  be16,
  be32,
} from './layout';
import { icmp6Checksum } from './checksum';

/** True for the all-zero address (::). */
export function isUnspecified6(a: usize): bool {
  return load<u64>(a) == 0 && load<u64>(a + 8) == 0;
}

/** True when the 16-byte addresses at `a` and `b` are equal. */
export function sameAddress6(a: usize, b: usize): bool {
  return load<u64>(a) == load<u64>(b) && load<u64>(a + 8) == load<u64>(b + 8);
}

/** True for a solicited-node multicast address ff02::1:ffXX:XXXX (RFC 4291 2.7.1). */
export function isSolicitedNode(a: usize): bool {
  return (
    be32(a) == 0xff020000 && load<u32>(a + 4) == 0 && be32(a + 8) == 1 && load<u8>(a + 12) == 0xff
  );
}

/** Length of the ICMPv6 message of the parsed IPv6 packet described by `d` in frame `f`. */
export function icmp6Length(d: usize, f: usize): u32 {
  const l3 = <u32>load<u16>(d + D_OUTER + L_L3);
  return l3 + 40 + be16(f + l3 + 4) - <u32>load<u16>(d + D_OUTER + L_L4);
}

/**
 * True when the Neighbor Solicitation in frame `f` (described by `d`) asks for `addr`: its
 * target is `addr` and it is sent to `addr` or to `addr`'s solicited-node address. The
 * message must hold at least 24 bytes.
 */
export function nsAsksFor(d: usize, f: usize, addr: usize): bool {
  const dst = f + <usize>load<u16>(d + D_OUTER + L_L3) + 24;
  const target = f + <usize>load<u16>(d + D_OUTER + L_L4) + 8;
  if (!sameAddress6(target, addr)) return false;
  if (sameAddress6(dst, addr)) return true;
  return (
    isSolicitedNode(dst) &&
    load<u8>(dst + 13) == load<u8>(addr + 13) &&
    load<u16>(dst + 14) == load<u16>(addr + 14)
  );
}

/**
 * RFC 4861 7.1.1 validity of the Neighbor Solicitation in frame `f` (described by `d`): hop
 * limit 255, code 0, ICMP length >= 24, checksum, target not multicast, every option of
 * non-zero length within the message; from :: only to a solicited-node address and without a
 * source link-layer address option.
 */
export function nsValid(d: usize, f: usize): bool {
  const ip = f + <usize>load<u16>(d + D_OUTER + L_L3);
  const icmp = f + <usize>load<u16>(d + D_OUTER + L_L4);
  const len = icmp6Length(d, f);
  if (load<u8>(ip + 7) != 255 || load<u16>(d + D_OUTER + L_DPORT) != 0) return false;
  if (len < 24 || icmp6Checksum(ip + 8, ip + 24, icmp, len) != 0) return false;
  if (load<u8>(icmp + 8) == 0xff) return false;
  const fromUnspecified = isUnspecified6(ip + 8);
  let o: u32 = 24;
  while (o < len) {
    if (len - o < 2) return false;
    const olen = <u32>load<u8>(icmp + o + 1) * 8;
    if (olen == 0 || olen > len - o) return false;
    if (fromUnspecified && load<u8>(icmp + o) == 1) return false;
    o += olen;
  }
  return !fromUnspecified || isSolicitedNode(ip + 24);
}

/**
 * Turns the (validated) Neighbor Solicitation of `slot` into the Neighbor Advertisement of
 * `addr` with link-layer address `mac` (6 bytes), in place (RFC 4861 7.2.4): Ethernet/VLAN
 * header kept with the addresses set, solicited and override flags (solicited clear and to
 * ff02::1 when the source was ::), router flag when `router`, target link-layer address
 * option. The advertisement (header + 72 bytes) may be longer than the solicitation: when
 * the slot has no room behind the frame, it moves towards the headroom. The parsed layer is
 * updated to describe it. False (nothing written) when neither fits.
 */
export function naBuild(slot: u32, d: usize, addr: usize, mac: usize, router: bool): bool {
  const off = load<u32>(d + D_OFF);
  const f = slotBase(slot) + off;
  const hl = <u32>load<u16>(d + D_OUTER + L_L3);
  const newLen = hl + 72;
  let start = off;
  if (off > <u32>slotSize - SLOT_GUARD - newLen) {
    const grow = newLen - load<u32>(d + D_LEN);
    if (off < SLOT_GUARD + grow) return false;
    start = off - grow;
  }
  const ip = f + hl;
  // Everything the NA needs from the NS, read before it is overwritten.
  const dad = isUnspecified6(ip + 8);
  const srcHi = load<u64>(ip + 8);
  const srcLo = load<u64>(ip + 16);
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
  store<u32>(nf + 6, load<u32>(mac));
  store<u16>(nf + 10, load<u16>(mac + 4));
  const nip = nf + hl;
  store<u32>(nip, bswap<u32>(0x60000000));
  store<u32>(nip + 4, bswap<u32>((32 << 16) | (58 << 8) | 255));
  store<u64>(nip + 8, load<u64>(addr));
  store<u64>(nip + 16, load<u64>(addr + 8));
  if (dad) {
    store<u64>(nip + 24, bswap<u64>(0xff02000000000000));
    store<u64>(nip + 32, bswap<u64>(1));
  } else {
    store<u64>(nip + 24, srcHi);
    store<u64>(nip + 32, srcLo);
  }
  const na = nip + 40;
  store<u32>(na, bswap<u32>(0x88000000));
  const flags: u32 = (router ? 0x80000000 : 0) | (dad ? 0 : 0x40000000) | 0x20000000;
  store<u32>(na + 4, bswap<u32>(flags));
  store<u64>(na + 8, load<u64>(addr));
  store<u64>(na + 16, load<u64>(addr + 8));
  store<u16>(na + 24, bswap<u16>(0x0201));
  store<u32>(na + 26, load<u32>(mac));
  store<u16>(na + 30, load<u16>(mac + 4));
  store<u16>(na + 2, bswap<u16>(<u16>icmp6Checksum(nip + 8, nip + 24, na, 32)));
  store<u32>(d + D_OFF, start);
  store<u32>(d + D_LEN, newLen);
  // Later stages (vxlan-encap hashes the flow) see the NA, not the NS.
  store<u16>(d + D_OUTER + L_L4, <u16>(hl + 40));
  store<u16>(d + D_OUTER + L_SPORT, 136);
  store<u16>(d + D_OUTER + L_DPORT, 0);
  return true;
}

/** nsAnswer: the Neighbor Advertisement is built. */
export const NS_ANSWERED: i32 = 0;
/** nsAnswer: the solicitation fails RFC 4861 7.1.1. */
export const NS_INVALID: i32 = 1;
/** nsAnswer: not for one of the addresses (or no room for the advertisement). */
export const NS_NOT_MINE: i32 = 2;

/**
 * Answers the Neighbor Solicitation of `slot` (described by `d`) when it asks for one of the
 * `count` 16-byte addresses at `addrs`, with that address's advertisement from `mac`
 * (naBuild). A routed port validates first (every invalid NS is NS_INVALID); a bridge gateway
 * (`askFirst`) leaves other hosts' solicitations alone and validates only its own, except
 * that a message too short to hold a target is NS_INVALID either way. An answer leaves
 * through the ingress port, to stage `next` (tx, or vxlan-encap for a tunnel port).
 */
export function nsAnswer(
  slot: u32,
  d: usize,
  addrs: usize,
  count: u32,
  mac: usize,
  router: bool,
  askFirst: bool,
  next: u8,
): i32 {
  const f = slotBase(slot) + load<u32>(d + D_OFF);
  if (icmp6Length(d, f) < 24) return NS_INVALID;
  if (!askFirst && !nsValid(d, f)) return NS_INVALID;
  let addr: usize = 0;
  for (let i: u32 = 0; i < count; i++) {
    if (nsAsksFor(d, f, addrs + <usize>i * 16)) addr = addrs + <usize>i * 16;
  }
  if (addr == 0) return NS_NOT_MINE;
  if (askFirst && !nsValid(d, f)) return NS_INVALID;
  if (!naBuild(slot, d, addr, mac, router)) return NS_NOT_MINE;
  store<u16>(d + D_OUT_PORT, load<u16>(d + D_IN_PORT));
  store<u8>(d + D_VERDICT, V_FORWARD);
  store<u8>(d + D_NEXT, next);
  return NS_ANSWERED;
}
