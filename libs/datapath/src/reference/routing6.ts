// Reference l3v6: IPv6 routing, ICMPv6 time exceeded and Neighbor Advertisements written
// plainly for the differential harness. Route tables are one Map per prefix length keyed by
// the masked address as hex text, searched from /128 down to /0; messages are built into new
// arrays with DataView and checksummed from scratch.
import type { RefLayer } from './parser.js';
import type { ReferenceNextHop } from './routing.js';
import {
  icmpv6Checksum,
  icmpv6Message,
  neighborAdvertisement,
  solicitationValid,
  solicitsAddress,
} from './nd.js';

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

function maskedKey(addr: Uint8Array, len: number): string {
  const out = Uint8Array.from(addr.subarray(0, 16));
  for (let i = 0; i < 16; i++) {
    const bits = Math.max(0, Math.min(8, len - i * 8));
    out[i] = out[i]! & ((0xff00 >> bits) & 0xff);
  }
  return hex(out);
}

/** IPv6 route tables per VRF with the lookup of the l3v6 stage. */
export class ReferenceRouter6 {
  private readonly tables = new Map<number, Map<string, number>[]>();

  /** Creates (or empties) the IPv6 table of `vrf`. */
  createVrf(vrf: number): void {
    this.tables.set(
      vrf,
      Array.from({ length: 129 }, () => new Map()),
    );
  }

  /** Deletes the IPv6 table of `vrf`. */
  freeVrf(vrf: number): void {
    this.tables.delete(vrf);
  }

  /** Adds or replaces `addr/len` (16 bytes). */
  addRoute(vrf: number, addr: Uint8Array, len: number, nextHop: number): void {
    this.tables.get(vrf)?.[len]?.set(maskedKey(addr, len), nextHop);
  }

  /** Deletes `addr/len`. */
  deleteRoute(vrf: number, addr: Uint8Array, len: number): void {
    this.tables.get(vrf)?.[len]?.delete(maskedKey(addr, len));
  }

  /** Longest-prefix match: the next hop, or null. */
  lookup(vrf: number, addr: Uint8Array): number | null {
    const table = this.tables.get(vrf);
    if (!table) return null;
    for (let len = 128; len >= 0; len--) {
      const nh = table[len]!.get(maskedKey(addr, len));
      if (nh !== undefined) return nh;
    }
    return null;
  }
}

const isZero = (a: Uint8Array) => a.every((b) => b === 0);
const isLoop = (a: Uint8Array) => a.every((b, i) => b === (i === 15 ? 1 : 0));
const isLinkLocal = (a: Uint8Array) => a[0] === 0xfe && (a[1]! & 0xc0) === 0x80;
/**
 * Why IPv6 with these addresses is never forwarded (RFC 4291), or null: multicast
 * destinations, link-local destinations or sources, unspecified/loopback/multicast sources,
 * unspecified/loopback destinations.
 */
export function unroutable6(src: Uint8Array, dst: Uint8Array): string | null {
  if (dst[0] === 0xff) return 'ipv6-multicast-dst';
  if (isLinkLocal(dst) || isLinkLocal(src)) return 'ipv6-link-local';
  if (src[0] === 0xff || isZero(src) || isLoop(src) || isZero(dst) || isLoop(dst))
    return 'ipv6-bad-address';
  return null;
}

/** What became of a Neighbor Discovery message on a routed port. */
export type NdOutcome = { reply: Uint8Array } | { drop: 'nd-invalid' | 'nd-not-handled' };

/**
 * RFC 4861: a valid Neighbor Solicitation (7.1.1) for `address6` sent to it or to its
 * solicited-node address gets a Neighbor Advertisement (R, S unless the source was ::, O;
 * target link-layer option `mac`), VLAN tags kept; every invalid one is dropped, and other ND
 * messages are not handled.
 */
