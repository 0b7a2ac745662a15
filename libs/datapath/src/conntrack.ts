// Host side of connection tracking (assembly/conntrack.ts): the flow table's verbs, tuples as
// text, timeouts in seconds, statistics. Entry offsets mirror the constants of the core file.
import { checkInt, DatapathConfigError, DatapathTableError } from './errors.js';
import { formatIp, parseIp } from './net.js';
import type { CoreMemory } from './core/load.js';

/** Exports of the core used by connection tracking. */
export interface ConnTrackCoreExports {
  memory: CoreMemory;
  scratchReserve(bytes: number): number;
  ctCreate(capacity: number): number;
  ctFree(): void;
  ctReset(): void;
  ctCount(): number;
  ctCapacity(): number;
  ctMemory(): number;
  ctStat(i: number): bigint;
  ctSetTimeout(state: number, ms: number): number;
  ctTimeout(state: number): number;
  ctAdd(p: number, state: number, now: number): number;
  ctAddBulk(p: number, n: number, now: number): number;
  ctDelete(p: number): number;
  ctLookup(p: number, now: number): number;
  ctLookupBulk(p: number, n: number, out: number, now: number): number;
  ctLastDir(): number;
  ctIterate(cursor: number): number;
  ctEntryPtr(slot: number): number;
  ctAge(now: number): number;
  ctNow(): number;
}

// State names in core code order from 1 (assembly/conntrack.ts CT_*); the type and the
// code table below both come from this one list.
const STATE_NAMES = [
  'SYN_SENT',
  'SYN_RECV',
  'ESTABLISHED',
  'FIN_WAIT',
  'TIME_WAIT',
  'CLOSE',
  'UNREPLIED',
  'REPLIED',
  'ICMP',
  'OTHER',
] as const;

/** Flow states: TCP's handshake and teardown, UDP unreplied/replied, ICMP, other protocols. */
export type ConnTrackState = (typeof STATE_NAMES)[number];

/** State names by core code (index = code). */
export const CONNTRACK_STATES: readonly (ConnTrackState | null)[] = [null, ...STATE_NAMES];

/**
 * A flow's 5-tuple in one direction. ICMP echo uses the identifier as both ports; other ICMP
 * and protocols without ports use 0 (the default).
 */
export interface ConnTrackTuple {
  src: string;
  dst: string;
  proto: number;
  sport?: number;
  dport?: number;
}

/** Timeouts per state in seconds (see README "Connection tracking" for the defaults). */
export interface ConnTrackTimeouts {
  tcpSynSent: number;
  tcpSynRecv: number;
  tcpEstablished: number;
  tcpFinWait: number;
  tcpTimeWait: number;
  tcpClose: number;
  udpUnreplied: number;
  udpReplied: number;
  icmp: number;
  other: number;
}

/** Defaults: shorter than Linux's 5-day established timeout, which is too long for a DPU. */
export const DEFAULT_CONNTRACK_TIMEOUTS: Readonly<ConnTrackTimeouts> = {
  tcpSynSent: 30,
  tcpSynRecv: 30,
  tcpEstablished: 3600,
  tcpFinWait: 120,
  tcpTimeWait: 120,
  tcpClose: 10,
  udpUnreplied: 30,
  udpReplied: 180,
  icmp: 30,
  other: 60,
};

/** Timeout names by state code (index = code - 1). */
export const CONNTRACK_TIMEOUT_KEYS: readonly (keyof ConnTrackTimeouts)[] = [
  'tcpSynSent',
  'tcpSynRecv',
  'tcpEstablished',
  'tcpFinWait',
  'tcpTimeWait',
  'tcpClose',
  'udpUnreplied',
  'udpReplied',
  'icmp',
  'other',
];

/** Options of `ConnTrackTable.create`. */
export interface ConnTrackOptions {
  /** Flows the table holds at most (rounded up to a power of two buckets of 8). */
  capacity: number;
  /** Per-state timeouts in seconds; missing ones keep the defaults. */
  timeouts?: Partial<ConnTrackTimeouts>;
}

