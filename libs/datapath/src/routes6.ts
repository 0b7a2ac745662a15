// Host side of the IPv6 route tables (one per VRF, assembly/lpm6.ts). As for IPv4, the core
// holds the lookup structure and the host keeps each VRF's route list (per prefix length, a
// Map from the network address as hex text to the next hop), which delete needs to find the
// covering route and iterate reads.
import ipaddr from 'ipaddr.js';
import { checkInt, DatapathConfigError, DatapathTableError } from './errors.js';
import type { CoreMemory } from './core/load.js';
import { VrfRouteLists } from './route-lists.js';

/** Exports of the core used by the IPv6 route tables (see assembly/lpm6.ts). */
export interface Routing6CoreExports {
  memory: CoreMemory;
  scratchReserve(bytes: number): number;
  lpm6AddrBuf(): number;
  lpm6Create(vrf: number, topBits: number): number;
  lpm6Free(vrf: number): void;
  lpm6Reset(vrf: number): void;
  lpm6Exists(vrf: number): number;
  lpm6Count(vrf: number): number;
  lpm6Groups(vrf: number): number;
  lpm6Memory(vrf: number): number;
  lpm6TopBits(vrf: number): number;
  lpm6Lookup(vrf: number): number;
  lpm6LookupBulk(vrf: number, addrs: number, n: number, out: number): number;
  lpm6Add(vrf: number, len: number, nextHop: number, isNew: number): number;
  lpm6Delete(vrf: number, len: number, coverLen: number, coverNextHop: number): number;
  lpm6Load(vrf: number, routes: number, n: number, sorted: number): number;
  l3v6SetPort(port: number, hasAddr: number, mac: bigint): number;
}

/** Largest next-hop id an IPv6 route may carry (the next-hop table's ids). */
const LPM6_MAX_NEXT_HOP = 0xffff;
const LOAD_RECORD = 20;

/** An IPv6 route: `prefix` in CIDR text ("2001:db8::/32"), host bits zero. */
export interface Ipv6Route {
  prefix: string;
  nextHop: number;
}

/** IPv6 routes in packed form for fast bulk loads: 16 bytes of address per route. */
export interface PackedIpv6Routes {
  /** Network addresses, 16 bytes each in network order (length 16 × n). */
  addrs: Uint8Array;
  lengths: Uint8Array;
  nextHops: Uint32Array;
}

/** Options of `Ipv6RouteTable.create`. */
export interface Route6TableOptions {
  /**
   * First level of 2^24 entries (64 MiB: a /48 resolves in 4 memory accesses) instead of
   * 2^16 (256 KiB, for small VRFs). Default false.
   */
  large?: boolean;
}

/** Parses IPv6 text into 16 bytes (network order); throws naming `field`. */
export function parseIpv6(text: unknown, field: string): Uint8Array {
  if (typeof text !== 'string' || text.includes('%') || !ipaddr.IPv6.isValid(text)) {
    throw new DatapathConfigError(field, `expected an IPv6 address, got ${JSON.stringify(text)}`);
  }
  return Uint8Array.from(ipaddr.IPv6.parse(text).toByteArray());
}

/**
 * Programs the IPv6 address (or none) and MAC (0n: none) of routed `port` into the core: the
 * source of its ICMPv6 errors and the address its Neighbor Advertisements answer for.
 */
export function setPortAddress6(
  core: Routing6CoreExports,
  port: number,
  addr: Uint8Array | null,
  mac: bigint,
): boolean {
  if (addr) new Uint8Array(core.memory.buffer, core.lpm6AddrBuf(), 16).set(addr);
  return core.l3v6SetPort(port, addr ? 1 : 0, mac) === 0;
}

