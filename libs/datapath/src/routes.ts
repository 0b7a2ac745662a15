// Host side of the L3 stage's tables: IPv4 route tables (one per VRF) and the next-hop table.
// The core holds the lookup structures; the host keeps each VRF's route list (per prefix
// length, a Map from network address to next hop), which delete needs to find the covering
// route and iterate reads.
import { checkInt, DatapathConfigError, DatapathTableError } from './errors.js';
import { formatMac, parseMac } from './net.js';
import type { CoreMemory } from './core/load.js';
import { MAX_VRFS, VrfRouteLists } from './route-lists.js';

export { MAX_VRFS };

/** Exports of the core used by the routing tables (see assembly/lpm4.ts, assembly/l3.ts). */
export interface RoutingCoreExports {
  memory: CoreMemory;
  scratchReserve(bytes: number): number;
  lpmCreate(vrf: number, topBits: number): number;
  lpmFree(vrf: number): void;
  lpmReset(vrf: number): void;
  lpmExists(vrf: number): number;
  lpmCount(vrf: number): number;
  lpmMemory(vrf: number): number;
  lpmTopBits(vrf: number): number;
  lpmLookup(vrf: number, addr: number): number;
  lpmLookupBulk(vrf: number, addrs: number, n: number, out: number): number;
  lpmAdd(vrf: number, addr: number, len: number, nextHop: number, isNew: number): number;
  lpmDelete(vrf: number, addr: number, len: number, coverLen: number, coverNextHop: number): number;
  lpmLoad(vrf: number, routes: number, n: number, sorted: number): number;
  nhAdd(id: number, kind: number, port: number, dstMac: bigint, srcMac: bigint): number;
  nhDelete(id: number): number;
  nhReset(): void;
  nhSize(): number;
  nhEntryPtr(id: number): number;
  l3SetPortAddress(port: number, addr: number): number;
  l3SetPortMac(port: number, mac: bigint): number;
}

/** Next hops the core holds: ids 0 .. MAX_NEXT_HOPS-1. */
export const MAX_NEXT_HOPS = 65536;
/** Largest next-hop id a route may carry (route tables store 24 bits). */
const LPM_MAX_NEXT_HOP = 0xfffffe;
const NH_ENTRY = { kind: 0, port: 2, dstMac: 4, srcMac: 10 } as const;
const NH_KIND_FORWARD = 1;
const NH_KIND_BLACKHOLE = 2;
const MAX_PORT = 255;

/** An IPv4 route: `prefix` in CIDR text ("10.1.0.0/16"), host bits zero. */
export interface Ipv4Route {
  prefix: string;
  nextHop: number;
}

/** Routes in packed form for fast bulk loads: network address (host order), length, next hop. */
export interface PackedIpv4Routes {
  addrs: Uint32Array;
  lengths: Uint8Array;
  nextHops: Uint32Array;
}

/** A next hop: leave on `port` with the Ethernet addresses rewritten, or discard. */
export type NextHop = { port: number; dstMac: string; srcMac: string } | { blackhole: true };

/** Options of `Ipv4RouteTable.create`. */
export interface RouteTableOptions {
  /**
   * First level of 2^24 entries (DIR-24-8, 64 MiB: one memory access for prefixes up to /24)
   * instead of 2^16 (256 KiB, for small VRFs). Default false.
   */
  large?: boolean;
}

const maskOf = (len: number): number => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