/** A tracked flow. */
export interface ConnTrackEntry {
  /** The tuple in the direction of the packet that opened the flow. */
  tuple: Required<ConnTrackTuple>;
  state: ConnTrackState;
  /** Direction of the tuple that was looked up (iterate: 'original'). */
  direction: 'original' | 'reply';
  lastSeenMs: number;
  /** ms since the last packet at the time of the call. */
  ageMs: number;
  /** Whether the flow's timeout has passed (iterate shows such flows until swept). */
  expired: boolean;
  /** Packets per direction (kept modulo 2^32). */
  packets: { original: number; reply: number };
  /** Frame bytes per direction (kept modulo 2^48). */
  bytes: { original: number; reply: number };
}

/** Table statistics since create/reset. */
export interface ConnTrackStats {
  /** Flows opened (by `permit-stateful` matches and `add`). */
  created: number;
  /** Live flows removed to make room. */
  evicted: number;
  /** Expired flows removed by `age` or reused by an insert. */
  expired: number;
  /** `permit-stateful` matches while no table existed. */
  insertFailed: number;
  /** Packets the conntrack stage found a live flow for. */
  hits: number;
  /** `permit-stateful` TCP packets that cannot open a flow (not a bare SYN). */
  untracked: number;
}

const ENTRY = {
  portA: 32,
  portB: 34,
  proto: 36,
  ver: 37,
  state: 38,
  orig: 39,
  seen: 40,
  pkts: 44,
  bytes: 52,
};
const TUPLE_SIZE = 40;
const MAX_TIMEOUT_S = Math.floor(0x7fffffff / 1000);

/** Tuple as the core reads it (40 bytes), with the IP version; errors name the field. */
function packTuple(t: ConnTrackTuple, out: Uint8Array, at: number, field: string): void {
  if (typeof t !== 'object' || t === null)
    throw new DatapathConfigError(field, 'expected a tuple {src, dst, proto, sport, dport}');
  const src = parseIp(t.src, `${field}src`);
  const dst = parseIp(t.dst, `${field}dst`);
  if (src.version !== dst.version)
    throw new DatapathConfigError(`${field}dst`, 'must be the same IP version as src');
  const proto = checkInt(t.proto, `${field}proto`, 0, 255);
  const sport = checkInt(t.sport ?? 0, `${field}sport`, 0, 65535);
  const dport = checkInt(t.dport ?? 0, `${field}dport`, 0, 65535);
  out.fill(0, at, at + TUPLE_SIZE);
  out.set(src.bytes, at);
  out.set(dst.bytes, at + 16);
  const v = new DataView(out.buffer, out.byteOffset);
  v.setUint16(at + 32, sport, true);
  v.setUint16(at + 34, dport, true);
  v.setUint8(at + 36, proto);
  v.setUint8(at + 37, src.version);
}

function checkNowMs(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new DatapathConfigError(
      'nowMs',
      `expected a non-negative time in ms, got ${String(value)}`,
    );
  return Math.floor(value) >>> 0;
}

/** Default state of a flow added for protocol `proto`. */
function defaultState(proto: number): ConnTrackState {
  return proto === 6
    ? 'ESTABLISHED'
    : proto === 17
      ? 'UNREPLIED'
      : proto === 1 || proto === 58
        ? 'ICMP'
        : 'OTHER';
}

/** Checks that `state` is one a flow of `proto` can be in; returns its code. */
function stateCode(state: unknown, proto: number, version: number): number {
  const code = CONNTRACK_STATES.indexOf(state as ConnTrackState);
  if (code <= 0)
    throw new DatapathConfigError('state', `expected a flow state, got ${JSON.stringify(state)}`);
  const icmp = (proto === 1 && version === 4) || (proto === 58 && version === 6);
  const fits =
    code <= 6
      ? proto === 6
      : code <= 8
        ? proto === 17
        : code === 9
          ? icmp
          : !icmp && proto !== 6 && proto !== 17;
  if (!fits)
    throw new DatapathConfigError('state', `${String(state)} is not a state of protocol ${proto}`);
  return code;
}

