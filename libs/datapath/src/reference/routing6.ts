// Reference l3v6: IPv6 routing, ICMPv6 time exceeded and Neighbor Advertisements written
// plainly for the differential harness. Route tables are one Map per prefix length keyed by
// the masked address as hex text, searched from /128 down to /0; messages are built into new
// arrays with DataView and checksummed from scratch.
import type { RefLayer } from './parser.js';
import type { ReferenceNextHop } from './routing.js';

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

function checksum(chunks: Uint8Array[]): number {
  let sum = 0;
  for (const c of chunks) {
    for (let i = 0; i < c.length; i += 2) sum += ((c[i] ?? 0) << 8) | (c[i + 1] ?? 0);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

// The ICMPv6 pseudo-header (RFC 8200 8.1) followed by the message.
function icmp6Checksum(src: Uint8Array, dst: Uint8Array, message: Uint8Array): number {
  const pseudo = new Uint8Array(40);
  pseudo.set(src, 0);
  pseudo.set(dst, 16);
  new DataView(pseudo.buffer).setUint32(32, message.length);
  pseudo[39] = 58;
  // Chunks are summed on their own 16-bit boundaries: the pseudo-header is 40 bytes.
  return checksum([pseudo, message]);
}

const isZero = (a: Uint8Array) => a.every((b) => b === 0);
const isLoop = (a: Uint8Array) => a.every((b, i) => b === (i === 15 ? 1 : 0));
const isLinkLocal = (a: Uint8Array) => a[0] === 0xfe && (a[1]! & 0xc0) === 0x80;
const sameBytes = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((x, i) => x === b[i]);
const SOLICITED_PREFIX = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff];
const isSolicitedNode = (a: Uint8Array) => SOLICITED_PREFIX.every((b, i) => a[i] === b);
const ALL_NODES = Uint8Array.from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

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
 * target link-layer option `mac`), VLAN tags kept; other ND messages are not handled.
 */
export function neighborDiscovery(
  frame: Uint8Array,
  layer: RefLayer,
  address6: Uint8Array | null,
  mac: Uint8Array | null,
): NdOutcome {
  const ip = layer.ip!;
  const icmp = layer.icmp!;
  if (icmp.type !== 135) return { drop: 'nd-not-handled' };
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const end = ip.offset + 40 + view.getUint16(ip.offset + 4);
  const message = frame.subarray(icmp.offset, end);
  const hopLimit = frame[ip.offset + 7];
  if (hopLimit !== 255 || icmp.code !== 0 || message.length < 24) return { drop: 'nd-invalid' };
  if (icmp6Checksum(ip.src, ip.dst, message) !== 0) return { drop: 'nd-invalid' };
  const target = message.slice(8, 24);
  if (target[0] === 0xff) return { drop: 'nd-invalid' };
  let hasSourceOption = false;
  for (let o = 24; o < message.length;) {
    if (message.length - o < 2) return { drop: 'nd-invalid' };
    const size = message[o + 1]! * 8;
    if (size === 0 || o + size > message.length) return { drop: 'nd-invalid' };
    if (message[o] === 1) hasSourceOption = true;
    o += size;
  }
  const fromUnspecified = isZero(ip.src);
  if (fromUnspecified && (hasSourceOption || !isSolicitedNode(ip.dst)))
    return { drop: 'nd-invalid' };
  if (!address6 || !mac || !sameBytes(target, address6)) return { drop: 'nd-not-handled' };
  const toSolicited =
    isSolicitedNode(ip.dst) && sameBytes(ip.dst.subarray(13), address6.subarray(13));
  if (!sameBytes(ip.dst, address6) && !toSolicited) return { drop: 'nd-not-handled' };
  const out = new Uint8Array(ip.offset + 72);
  out.set(frame.subarray(0, ip.offset));
  const dst = fromUnspecified ? ALL_NODES : ip.src;
  out.set(fromUnspecified ? [0x33, 0x33, 0, 0, 0, 1] : frame.subarray(6, 12), 0);
  out.set(mac, 6);
  const o = new DataView(out.buffer);
  const at = ip.offset;
  o.setUint32(at, 0x60000000);
  o.setUint16(at + 4, 32);
  out[at + 6] = 58;
  out[at + 7] = 255;
  out.set(address6, at + 8);
  out.set(dst, at + 24);
  const na = out.subarray(at + 40);
  na[0] = 136;
  na[4] = fromUnspecified ? 0xa0 : 0xe0;
  na.set(address6, 8);
  na[24] = 2;
  na[25] = 1;
  na.set(mac, 26);
  const sum = icmp6Checksum(address6, dst, na);
  na[2] = sum >> 8;
  na[3] = sum & 0xff;
  return { reply: out };
}

/**
 * The ICMPv6 time-exceeded message (RFC 4443 3.3, code 0) answering `frame` from a port with
 * `address6`, or null when none may be sent: not for ICMPv6 errors (nor ICMPv6 whose header
 * was not parsed: a later fragment might be one) or to multicast/unspecified sources or for
 * multicast destinations. Quotes as much of the packet as keeps the message within 1280 bytes.
 */
export function timeExceeded6(
  frame: Uint8Array,
  layer: RefLayer,
  address6: Uint8Array,
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
  icmp[0] = 3;
  icmp.set(quote, 8);
  const sum = icmp6Checksum(address6, ip.src, icmp);
  icmp[2] = sum >> 8;
  icmp[3] = sum & 0xff;
  return out;
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