/** Formats 16 bytes at `offset` as RFC 5952 IPv6 text. */
export function formatIpv6(bytes: Uint8Array, offset = 0): string {
  return ipaddr.fromByteArray(Array.from(bytes.subarray(offset, offset + 16))).toString();
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

// Route-list key: the 16 address bytes at `offset` masked to `len` bits, as hex. (Not bigint:
// V8 hashes bigint Map keys poorly when their low bits are all zero, as prefixes' are.)
function keyOf(b: Uint8Array, offset: number, len: number): string {
  let k = '';
  for (let i = 0; i < 16; i++) {
    const bits = Math.max(0, Math.min(8, len - i * 8));
    k += HEX[b[offset + i]! & ((0xff00 >> bits) & 0xff)];
  }
  return k;
}

// keyOf for an address whose host bits are known to be zero.
function plainKey(b: Uint8Array, o: number): string {
  return (
    HEX[b[o]!]! +
    HEX[b[o + 1]!]! +
    HEX[b[o + 2]!]! +
    HEX[b[o + 3]!]! +
    HEX[b[o + 4]!]! +
    HEX[b[o + 5]!]! +
    HEX[b[o + 6]!]! +
    HEX[b[o + 7]!]! +
    HEX[b[o + 8]!]! +
    HEX[b[o + 9]!]! +
    HEX[b[o + 10]!]! +
    HEX[b[o + 11]!]! +
    HEX[b[o + 12]!]! +
    HEX[b[o + 13]!]! +
    HEX[b[o + 14]!]! +
    HEX[b[o + 15]!]!
  );
}

function hostBitsSet(b: Uint8Array, offset: number, len: number): boolean {
  if (len === 128) return false;
  const first = len >> 3;
  if ((b[offset + first]! & (0xff >> (len & 7))) !== 0) return true;
  for (let i = first + 1; i < 16; i++) if (b[offset + i] !== 0) return true;
  return false;
}

function keyBytes(key: string): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(key.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** The 16 bytes of an address as one bigint (tests and oracles; route lists use hex keys). */
export function ipv6ToBigInt(bytes: Uint8Array, offset = 0): bigint {
  let v = 0n;
  for (let i = 0; i < 16; i += 4) {
    const w =
      ((bytes[offset + i]! << 24) |
        (bytes[offset + i + 1]! << 16) |
        (bytes[offset + i + 2]! << 8) |
        bytes[offset + i + 3]!) >>>
      0;
    v = (v << 32n) | BigInt(w);
  }
  return v;
}

/** 16 network-order bytes of a bigint address. */
export function bigIntToIpv6(value: bigint): Uint8Array {
  const out = new Uint8Array(16);
  let v = value;
  for (let i = 15; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

const ALL = (1n << 128n) - 1n;
/** Network mask of a prefix length as a bigint. */
export const ipv6Mask = (len: number): bigint =>
  len === 0 ? 0n : (ALL << BigInt(128 - len)) & ALL;

/** Parses "addr/len" (host bits must be zero); throws naming `field`. */
export function parseIpv6Prefix(text: unknown, field: string): { addr: Uint8Array; len: number } {
  const slash = typeof text === 'string' ? text.indexOf('/') : -1;
  if (slash < 0 || !/^\d{1,3}$/.test((text as string).slice(slash + 1))) {
    throw new DatapathConfigError(
      field,
      `expected an IPv6 prefix like 2001:db8::/32, got ${JSON.stringify(text)}`,
    );
  }
  const addr = parseIpv6((text as string).slice(0, slash), field);
  const len = Number((text as string).slice(slash + 1));
  if (len > 128) throw new DatapathConfigError(field, `prefix length ${len} is above 128`);
  if (hostBitsSet(addr, 0, len)) {
    throw new DatapathConfigError(field, `host bits set in ${String(text)}`);
  }
  return { addr, len };
}

/**
 * IPv6 route tables of the l3v6 stage, one per VRF, with the table verbs shared by every
 * datapath table (create, free, reset, add, delete, lookup, lookupBulk, iterate) plus a bulk
 * `load` that builds a whole table in one pass.
 */
export class Ipv6RouteTable extends VrfRouteLists<string> {
  /** @internal */
  constructor(private readonly core: Routing6CoreExports) {
    super(
      {
        create: (vrf, topBits) => core.lpm6Create(vrf, topBits),
        free: (vrf) => core.lpm6Free(vrf),
        reset: (vrf) => core.lpm6Reset(vrf),
      },
      128,
      'IPv6 ',
    );
  }

  private putAddr(addr: Uint8Array): void {
    new Uint8Array(this.core.memory.buffer, this.core.lpm6AddrBuf(), 16).set(addr);
  }

  /** Creates (or re-creates, empty) the IPv6 route table of `vrf`. */
  override create(vrf: number, opts: Route6TableOptions = {}): void {
    super.create(vrf, opts);
  }

  /** Bytes of lookup structure `vrf` uses in the core (first level + 1 KiB groups). */
  memoryBytes(vrf: number): number {
    this.list(vrf);
    return this.core.lpm6Memory(vrf);
  }

  /** Groups (1 KiB each) the table of `vrf` uses below its first level. */
  groups(vrf: number): number {
    this.list(vrf);
    return this.core.lpm6Groups(vrf) >>> 0;
  }

  /** Adds or replaces a route. */
  add(vrf: number, prefix: string, nextHop: number): void {
    const list = this.list(vrf);
    const { addr, len } = parseIpv6Prefix(prefix, 'prefix');
    checkInt(nextHop, 'nextHop', 0, LPM6_MAX_NEXT_HOP);
    const key = keyOf(addr, 0, len);
    const isNew = !list[len]!.has(key);
    this.putAddr(addr);
    if (this.core.lpm6Add(vrf, len, nextHop, isNew ? 1 : 0) !== 0) {
      throw new DatapathTableError(`out of memory adding ${prefix} to VRF ${vrf}`);
    }
    list[len]!.set(key, nextHop);
  }

  /** Deletes a route; returns whether it existed. */
  delete(vrf: number, prefix: string): boolean {
    const list = this.list(vrf);
    const { addr, len } = parseIpv6Prefix(prefix, 'prefix');
    const key = keyOf(addr, 0, len);
    if (!list[len]!.has(key)) return false;
    const { coverLen, coverNextHop } = this.cover(list, len, (l) => keyOf(addr, 0, l));
    this.putAddr(addr);
    this.core.lpm6Delete(vrf, len, coverLen, coverNextHop);
    list[len]!.delete(key);
    return true;
  }

  /** Next hop the core finds for `addr` (IPv6 text or 16 bytes), or null. */
  lookup(vrf: number, addr: string | Uint8Array): number | null {
    this.list(vrf);
    const bytes = typeof addr === 'string' ? parseIpv6(addr, 'addr') : addr;
    if (!(bytes instanceof Uint8Array) || bytes.length !== 16)
      throw new DatapathConfigError('addr', 'expected IPv6 text or 16 bytes');
    this.putAddr(bytes);
    const nh = this.core.lpm6Lookup(vrf);
    return nh < 0 ? null : nh;
  }

  /** Looks up many addresses (16 bytes each, concatenated) in one call; -1 marks a miss. */
  lookupBulk(vrf: number, addrs: Uint8Array): Int32Array {
    this.list(vrf);
    if (!(addrs instanceof Uint8Array) || addrs.length % 16 !== 0)
      throw new DatapathConfigError('addrs', 'expected a Uint8Array of 16-byte addresses');
    const n = addrs.length / 16;
    const out = new Int32Array(n);
    const chunk = 65536;
    for (let start = 0; start < n; start += chunk) {
      const count = Math.min(chunk, n - start);
      const p = this.core.scratchReserve(count * 20);
      if (p === 0) throw new DatapathTableError('out of memory for a bulk lookup');
      new Uint8Array(this.core.memory.buffer, p, count * 16).set(
        addrs.subarray(start * 16, (start + count) * 16),
      );
      const outPtr = p + count * 16;
      this.core.lpm6LookupBulk(vrf, p, count, outPtr);
      out.set(new Int32Array(this.core.memory.buffer, outPtr, count), start);
    }
    return out;
  }

  /** Visits every route of `vrf`, shortest prefixes first. */
  *iterate(vrf: number): IterableIterator<Ipv6Route> {
    const list = this.list(vrf);
    for (let len = 0; len <= 128; len++) {
      for (const [key, nextHop] of list[len]!)
        yield { prefix: `${formatIpv6(keyBytes(key))}/${len}`, nextHop };
    }
  }

  /**
   * Replaces every route of `vrf` with `routes` in one pass over the core's table (a later
   * duplicate prefix wins). Validates everything before touching the table.
   */
  load(vrf: number, routes: readonly Ipv6Route[] | PackedIpv6Routes): void {
    this.list(vrf);
    const fresh = this.emptyList();
    let packed: Uint8Array | null = null;
    if (Array.isArray(routes)) {
      (routes as readonly Ipv6Route[]).forEach((r, i) => {
        const { addr, len } = parseIpv6Prefix(r?.prefix, `routes[${i}].prefix`);
        fresh[len]!.set(
          keyOf(addr, 0, len),
          checkInt(r.nextHop, `routes[${i}].nextHop`, 0, LPM6_MAX_NEXT_HOP),
        );
      });
    } else {
      const { addrs, lengths, nextHops } = routes as PackedIpv6Routes;
      if (!(addrs instanceof Uint8Array) || addrs.length !== lengths.length * 16) {
        throw new DatapathConfigError('routes.addrs', 'expected 16 bytes per route');
      }
      if (nextHops.length !== lengths.length) {
        throw new DatapathConfigError('routes.nextHops', 'differs in length from routes.lengths');
      }
      packed = addrs;
      for (let i = 0; i < lengths.length; i++) {
        const len = lengths[i]!;
        const nh = nextHops[i]!;
        if (len > 128) throw new DatapathConfigError(`routes.lengths[${i}]`, `${len} is above 128`);
        if (hostBitsSet(addrs, i * 16, len)) {
          throw new DatapathConfigError(`routes.addrs[${i}]`, `host bits set for /${len}`);
        }
        if (nh > LPM6_MAX_NEXT_HOP) {
          throw new DatapathConfigError(
            `routes.nextHops[${i}]`,
            `${nh} is above ${LPM6_MAX_NEXT_HOP}`,
          );
        }
        fresh[len]!.set(plainKey(addrs, i * 16), nh);
      }
    }
    const n = fresh.reduce((k, m) => k + m.size, 0);
    const p = this.core.scratchReserve(Math.max(1, n) * (LOAD_RECORD + 4));
    if (p === 0) throw new DatapathTableError(`out of memory loading ${n} routes`);
    const bytes = new Uint8Array(this.core.memory.buffer, p, n * LOAD_RECORD);
    const view = new DataView(this.core.memory.buffer, p, n * LOAD_RECORD);
    let i = 0;
    if (packed && n === packed.length / 16) {
      // No duplicates: the packed records go in as given (the core sorts them by length).
      const { lengths, nextHops } = routes as PackedIpv6Routes;
      for (let k = 0; k < n; k++) {
        bytes.set(packed.subarray(k * 16, k * 16 + 16), k * LOAD_RECORD);
        view.setUint32(k * LOAD_RECORD + 16, ((lengths[k]! << 24) | nextHops[k]!) >>> 0, true);
      }
    } else {
      for (let len = 0; len <= 128; len++) {
        for (const [key, nh] of fresh[len]!) {
          bytes.set(keyBytes(key), i * LOAD_RECORD);
          view.setUint32(i * LOAD_RECORD + 16, ((len << 24) | nh) >>> 0, true);
          i++;
        }
      }
    }
    if (this.core.lpm6Load(vrf, p, n, p + n * LOAD_RECORD) !== 0) this.loadFailed(vrf, n);
    this.lists.set(vrf, fresh);
  }
}
