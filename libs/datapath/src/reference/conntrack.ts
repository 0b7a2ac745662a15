// Reference connection tracking: flows in a Map keyed by text, the state machine and timeouts
// as README "Connection tracking" states them. To reproduce the core's eviction exactly it
// models the slot array too (which slot each flow sits in); the slot choice follows the
// documented hash and policy, not the core's code.

import type { ConnTrackState } from '../conntrack.js';
import type { RefFlowKey } from './hash.js';

/** What the tracker needs from a packet. */
export interface ConnTrackPacket extends RefFlowKey {
  /** TCP flags byte (0 for other protocols). */
  flags: number;
  length: number;
}

// The state names are the host API's contract; the reference only shares that type, and its
// state machine (below) assigns states on its own.
type StateName = ConnTrackState;

interface Endpoint {
  addr: Uint8Array;
  port: number;
}

/** One reference flow. */
export interface RefFlow {
  key: string;
  version: 4 | 6;
  proto: number;
  /** Endpoints in canonical order. */
  ends: [Endpoint, Endpoint];
  /** Which canonical end opened the flow (0 or 1). */
  opener: number;
  state: StateName;
  finOriginal: boolean;
  finReply: boolean;
  lastSeen: number;
  packets: [number, number];
  bytes: [number, number];
}

/** Default timeouts in ms per state. */
export const REF_CT_DEFAULT_TIMEOUTS: Record<StateName, number> = {
  SYN_SENT: 30_000,
  SYN_RECV: 30_000,
  ESTABLISHED: 3_600_000,
  FIN_WAIT: 120_000,
  TIME_WAIT: 120_000,
  CLOSE: 10_000,
  UNREPLIED: 30_000,
  REPLIED: 180_000,
  ICMP: 30_000,
  OTHER: 60_000,
};

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return 0;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Canonical order of a packet's ends: [low, high] and the packet's side (0: src is low). */
function orderEnds(p: ConnTrackPacket): { ends: [Endpoint, Endpoint]; side: number } {
  const s = { addr: p.src, port: p.sport };
  const d = { addr: p.dst, port: p.dport };
  let c = compareBytes(p.src, p.dst);
  if (c === 0) c = Math.sign(p.sport - p.dport);
  return c > 0 ? { ends: [d, s], side: 1 } : { ends: [s, d], side: 0 };
}

function keyText(version: number, proto: number, ends: [Endpoint, Endpoint]): string {
  return `${version}|${proto}|${hex(ends[0].addr)}.${ends[0].port}|${hex(ends[1].addr)}.${ends[1].port}`;
}