/** Parses dotted-quad IPv4 text into a host-order u32; throws naming `field`. */
export function parseIpv4(text: unknown, field: string): number {
  const m =
    typeof text === 'string' ? /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text) : null;
  const parts = m ? m.slice(1).map(Number) : [];
  if (!m || parts.some((p) => p > 255)) {
    throw new DatapathConfigError(field, `expected an IPv4 address, got ${JSON.stringify(text)}`);
  }
  return (((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0) as number;
}

/** Formats a host-order u32 as dotted-quad text. */
export function formatIpv4(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

/** Parses "a.b.c.d/len" (host bits must be zero); throws naming `field`. */
export function parseIpv4Prefix(text: unknown, field: string): { addr: number; len: number } {
  const slash = typeof text === 'string' ? text.indexOf('/') : -1;
  if (slash < 0 || !/^\d{1,2}$/.test((text as string).slice(slash + 1))) {
    throw new DatapathConfigError(
      field,
      `expected an IPv4 prefix like 10.0.0.0/8, got ${JSON.stringify(text)}`,
    );
  }
  const addr = parseIpv4((text as string).slice(0, slash), field);
  const len = Number((text as string).slice(slash + 1));
  if (len > 32) throw new DatapathConfigError(field, `prefix length ${len} is above 32`);
  if ((addr & ~maskOf(len)) >>> 0 !== 0) {
    throw new DatapathConfigError(field, `host bits set in ${String(text)}`);
  }
  return { addr, len };
}

function macValue(text: string, field: string): bigint {
  const b = parseMac(text, field);
  let v = 0n;
  for (const byte of b) v = (v << 8n) | BigInt(byte);
  return v;
}

/**
 * IPv4 route tables of the L3 stage, one per VRF, with the table verbs shared by every
 * datapath table (create, free, reset, add, delete, lookup, lookupBulk, iterate) plus a bulk
 * `load` that builds a whole table in one pass.
 */
export class Ipv4RouteTable extends VrfRouteLists<number> {
  /** @internal */
  constructor(private readonly core: RoutingCoreExports) {
    super(
      {
        create: (vrf, topBits) => core.lpmCreate(vrf, topBits),
        free: (vrf) => core.lpmFree(vrf),
        reset: (vrf) => core.lpmReset(vrf),
      },
      32,
      '',
    );
  }

  /** Creates (or re-creates, empty) the route table of `vrf`. */
  override create(vrf: number, opts: RouteTableOptions = {}): void {
    super.create(vrf, opts);
  }

  /** Bytes of lookup structure `vrf` uses in the core. */
  memoryBytes(vrf: number): number {
    this.list(vrf);
    return this.core.lpmMemory(vrf) >>> 0;
  }

  /** Adds or replaces a route. */
  add(vrf: number, prefix: string, nextHop: number): void {
    const list = this.list(vrf);
    const { addr, len } = parseIpv4Prefix(prefix, 'prefix');
    checkInt(nextHop, 'nextHop', 0, LPM_MAX_NEXT_HOP);
    const isNew = !list[len]!.has(addr);
    if (this.core.lpmAdd(vrf, addr, len, nextHop, isNew ? 1 : 0) !== 0) {
      throw new DatapathTableError(`out of memory adding ${prefix} to VRF ${vrf}`);
    }
    list[len]!.set(addr, nextHop);
  }

  /** Deletes a route; returns whether it existed. */
  delete(vrf: number, prefix: string): boolean {
    const list = this.list(vrf);
    const { addr, len } = parseIpv4Prefix(prefix, 'prefix');
    if (!list[len]!.has(addr)) return false;
    const { coverLen, coverNextHop } = this.cover(list, len, (l) => (addr & maskOf(l)) >>> 0);
    this.core.lpmDelete(vrf, addr, len, coverLen, coverNextHop);
    list[len]!.delete(addr);
    return true;
  }

  /** Next hop the core finds for `addr` (text or host-order u32), or null. */
  lookup(vrf: number, addr: string | number): number | null {
    this.list(vrf);
    const a =
      typeof addr === 'number' ? checkInt(addr, 'addr', 0, 0xffffffff) : parseIpv4(addr, 'addr');
    const nh = this.core.lpmLookup(vrf, a);
    return nh < 0 ? null : nh;
  }

  /** Looks up many host-order addresses in one call into the core; -1 marks a miss. */
  lookupBulk(vrf: number, addrs: Uint32Array): Int32Array {
    this.list(vrf);
    const out = new Int32Array(addrs.length);
    const chunk = 65536;
    for (let start = 0; start < addrs.length; start += chunk) {
      const part = addrs.subarray(start, start + chunk);
      const p = this.core.scratchReserve(part.length * 8);
      if (p === 0) throw new DatapathTableError('out of memory for a bulk lookup');
      new Uint32Array(this.core.memory.buffer, p, part.length).set(part);
      const outPtr = p + part.length * 4;
      this.core.lpmLookupBulk(vrf, p, part.length, outPtr);
      out.set(new Int32Array(this.core.memory.buffer, outPtr, part.length), start);
    }
    return out;
  }

  /** Visits every route of `vrf`, shortest prefixes first. */
  *iterate(vrf: number): IterableIterator<Ipv4Route> {
    const list = this.list(vrf);
    for (let len = 0; len <= 32; len++) {
      for (const [addr, nextHop] of list[len]!)
        yield { prefix: `${formatIpv4(addr)}/${len}`, nextHop };
    }
  }

  /**
   * Replaces every route of `vrf` with `routes` in one pass over the core's table (a later
   * duplicate prefix wins). Validates everything before touching the table.
   */
  load(vrf: number, routes: readonly Ipv4Route[] | PackedIpv4Routes): void {
    this.list(vrf);
    const fresh = this.emptyList();
    if (Array.isArray(routes)) {
      (routes as readonly Ipv4Route[]).forEach((r, i) => {
        const { addr, len } = parseIpv4Prefix(r?.prefix, `routes[${i}].prefix`);
        fresh[len]!.set(addr, checkInt(r.nextHop, `routes[${i}].nextHop`, 0, LPM_MAX_NEXT_HOP));
      });
    } else {
      const { addrs, lengths, nextHops } = routes as PackedIpv4Routes;
      if (lengths.length !== addrs.length || nextHops.length !== addrs.length) {
        throw new DatapathConfigError('routes', 'addrs, lengths and nextHops differ in length');
      }
      for (let i = 0; i < addrs.length; i++) {
        const len = lengths[i]!;
        const addr = addrs[i]!;
        const nh = nextHops[i]!;
        if (len > 32) throw new DatapathConfigError(`routes.lengths[${i}]`, `${len} is above 32`);
        if ((addr & ~maskOf(len)) >>> 0 !== 0) {
          throw new DatapathConfigError(`routes.addrs[${i}]`, `host bits set for /${len}`);
        }
        if (nh > LPM_MAX_NEXT_HOP) {
          throw new DatapathConfigError(
            `routes.nextHops[${i}]`,
            `${nh} is above ${LPM_MAX_NEXT_HOP}`,
          );
        }
        fresh[len]!.set(addr, nh);
      }
    }
    const n = fresh.reduce((k, m) => k + m.size, 0);
    const p = this.core.scratchReserve(Math.max(1, n) * 16);
    if (p === 0) throw new DatapathTableError(`out of memory loading ${n} routes`);
    const words = new Uint32Array(this.core.memory.buffer, p, n * 2);
    let i = 0;
    for (let len = 0; len <= 32; len++) {
      for (const [addr, nh] of fresh[len]!) {
        words[i++] = addr;
        words[i++] = ((len << 24) | nh) >>> 0;
      }
    }
    if (this.core.lpmLoad(vrf, p, n, p + n * 8) !== 0) this.loadFailed(vrf, n);
    this.lists.set(vrf, fresh);
  }
}

/** The next-hop table of the L3 stage (ids 0 .. MAX_NEXT_HOPS-1), with the table verbs. */
export class NextHopTable {
  /** @internal */
  constructor(private readonly core: RoutingCoreExports) {}

  /** The table always exists; `create` empties it (as `reset`). */
  create(): void {
    this.core.nhReset();
  }
  /** Removes every next hop (routes pointing at them then drop `next-hop-missing`). */
  free(): void {
    this.core.nhReset();
  }
  /** Removes every next hop. */
  reset(): void {
    this.core.nhReset();
  }
  /** Number of next hops set. */
  get size(): number {
    return this.core.nhSize();
  }
  /** Sets next hop `id`. */
  add(id: number, nextHop: NextHop): void {
    checkInt(id, 'id', 0, MAX_NEXT_HOPS - 1);
    let r: number;
    if (nextHop && 'blackhole' in nextHop && nextHop.blackhole === true) {
      r = this.core.nhAdd(id, NH_KIND_BLACKHOLE, 0, 0n, 0n);
    } else {
      const nh = nextHop as { port: number; dstMac: string; srcMac: string };
      checkInt(nh?.port, 'port', 0, MAX_PORT);
      r = this.core.nhAdd(
        id,
        NH_KIND_FORWARD,
        nh.port,
        macValue(nh.dstMac, 'dstMac'),
        macValue(nh.srcMac, 'srcMac'),
      );
    }
    if (r !== 0) throw new DatapathTableError(`out of memory for next hop ${id}`);
  }
  /** Deletes next hop `id`; returns whether it existed. */
  delete(id: number): boolean {
    checkInt(id, 'id', 0, MAX_NEXT_HOPS - 1);
    return this.core.nhDelete(id) === 0;
  }
  /** Next hop `id`, or null. */
  lookup(id: number): NextHop | null {
    checkInt(id, 'id', 0, MAX_NEXT_HOPS - 1);
    const p = this.core.nhEntryPtr(id);
    if (p === 0) return null;
    const bytes = new Uint8Array(this.core.memory.buffer, p, 16);
    if (bytes[NH_ENTRY.kind] === NH_KIND_BLACKHOLE) return { blackhole: true };
    return {
      port: bytes[NH_ENTRY.port]! | (bytes[NH_ENTRY.port + 1]! << 8),
      dstMac: formatMac(bytes, NH_ENTRY.dstMac),
      srcMac: formatMac(bytes, NH_ENTRY.srcMac),
    };
  }
  /** Looks up many ids. */
  lookupBulk(ids: readonly number[]): (NextHop | null)[] {
    return ids.map((id) => this.lookup(id));
  }
  /** Visits every next hop in id order. */
  *iterate(): IterableIterator<{ id: number; nextHop: NextHop }> {
    for (let id = 0; id < MAX_NEXT_HOPS; id++) {
      if (this.core.nhEntryPtr(id) === 0) continue;
      yield { id, nextHop: this.lookup(id)! };
    }
  }
}