/**
 * The connection-tracking flow table (`conntrack` stage). Packets arriving on ACL-bound ports
 * pass the stage while a table exists: a packet of a live flow (either direction) updates it
 * and skips the ACL; ACL rules with action `permit-stateful` open flows. Verbs: `create,
 * free, reset, add, delete, lookup, lookupBulk, iterate` plus `age`, `size`, `capacity`,
 * `stats`.
 */
export class ConnTrackTable {
  /** @internal */
  constructor(private readonly core: ConnTrackCoreExports) {}

  /** (Re)creates the table empty with room for `capacity` flows and sets the timeouts. */
  create(opts: ConnTrackOptions): void {
    if (typeof opts !== 'object' || opts === null)
      throw new DatapathConfigError('capacity', 'expected {capacity, timeouts}');
    const capacity = checkInt(opts.capacity, 'capacity', 1, 0x8000000);
    const timeouts = { ...DEFAULT_CONNTRACK_TIMEOUTS };
    const given = opts.timeouts ?? {};
    if (typeof given !== 'object' || given === null)
      throw new DatapathConfigError('timeouts', 'expected an object of seconds per state');
    for (const [key, value] of Object.entries(given)) {
      if (!CONNTRACK_TIMEOUT_KEYS.includes(key as keyof ConnTrackTimeouts))
        throw new DatapathConfigError(`timeouts.${key}`, 'unknown timeout');
      timeouts[key as keyof ConnTrackTimeouts] = checkInt(
        value,
        `timeouts.${key}`,
        0,
        MAX_TIMEOUT_S,
      );
    }
    if (this.core.ctCreate(capacity) !== 0)
      throw new DatapathTableError(`out of memory for a flow table of ${capacity} flows`);
    CONNTRACK_TIMEOUT_KEYS.forEach((key, i) => this.core.ctSetTimeout(i + 1, timeouts[key] * 1000));
  }

  /** Releases the table; tracking stops until `create`. */
  free(): void {
    this.core.ctFree();
  }

  /** Removes every flow and zeroes the statistics. */
  reset(): void {
    this.core.ctReset();
  }

  /** Stored flows (expired ones included until `age` sweeps them or a new flow reuses them). */
  get size(): number {
    return this.core.ctCount();
  }

  /** Slots of the table (0 without a table). */
  get capacity(): number {
    return this.core.ctCapacity();
  }

  /** Bytes of linear memory the table takes. */
  get memoryBytes(): number {
    return this.core.ctMemory();
  }

  /** Current timeouts in seconds. */
  get timeouts(): ConnTrackTimeouts {
    const out = {} as ConnTrackTimeouts;
    CONNTRACK_TIMEOUT_KEYS.forEach((key, i) => (out[key] = this.core.ctTimeout(i + 1) / 1000));
    return out;
  }

  private tupleAt(t: ConnTrackTuple, field = ''): number {
    const p = this.core.scratchReserve(TUPLE_SIZE);
    if (p === 0) throw new DatapathTableError('out of memory for a tuple');
    packTuple(t, new Uint8Array(this.core.memory.buffer), p, field);
    return p;
  }

  /**
   * Adds (or replaces) the flow of `tuple`, opened in its direction, in `state` (default by
   * protocol: TCP ESTABLISHED, UDP UNREPLIED, ICMP, OTHER), last seen at `nowMs` (default: the
   * time of the last batch). A full bucket pair evicts per the table's policy.
   */
  add(tuple: ConnTrackTuple, state?: ConnTrackState, nowMs?: number): void {
    const p = this.tupleAt(tuple);
    const v = new DataView(this.core.memory.buffer);
    const code = stateCode(state ?? defaultState(tuple.proto), tuple.proto, v.getUint8(p + 37));
    const now = nowMs === undefined ? this.core.ctNow() : checkNowMs(nowMs);
    if (this.core.ctAdd(p, code, now) < 0)
      throw new DatapathTableError('no flow table: call conntrack.create first');
  }