// The documented key hash: the 40-byte key (A, B, ports little-endian, proto, version) read
// as little-endian 32-bit words, mixed with h = (h ^ w) * 0x9e3779b1, h ^= h >>> 15, then
// murmur3's finaliser. IPv4 keys mix only their non-zero words (0, 4, 8, 9).
function keyHash(version: 4 | 6, proto: number, ends: [Endpoint, Endpoint]): number {
  const bytes = new Uint8Array(40);
  bytes.set(ends[0].addr, 0);
  bytes.set(ends[1].addr, 16);
  const v = new DataView(bytes.buffer);
  v.setUint16(32, ends[0].port, true);
  v.setUint16(34, ends[1].port, true);
  bytes[36] = proto;
  bytes[37] = version;
  const words = version === 4 ? [0, 4, 8, 9] : [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  let h = 0x7f4a7c15;
  for (const w of words) {
    h = Math.imul((h ^ v.getUint32(w * 4, true)) >>> 0, 0x9e3779b1) >>> 0;
    h = (h ^ (h >>> 15)) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** Reference flow table with the core's verbs and statistics. */
export class ReferenceConnTrack {
  private slots: (RefFlow | null)[] = [];
  private readonly where = new Map<string, number>();
  private bucketCount = 0;
  timeouts: Record<StateName, number> = { ...REF_CT_DEFAULT_TIMEOUTS };
  stats = { created: 0, evicted: 0, expired: 0, insertFailed: 0, hits: 0, untracked: 0 };

  /** True while a table exists. */
  get enabled(): boolean {
    return this.bucketCount > 0;
  }

  /** A table of at least `capacity` slots (power-of-two buckets of 8), statistics zeroed. */
  create(capacity: number, timeoutsMs: Partial<Record<StateName, number>> = {}): void {
    let b = 1;
    while (b * 8 < capacity) b *= 2;
    this.bucketCount = b;
    this.slots = new Array<RefFlow | null>(b * 8).fill(null);
    this.where.clear();
    this.timeouts = { ...REF_CT_DEFAULT_TIMEOUTS, ...timeoutsMs };
    this.resetStats();
  }

  free(): void {
    this.bucketCount = 0;
    this.slots = [];
    this.where.clear();
  }

  reset(): void {
    this.slots.fill(null);
    this.where.clear();
    this.resetStats();
  }

  private resetStats(): void {
    for (const k of Object.keys(this.stats)) this.stats[k as keyof typeof this.stats] = 0;
  }

  get size(): number {
    return this.where.size;
  }

  private expired(f: RefFlow, now: number): boolean {
    return (now - f.lastSeen) >>> 0 > this.timeouts[f.state];
  }

  // The key's candidate slots in policy order: first bucket's 8, then the second's.
  private candidates(h: number): number[] {
    const mask = this.bucketCount - 1;
    const b1 = h & mask;
    const sig = h >>> 16 || 1;
    const b2 = (b1 ^ Math.imul(sig, 0x5bd1e995)) & mask;
    const out: number[] = [];
    for (const b of b1 === b2 ? [b1] : [b1, b2]) for (let w = 0; w < 8; w++) out.push(b * 8 + w);
    return out;
  }

  private place(flow: RefFlow, h: number, now: number): void {
    const existing = this.where.get(flow.key);
    let slot: number | undefined = existing;
    if (slot === undefined) {
      const cands = this.candidates(h);
      // Empty slots first: in the bucket with more of them (the first bucket on a tie).
      const buckets = [cands.slice(0, 8), cands.slice(8)];
      const empties = buckets.map((b) => b.filter((s) => this.slots[s] === null));
      const pickFrom = empties[1]!.length > empties[0]!.length ? empties[1]! : empties[0]!;
      slot = pickFrom[0];
      if (slot === undefined) {
        slot = cands.find((s) => this.expired(this.slots[s]!, now));
        if (slot !== undefined) this.stats.expired++;
      }
      if (slot === undefined) {
        // Least recently seen; the first in candidate order on a tie.
        let best = -1;
        for (const s of cands) {
          const age = (now - this.slots[s]!.lastSeen) >>> 0;
          if (best < 0 || age > best) {
            best = age;
            slot = s;
          }
        }
        this.stats.evicted++;
      }
      const old = this.slots[slot!];
      if (old) this.where.delete(old.key);
    }
    this.slots[slot!] = flow;
    this.where.set(flow.key, slot!);
  }

  private newFlow(
    version: 4 | 6,
    proto: number,
    ends: [Endpoint, Endpoint],
    opener: number,
    state: StateName,
    now: number,
  ): RefFlow {
    return {
      key: keyText(version, proto, ends),
      version,
      proto,
      ends: [
        { addr: Uint8Array.from(ends[0].addr), port: ends[0].port },
        { addr: Uint8Array.from(ends[1].addr), port: ends[1].port },
      ],
      opener,
      state,
      finOriginal: false,
      finReply: false,
      lastSeen: now,
      packets: [0, 0],
      bytes: [0, 0],
    };
  }

  private see(f: RefFlow, reply: boolean, flags: number, length: number, now: number): void {
    f.lastSeen = now;
    f.packets[reply ? 1 : 0]++;
    f.bytes[reply ? 1 : 0] += length;
    if (
      f.proto === 6 &&
      ['SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'TIME_WAIT', 'CLOSE'].includes(f.state)
    ) {
      const syn = (flags & 2) !== 0;
      const ack = (flags & 0x10) !== 0;
      if ((flags & 4) !== 0) {
        f.state = 'CLOSE';
        return;
      }
      if (f.state === 'SYN_SENT' && reply && syn && ack) f.state = 'SYN_RECV';
      else if (f.state === 'SYN_RECV' && !reply && ack && !syn) f.state = 'ESTABLISHED';
      if ((f.state === 'ESTABLISHED' || f.state === 'FIN_WAIT') && (flags & 1) !== 0) {
        if (reply) f.finReply = true;
        else f.finOriginal = true;
        f.state = f.finOriginal && f.finReply ? 'TIME_WAIT' : 'FIN_WAIT';
      }
    } else if (f.state === 'UNREPLIED' && reply) {
      f.state = 'REPLIED';
    }
  }

  private live(p: ConnTrackPacket): {
    flow: RefFlow | null;
    side: number;
    h: number;
    ends: [Endpoint, Endpoint];
  } {
    const { ends, side } = orderEnds(p);
    const key = keyText(p.version, p.proto, ends);
    const slot = this.where.get(key);
    const flow = slot === undefined ? null : this.slots[slot]!;
    return { flow, side, h: keyHash(p.version, p.proto, ends), ends };
  }

  /** The conntrack stage for one packet: true when it belongs to a live flow (updated). */
  track(p: ConnTrackPacket, now: number): { hit: boolean; reply: boolean; state: string } {
    const { flow, side } = this.live(p);
    if (!flow || this.expired(flow, now)) return { hit: false, reply: false, state: '' };
    const reply = side !== flow.opener;
    this.see(flow, reply, p.flags, p.length, now);
    this.stats.hits++;
    return { hit: true, reply, state: flow.state };
  }

  /** A `permit-stateful` match: opens the packet's flow (or advances it when live). */
  open(p: ConnTrackPacket, now: number): void {
    if (!this.enabled) {
      this.stats.insertFailed++;
      return;
    }
    const { flow, side, h, ends } = this.live(p);
    if (flow && !this.expired(flow, now)) {
      this.see(flow, side !== flow.opener, p.flags, p.length, now);
      return;
    }
    let state: StateName;
    if (p.proto === 6) {
      if ((p.flags & 0x16) !== 2) {
        this.stats.untracked++;
        return;
      }
      state = 'SYN_SENT';
    } else if (p.proto === 17) state = 'UNREPLIED';
    else if ((p.proto === 1 && p.version === 4) || (p.proto === 58 && p.version === 6))
      state = 'ICMP';
    else state = 'OTHER';
    if (flow) this.stats.expired++;
    const fresh = this.newFlow(p.version, p.proto, ends, side, state, now);
    this.place(fresh, h, now);
    this.see(fresh, false, p.flags, p.length, now);
    this.stats.created++;
  }

  /** Host `add`: the flow of a tuple in `state`, last seen at `now`. */
  add(p: Omit<ConnTrackPacket, 'flags' | 'length'>, state: StateName, now: number): void {
    const { ends, side } = orderEnds({ ...p, flags: 0, length: 0 });
    const h = keyHash(p.version, p.proto, ends);
    this.place(this.newFlow(p.version, p.proto, ends, side, state, now), h, now);
    this.stats.created++;
  }

  /** Host `delete`. */
  delete(p: Omit<ConnTrackPacket, 'flags' | 'length'>): boolean {
    const { ends } = orderEnds({ ...p, flags: 0, length: 0 });
    const key = keyText(p.version, p.proto, ends);
    const slot = this.where.get(key);
    if (slot === undefined) return false;
    this.slots[slot] = null;
    this.where.delete(key);
    return true;
  }

  /** Host `lookup`: the live flow and the tuple's direction. */
  lookup(
    p: Omit<ConnTrackPacket, 'flags' | 'length'>,
    now: number,
  ): { flow: RefFlow; reply: boolean } | null {
    const { flow, side } = this.live({ ...p, flags: 0, length: 0 });
    if (!flow || this.expired(flow, now)) return null;
    return { flow, reply: side !== flow.opener };
  }

  /** Sweep: removes expired flows. */
  age(now: number): number {
    let n = 0;
    this.slots.forEach((f, s) => {
      if (f && this.expired(f, now)) {
        this.slots[s] = null;
        this.where.delete(f.key);
        n++;
      }
    });
    this.stats.expired += n;
    return n;
  }

  /** Stored flows in slot order, with their slot. */
  *flows(): IterableIterator<{ slot: number; flow: RefFlow }> {
    for (let s = 0; s < this.slots.length; s++) {
      const flow = this.slots[s];
      if (flow) yield { slot: s, flow };
    }
  }

  /** Whether `flow` has expired at `now`. */
  isExpired(flow: RefFlow, now: number): boolean {
    return this.expired(flow, now);
  }
}
