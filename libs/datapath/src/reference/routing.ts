// Reference L3: IPv4 routing written plainly for the differential harness. Route tables are
// one Map per prefix length (network address → next hop), searched from /32 down to /0; the
// header checksum is recomputed from scratch after the TTL decrement (the core updates it
// incrementally, so the two methods check each other).
import { parseMac } from '../net.js';
import type { RefLayer } from './parser.js';

/** A next hop as the reference keeps it. */
export type ReferenceNextHop =
  { port: number; dstMac: Uint8Array; srcMac: Uint8Array } | { blackhole: true };

/** Outcome of routing one packet. */
export type RouteOutcome = { drop: string } | { outPort: number };

const netmask = (len: number): number => (len === 0 ? 0 : (-1 << (32 - len)) >>> 0);

function headerChecksum(frame: Uint8Array, ip: number, headerLength: number): number {
  let sum = 0;
  for (let i = 0; i < headerLength; i += 2) {
    if (i === 10) continue;
    sum += (frame[ip + i]! << 8) | frame[ip + i + 1]!;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Route tables per VRF and the next-hop table, with the lookups of the L3 stage. */
export class ReferenceRouter {
  private readonly tables = new Map<number, Map<number, number>[]>();
  private readonly nextHops = new Map<number, ReferenceNextHop>();

  /** Creates (or empties) the table of `vrf`. */
  createVrf(vrf: number): void {
    this.tables.set(
      vrf,
      Array.from({ length: 33 }, () => new Map()),
    );
  }

  /** Deletes the table of `vrf`. */
  freeVrf(vrf: number): void {
    this.tables.delete(vrf);
  }

  /** Adds or replaces `addr/len` (host order, host bits zero). */
  addRoute(vrf: number, addr: number, len: number, nextHop: number): void {
    this.tables.get(vrf)?.[len]?.set((addr & netmask(len)) >>> 0, nextHop);
  }

  /** Deletes `addr/len`. */
  deleteRoute(vrf: number, addr: number, len: number): void {
    this.tables.get(vrf)?.[len]?.delete((addr & netmask(len)) >>> 0);
  }

  /** Longest-prefix match: the next hop, or null. */
  lookup(vrf: number, addr: number): number | null {
    const table = this.tables.get(vrf);
    if (!table) return null;
    for (let len = 32; len >= 0; len--) {
      const nh = table[len]!.get((addr & netmask(len)) >>> 0);
      if (nh !== undefined) return nh;
    }
    return null;
  }

  /** Sets next hop `id` (MACs as text) or a blackhole. */
  setNextHop(
    id: number,
    nh: { port: number; dstMac: string; srcMac: string } | { blackhole: true },
  ): void {
    if ('blackhole' in nh) this.nextHops.set(id, { blackhole: true });
    else
      this.nextHops.set(id, {
        port: nh.port,
        dstMac: parseMac(nh.dstMac, 'dstMac'),
        srcMac: parseMac(nh.srcMac, 'srcMac'),
      });
  }

  /** Next hop `id` (shared with the IPv6 router), or undefined. */
  nextHop(id: number): ReferenceNextHop | undefined {
    return this.nextHops.get(id);
  }

  /** Removes next hop `id`. */
  deleteNextHop(id: number): void {
    this.nextHops.delete(id);
  }

  /**
   * Routes one parsed IPv4 packet in `vrf`: decrements the TTL, rewrites the checksum and the
   * Ethernet addresses in `frame`, or names the drop. `ip` is the IPv4 header offset.
   */
  route(vrf: number, frame: Uint8Array, ip: number): RouteOutcome {
    const dst =
      ((frame[ip + 16]! << 24) |
        (frame[ip + 17]! << 16) |
        (frame[ip + 18]! << 8) |
        frame[ip + 19]!) >>>
      0;
    const id = this.lookup(vrf, dst);
    if (id === null) return { drop: 'no-route' };
    const nh = this.nextHops.get(id);
    if (!nh) return { drop: 'next-hop-missing' };
    if ('blackhole' in nh) return { drop: 'blackhole' };
    const ttl = frame[ip + 8]!;
    if (ttl <= 1) return { drop: 'ttl-exceeded' };
    frame[ip + 8] = ttl - 1;
    const headerLength = (frame[ip]! & 0x0f) * 4;
    const sum = headerChecksum(frame, ip, headerLength);
    frame[ip + 10] = sum >> 8;
    frame[ip + 11] = sum & 0xff;
    frame.set(nh.dstMac, 0);
    frame.set(nh.srcMac, 6);
    return { outPort: nh.port };
  }
}

function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * The ICMP time-exceeded message (RFC 792) answering `frame` from a port with `address`, or
 * null when none is due: not for non-first fragments, ICMP errors, or sources 0.0.0.0 and
 * 224.0.0.0 and above (RFC 1812 4.3.2.7).
 */
export function timeExceeded(
  frame: Uint8Array,
  layer: RefLayer,
  address: Uint8Array,
): Uint8Array | null {
  return icmpError4(frame, layer, address, 11, 0, 0);
}

/**
 * An ICMP error message (`type`, `code`, `rest` = its second 32-bit word) answering `frame`
 * from a port with `address`, under the rules of `timeExceeded`; null when none is due.
 */
export function icmpError4(
  frame: Uint8Array,
  layer: RefLayer,
  address: Uint8Array,
  type: number,
  code: number,
  rest: number,
): Uint8Array | null {
  const ip = layer.ip;
  if (!ip || ip.version !== 4) return null;
  const at = ip.offset;
  const fragmentOffset = (((frame[at + 6]! << 8) | frame[at + 7]!) & 0x1fff) !== 0;
  if (layer.fragment && fragmentOffset) return null;
  if (ip.proto === 1 && layer.icmp && [3, 4, 5, 11, 12].includes(layer.icmp.type)) return null;
  if (ip.src[0] === 0 && ip.src[1] === 0 && ip.src[2] === 0 && ip.src[3] === 0) return null;
  if (ip.src[0]! >= 224) return null;
  const headerLength = (frame[at]! & 0x0f) * 4;
  const total = (frame[at + 2]! << 8) | frame[at + 3]!;
  const quote = frame.slice(at, at + Math.min(total, headerLength + 8));
  const out = new Uint8Array(42 + quote.length);
  out.set(frame.subarray(6, 12), 0);
  out.set(frame.subarray(0, 6), 6);
  out.set([0x08, 0x00], 12);
  const ipHeader = out.subarray(14, 34);
  ipHeader.set([
    0x45,
    0,
    (28 + quote.length) >> 8,
    (28 + quote.length) & 0xff,
    0,
    0,
    0,
    0,
    64,
    1,
    0,
    0,
  ]);
  ipHeader.set(address, 12);
  ipHeader.set(ip.src, 16);
  const ipSum = checksum(ipHeader);
  ipHeader[10] = ipSum >> 8;
  ipHeader[11] = ipSum & 0xff;
  const icmp = out.subarray(34);
  icmp[0] = type;
  icmp[1] = code;
  new DataView(icmp.buffer, icmp.byteOffset).setUint32(4, rest >>> 0);
  icmp.set(quote, 8);
  const icmpSum = checksum(icmp);
  icmp[2] = icmpSum >> 8;
  icmp[3] = icmpSum & 0xff;
  return out;
}

/**
 * Answers, in place, an Ethernet/IPv4 ARP request for `address` with `mac`; returns whether
 * the frame was one.
 */
export function arpReply(
  frame: Uint8Array,
  layer: RefLayer,
  address: Uint8Array,
  mac: Uint8Array,
): boolean {
  if (layer.ethType !== 0x0806) return false;
  const at = 14 + 4 * layer.vlans.length;
  const fixed = [0, 1, 8, 0, 6, 4, 0, 1];
  if (fixed.some((b, i) => frame[at + i] !== b)) return false;
  if (address.some((b, i) => frame[at + 24 + i] !== b)) return false;
  const senderMac = frame.slice(at + 8, at + 14);
  const senderIp = frame.slice(at + 14, at + 18);
  frame.set(senderMac, 0);
  frame.set(mac, 6);
  frame[at + 7] = 2;
  frame.set(mac, at + 8);
  frame.set(address, at + 14);
  frame.set(senderMac, at + 18);
  frame.set(senderIp, at + 24);
  return true;
}