export function neighborDiscovery(
  frame: Uint8Array,
  layer: RefLayer,
  address6: Uint8Array | null,
  mac: Uint8Array | null,
): NdOutcome {
  if (layer.icmp!.type !== 135) return { drop: 'nd-not-handled' };
  const message = icmpv6Message(frame, layer);
  if (!solicitationValid(frame, layer, message)) return { drop: 'nd-invalid' };
  if (!address6 || !mac || !solicitsAddress(layer, message, address6))
    return { drop: 'nd-not-handled' };
  return { reply: neighborAdvertisement(frame, layer, address6, mac, true) };
}

/**
 * The ICMPv6 error `type`/`code` with second word `word` (RFC 4443: 3 time exceeded, 2
 * packet too big with the MTU) answering `frame` from a port with `address6`, or null when
 * none may be sent: not for ICMPv6 errors (nor ICMPv6 whose header was not parsed: a later
 * fragment might be one) or to multicast/unspecified sources or for multicast destinations.
 * Quotes as much of the packet as keeps the message within 1280 bytes.
 */
export function icmp6Error(
  frame: Uint8Array,
  layer: RefLayer,
  address6: Uint8Array,
  type: number,
  code: number,
  word: number,
): Uint8Array | null {
  const ip = layer.ip;
  if (!ip || ip.version !== 6) return null;
  if (ip.proto === 58 && (!layer.icmp || layer.icmp.type < 128)) return null;
  if (ip.dst[0] === 0xff || ip.src[0] === 0xff || isZero(ip.src)) return null;
  const length = 40 + ((frame[ip.offset + 4]! << 8) | frame[ip.offset + 5]!);
  const quote = frame.slice(ip.offset, ip.offset + Math.min(length, 1280 - 48));
  const out = new Uint8Array(62 + quote.length);
  out.set(frame.subarray(6, 12), 0);
  out.set(frame.subarray(0, 6), 6);
  out.set([0x86, 0xdd], 12);
  const v = new DataView(out.buffer);
  v.setUint32(14, 0x60000000);
  v.setUint16(18, 8 + quote.length);
  out[20] = 58;
  out[21] = 64;
  out.set(address6, 22);
  out.set(ip.src, 38);
  const icmp = out.subarray(54);
  icmp[0] = type;
  icmp[1] = code;
  v.setUint32(58, word >>> 0);
  icmp.set(quote, 8);
  const sum = icmpv6Checksum(address6, ip.src, icmp);
  icmp[2] = sum >> 8;
  icmp[3] = sum & 0xff;
  return out;
}

/** The ICMPv6 time-exceeded message (RFC 4443 3.3, code 0) answering `frame`; see icmp6Error. */
export function timeExceeded6(
  frame: Uint8Array,
  layer: RefLayer,
  address6: Uint8Array,
): Uint8Array | null {
  return icmp6Error(frame, layer, address6, 3, 0, 0);
}

/** The ICMPv6 packet-too-big message (RFC 4443 3.2) carrying `mtu`; see icmp6Error. */
export function packetTooBig6(
  frame: Uint8Array,
  layer: RefLayer,
  address6: Uint8Array,
  mtu: number,
): Uint8Array | null {
  return icmp6Error(frame, layer, address6, 2, 0, mtu);
}

/** Outcome of routing one IPv6 packet. */
export type Route6Outcome = { drop: string } | { outPort: number };

/**
 * Routes one parsed IPv6 packet in `vrf` with `router`'s table and next hops: decrements the
 * hop limit and rewrites the Ethernet addresses in `frame`, or names the drop.
 */
export function route6(
  router: ReferenceRouter6,
  nextHop: (id: number) => ReferenceNextHop | undefined,
  vrf: number,
  frame: Uint8Array,
  layer: RefLayer,
): Route6Outcome {
  const ip = layer.ip!;
  const id = router.lookup(vrf, ip.dst);
  if (id === null) return { drop: 'no-route' };
  const nh = nextHop(id);
  if (!nh) return { drop: 'next-hop-missing' };
  if ('blackhole' in nh) return { drop: 'blackhole' };
  const hopLimit = frame[ip.offset + 7]!;
  if (hopLimit <= 1) return { drop: 'hop-limit-exceeded' };
  frame[ip.offset + 7] = hopLimit - 1;
  frame.set(nh.dstMac, 0);
  frame.set(nh.srcMac, 6);
  return { outPort: nh.port };
}