  /**
   * Adds many flows, each in its protocol's default state, last seen at `nowMs` (default: the
   * last batch). `tuples` as objects, or packed: 40 bytes per tuple — source address (16 bytes,
   * IPv4 in the first 4), destination (16), source and destination port (u16 little-endian),
   * protocol, IP version (4 or 6; other records are skipped), two zero bytes. Returns how many
   * were added.
   */
  addBulk(tuples: readonly ConnTrackTuple[] | Uint8Array, nowMs?: number): number {
    const now = nowMs === undefined ? this.core.ctNow() : checkNowMs(nowMs);
    if (this.core.ctCapacity() === 0)
      throw new DatapathTableError('no flow table: call conntrack.create first');
    let packed: Uint8Array;
    if (tuples instanceof Uint8Array) {
      if (tuples.length % TUPLE_SIZE !== 0)
        throw new DatapathConfigError('tuples', `packed tuples are ${TUPLE_SIZE} bytes each`);
      packed = tuples;
    } else {
      if (!Array.isArray(tuples)) throw new DatapathConfigError('tuples', 'expected an array');
      packed = new Uint8Array(tuples.length * TUPLE_SIZE);
      tuples.forEach((t, i) => packTuple(t, packed, i * TUPLE_SIZE, `tuples[${i}].`));
    }
    const chunk = 1 << 16;
    let added = 0;
    for (let start = 0; start < packed.length; start += chunk * TUPLE_SIZE) {
      const part = packed.subarray(start, start + chunk * TUPLE_SIZE);
      const p = this.core.scratchReserve(part.length);
      if (p === 0) throw new DatapathTableError('out of memory for a bulk add');
      new Uint8Array(this.core.memory.buffer).set(part, p);
      added += this.core.ctAddBulk(p, part.length / TUPLE_SIZE, now);
    }
    return added;
  }

  /** Deletes the flow of `tuple` (either direction); returns whether it was stored. */
  delete(tuple: ConnTrackTuple): boolean {
    return this.core.ctDelete(this.tupleAt(tuple)) === 1;
  }

  /** The live flow of `tuple` (either direction) at `nowMs` (default: last batch), or null. */
  lookup(tuple: ConnTrackTuple, nowMs?: number): ConnTrackEntry | null {
    const now = nowMs === undefined ? this.core.ctNow() : checkNowMs(nowMs);
    const slot = this.core.ctLookup(this.tupleAt(tuple), now);
    if (slot < 0) return null;
    return this.read(slot, now, this.core.ctLastDir());
  }

  /** Looks up many tuples in one call into the core. */
  lookupBulk(tuples: readonly ConnTrackTuple[], nowMs?: number): (ConnTrackEntry | null)[] {
    if (!Array.isArray(tuples)) throw new DatapathConfigError('tuples', 'expected an array');
    const now = nowMs === undefined ? this.core.ctNow() : checkNowMs(nowMs);
    const chunk = 4096;
    const out: (ConnTrackEntry | null)[] = [];
    for (let start = 0; start < tuples.length; start += chunk) {
      const part = tuples.slice(start, start + chunk);
      const p = this.core.scratchReserve(part.length * (TUPLE_SIZE + 4));
      if (p === 0) throw new DatapathTableError('out of memory for a bulk lookup');
      const bytes = new Uint8Array(this.core.memory.buffer);
      part.forEach((t, i) => packTuple(t, bytes, p + i * TUPLE_SIZE, `tuples[${start + i}].`));
      const res = p + part.length * TUPLE_SIZE;
      this.core.ctLookupBulk(p, part.length, res, now);
      const v = new DataView(this.core.memory.buffer);
      for (let i = 0; i < part.length; i++) {
        const r = v.getInt32(res + i * 4, true);
        out.push(r < 0 ? null : this.read(r >>> 1, now, r & 1));
      }
    }
    return out;
  }

