// Reference L3: IPv4 routing written plainly for the differential harness. Route tables are
// one Map per prefix length (network address → next hop), searched from /32 down to /0; the
// header checksum is recomputed from scratch after the TTL decrement (the core updates it
// incrementally, so the two methods check each other).
import { parseMac } from '../net.js';

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