  /** Visits every stored flow in slot order (expired ones flagged), ages at `nowMs`. */
  *iterate(nowMs?: number): IterableIterator<ConnTrackEntry> {
    const now = nowMs === undefined ? this.core.ctNow() : checkNowMs(nowMs);
    let cursor = 0;
    for (;;) {
      const slot = this.core.ctIterate(cursor);
      if (slot < 0) return;
      const e = this.core.ctEntryPtr(slot);
      yield this.read(
        slot,
        now,
        new DataView(this.core.memory.buffer).getUint8(e + ENTRY.orig) & 1,
      );
      cursor = slot + 1;
    }
  }

  /** Removes the flows expired at `nowMs`; returns how many. */
  age(nowMs: number): number {
    return this.core.ctAge(checkNowMs(nowMs));
  }

  /** Statistics since create/reset. */
  stats(): ConnTrackStats {
    const n = (i: number) => Number(this.core.ctStat(i));
    return {
      created: n(0),
      evicted: n(1),
      expired: n(2),
      insertFailed: n(3),
      hits: n(4),
      untracked: n(5),
    };
  }

  private read(slot: number, now: number, dir: number): ConnTrackEntry {
    const e = this.core.ctEntryPtr(slot);
    const mem = new Uint8Array(this.core.memory.buffer);
    const v = new DataView(this.core.memory.buffer);
    const version = v.getUint8(e + ENTRY.ver) as 4 | 6;
    const orig = v.getUint8(e + ENTRY.orig) & 1;
    const ends = [
      { addr: formatIp(mem, e, version), port: v.getUint16(e + ENTRY.portA, true) },
      { addr: formatIp(mem, e + 16, version), port: v.getUint16(e + ENTRY.portB, true) },
    ];
    const from = ends[orig]!;
    const to = ends[1 - orig]!;
    const code = v.getUint8(e + ENTRY.state);
    const u48 = (at: number) => v.getUint32(at, true) + v.getUint16(at + 4, true) * 2 ** 32;
    const seen = v.getUint32(e + ENTRY.seen, true);
    const age = (now - seen) >>> 0;
    return {
      tuple: {
        src: from.addr,
        dst: to.addr,
        proto: v.getUint8(e + ENTRY.proto),
        sport: from.port,
        dport: to.port,
      },
      state: CONNTRACK_STATES[code] ?? 'OTHER',
      direction: dir === orig ? 'original' : 'reply',
      lastSeenMs: seen,
      ageMs: age,
      expired: age > this.core.ctTimeout(code),
      packets: {
        original: v.getUint32(e + ENTRY.pkts, true),
        reply: v.getUint32(e + ENTRY.pkts + 4, true),
      },
      bytes: {
        original: u48(e + ENTRY.bytes),
        reply: u48(e + ENTRY.bytes + 6),
      },
    };
  }
}

/** Trace text of the conntrack stage (word A: hit bit, reply bit, state, protocol). */
export function formatConntrackTrace(a: number): string {
  if (a === 0xffffffff) return 'not ip';
  const proto = (a >>> 16) & 0xff;
  const name =
    proto === 6
      ? 'tcp'
      : proto === 17
        ? 'udp'
        : proto === 1 || proto === 58
          ? 'icmp'
          : `proto ${proto}`;
  if ((a & 1) === 0) return `miss ${name}`;
  return `hit ${name} ${CONNTRACK_STATES[(a >>> 8) & 0xff] ?? '?'} ${(a & 2) !== 0 ? 'reply' : 'original'}`;
}
