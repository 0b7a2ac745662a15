// Host side of the policer stage: token buckets (rate in bytes per second, burst in bytes)
// bound to ingress ports and bridges, and per-flow buckets per port, with the table verbs.
import { checkInt, DatapathConfigError, DatapathTableError } from './errors.js';
import { parseIp, formatIp } from './net.js';
import type { CoreMemory } from './core/load.js';

/** Exports of the core used by the policers (see assembly/policer.ts). */
export interface PolicerCoreExports {
  memory: CoreMemory;
  policerAdd(id: number, rate: number, burst: number): number;
  policerDelete(id: number): number;
  policerReset(): void;
  policerBind(port: number, id: number): number;
  policerEntryPtr(id: number): number;
  policerOfPort(port: number): number;
  policerBindBridge(bridge: number, id: number): number;
  policerOfBridge(bridge: number): number;
  flowPolicerBind(port: number, rate: number, burst: number, maxFlows: number): number;
  flowPolicerUnbind(port: number): void;
  flowPolicerReset(): void;
  flowPolicerLookup(port: number): number;
  flowPolicerDelete(port: number): number;
  flowPolicerTablePtr(port: number): number;
  flowPolicerSlots(port: number): number;
  flowKeyBuffer(): number;
}

/** Per-flow policing of a port: one bucket per 5-tuple flow, `maxFlows` flows at most. */
export interface FlowPolicerOptions extends PolicerOptions {
  /** Flows held at most: a power of two, 4 to 2^20 (4-way buckets, LRU eviction). */
  maxFlows: number;
}

/** A port's per-flow policer: configuration and counters. */
export interface FlowPolicerState extends FlowPolicerOptions {
  conform: { packets: number; bytes: number };
  exceed: { packets: number; bytes: number };
  /** Flows evicted to make room for new ones. */
  evicted: number;
  /** Flows held now. */
  flows: number;
}

/** A flow's 5-tuple (ports 0 for protocols without ports and for non-first fragments). */
export interface FlowTuple {
  src: string;
  dst: string;
  proto: number;
  sport?: number;
  dport?: number;
}

/** One flow's bucket. */
export interface FlowBucket {
  /** Tokens in milli-bytes. */
  tokensMilli: number;
  /** Batch time (ms) of the last refill. */
  lastMs: number;
}

const TABLE = {
  rate: 0,
  burst: 4,
  mask: 8,
  flows: 16,
  conformPackets: 24,
  conformBytes: 32,
  exceedPackets: 40,
  exceedBytes: 48,
  evicted: 56,
};
const FLOW = {
  used: 0,
  ver: 1,
  proto: 2,
  sport: 4,
  dport: 6,
  src: 8,
  dst: 24,
  tokens: 40,
  last: 48,
};
const FLOW_ENTRY_SIZE = 64;
const FLOW_TABLE_HEADER = 64;

/** Policers the core holds: ids 0 .. MAX_POLICERS-1. */
export const MAX_POLICERS = 256;

/** A policer's configuration. */
export interface PolicerOptions {
  /** Sustained rate in bytes per second (frame bytes as received). */
  rateBytesPerSec: number;
  /** Bucket size in bytes: the largest burst admitted at once. */
  burstBytes: number;
}

/** A policer with its counters. */
export interface PolicerState extends PolicerOptions {
  conform: { packets: number; bytes: number };
  exceed: { packets: number; bytes: number };
}

const ENTRY = {
  rate: 4,
  burst: 8,
  conformPackets: 24,
  conformBytes: 32,
  exceedPackets: 40,
  exceedBytes: 48,
};

/**
 * Token-bucket policers of the `policer` stage, charged per ingress port, with the table verbs
 * (create, free, reset, add, delete, lookup, lookupBulk, iterate) plus `bind`.
 */
export class PolicerTable {
  /** @internal */
  constructor(private readonly core: PolicerCoreExports) {}

  /** Removes every policer and binding (as `reset`). */
  create(): void {
    this.reset();
  }
  /** Removes every policer and binding. */
  free(): void {
    this.reset();
  }
  /** Removes every policer, binding and per-flow policer. */
  reset(): void {
    this.core.policerReset();
    this.core.flowPolicerReset();
  }
  /** Sets policer `id` with a full bucket (counters of an existing one are kept). */
  add(id: number, opts: PolicerOptions): void {
    checkInt(id, 'id', 0, MAX_POLICERS - 1);
    const rate = checkInt(opts?.rateBytesPerSec, 'rateBytesPerSec', 0, 0xffffffff);
    const burst = checkInt(opts?.burstBytes, 'burstBytes', 1, 0xffffffff);
    if (this.core.policerAdd(id, rate, burst) !== 0)
      throw new DatapathTableError(`out of memory for policer ${id}`);
  }
  /** Deletes policer `id` (its ports and bridges are unbound); returns whether it existed. */
  delete(id: number): boolean {
    checkInt(id, 'id', 0, MAX_POLICERS - 1);
    return this.core.policerDelete(id) === 0;
  }
  /** Policer `id` with its counters, or null. */
  lookup(id: number): PolicerState | null {
    checkInt(id, 'id', 0, MAX_POLICERS - 1);
    const p = this.core.policerEntryPtr(id);
    if (p === 0) return null;
    const v = new DataView(this.core.memory.buffer);
    const u64 = (o: number) => Number(v.getBigUint64(p + o, true));
    return {
      rateBytesPerSec: v.getUint32(p + ENTRY.rate, true),
      burstBytes: v.getUint32(p + ENTRY.burst, true),
      conform: { packets: u64(ENTRY.conformPackets), bytes: u64(ENTRY.conformBytes) },
      exceed: { packets: u64(ENTRY.exceedPackets), bytes: u64(ENTRY.exceedBytes) },
    };
  }
  /** Several policers at once. */
  lookupBulk(ids: readonly number[]): (PolicerState | null)[] {
    return ids.map((id) => this.lookup(id));
  }
  /** Visits every policer in id order. */
  *iterate(): IterableIterator<{ id: number; policer: PolicerState }> {
    for (let id = 0; id < MAX_POLICERS; id++) {
      const policer = this.lookup(id);
      if (policer) yield { id, policer };
    }
  }
  /** Charges packets arriving on `port` to policer `id` (null: no policer). */
  bind(port: number, id: number | null): void {
    checkInt(port, 'port', 0, 255);
    if (id === null) {
      this.core.policerBind(port, -1);
      return;
    }
    checkInt(id, 'id', 0, MAX_POLICERS - 1);
    if (this.core.policerBind(port, id) !== 0)
      throw new DatapathConfigError('id', `policer ${id} does not exist`);
  }
  /** Charges frames bridged in `bridge` (after the port's policer) to policer `id` (null: none). */
  bindBridge(bridge: number, id: number | null): void {
    checkInt(bridge, 'bridge', 0, 255);
    if (id === null) {
      this.core.policerBindBridge(bridge, -1);
      return;
    }
    checkInt(id, 'id', 0, MAX_POLICERS - 1);
    if (this.core.policerBindBridge(bridge, id) !== 0)
      throw new DatapathConfigError('id', `policer ${id} does not exist`);
  }
  /** Policer bound to `bridge`, or null. */
  bridgePolicer(bridge: number): number | null {
    checkInt(bridge, 'bridge', 0, 255);
    const id1 = this.core.policerOfBridge(bridge);
    return id1 === 0 ? null : id1 - 1;
  }
  /**
   * Gives every 5-tuple flow arriving on `port` its own token bucket (null: stop). Rebinding
   * starts an empty table with zero counters.
   */
  bindFlows(port: number, opts: FlowPolicerOptions | null): void {
    checkInt(port, 'port', 0, 255);
    if (opts === null) {
      this.core.flowPolicerUnbind(port);
      return;
    }
    const rate = checkInt(opts?.rateBytesPerSec, 'rateBytesPerSec', 0, 0xffffffff);
    const burst = checkInt(opts?.burstBytes, 'burstBytes', 1, 0xffffffff);
    const maxFlows = checkInt(opts?.maxFlows, 'maxFlows', 4, 1 << 20);
    if ((maxFlows & (maxFlows - 1)) !== 0)
      throw new DatapathConfigError('maxFlows', `must be a power of two, got ${maxFlows}`);
    if (this.core.flowPolicerBind(port, rate, burst, maxFlows) !== 0)
      throw new DatapathTableError(`out of memory for the flow policer of port ${port}`);
  }
  /** The per-flow policer of `port` with its counters, or null. */
  flowTable(port: number): FlowPolicerState | null {
    checkInt(port, 'port', 0, 255);
    const p = this.core.flowPolicerTablePtr(port);
    if (p === 0) return null;
    const v = new DataView(this.core.memory.buffer);
    const u64 = (o: number) => Number(v.getBigUint64(p + o, true));
    return {
      rateBytesPerSec: v.getUint32(p + TABLE.rate, true),
      burstBytes: v.getUint32(p + TABLE.burst, true),
      maxFlows: (v.getUint32(p + TABLE.mask, true) + 1) * 4,
      conform: { packets: u64(TABLE.conformPackets), bytes: u64(TABLE.conformBytes) },
      exceed: { packets: u64(TABLE.exceedPackets), bytes: u64(TABLE.exceedBytes) },
      evicted: u64(TABLE.evicted),
      flows: v.getUint32(p + TABLE.flows, true),
    };
  }
  /** Empties the flow table of `port` (configuration kept, counters restart). */
  resetFlows(port: number): void {
    const state = this.flowTable(port);
    if (state) this.bindFlows(port, state);
  }
  /** Forgets one flow of `port` (its next packet starts a full bucket); whether it was held. */
  deleteFlow(port: number, tuple: FlowTuple): boolean {
    return this.writeFlowKey(port, tuple) && this.core.flowPolicerDelete(port) === 0;
  }
  /** The buckets of several flows of `port`. */
  lookupFlowBulk(port: number, tuples: readonly FlowTuple[]): (FlowBucket | null)[] {
    return tuples.map((t) => this.lookupFlow(port, t));
  }
  /** The bucket of one flow on `port`, or null when the port's table does not hold it. */
  lookupFlow(port: number, tuple: FlowTuple): FlowBucket | null {
    if (!this.writeFlowKey(port, tuple)) return null;
    const e = this.core.flowPolicerLookup(port);
    return e === 0 ? null : this.bucketAt(e);
  }
  // Validates `tuple` and writes it as the core's lookup key; false when `port` has no table.
  private writeFlowKey(port: number, tuple: FlowTuple): boolean {
    checkInt(port, 'port', 0, 255);
    const src = parseIp(tuple?.src, 'src');
    const dst = parseIp(tuple?.dst, 'dst');
    if (src.version !== dst.version)
      throw new DatapathConfigError('dst', 'must be the same IP version as src');
    const proto = checkInt(tuple.proto, 'proto', 0, 255);
    const sport = checkInt(tuple.sport ?? 0, 'sport', 0, 65535);
    const dport = checkInt(tuple.dport ?? 0, 'dport', 0, 65535);
    const k = this.core.flowKeyBuffer();
    if (this.core.flowPolicerTablePtr(port) === 0 || k === 0) return false;
    const bytes = new Uint8Array(this.core.memory.buffer);
    bytes.fill(0, k, k + 40);
    const v = new DataView(this.core.memory.buffer);
    v.setUint8(k + FLOW.ver, src.version);
    v.setUint8(k + FLOW.proto, proto);
    v.setUint16(k + FLOW.sport, sport, true);
    v.setUint16(k + FLOW.dport, dport, true);
    bytes.set(src.bytes, k + FLOW.src);
    bytes.set(dst.bytes, k + FLOW.dst);
    return true;
  }
  private bucketAt(e: number): FlowBucket {
    const v = new DataView(this.core.memory.buffer);
    return {
      tokensMilli: Number(v.getBigUint64(e + FLOW.tokens, true)),
      lastMs: v.getUint32(e + FLOW.last, true),
    };
  }
  /** Visits every flow held for `port` (table order). */
  *iterateFlows(port: number): IterableIterator<{ tuple: FlowTuple; bucket: FlowBucket }> {
    checkInt(port, 'port', 0, 255);
    const slots = this.core.flowPolicerSlots(port);
    for (let i = 0; i < slots; i++) {
      const t = this.core.flowPolicerTablePtr(port);
      if (t === 0) return;
      const e = t + FLOW_TABLE_HEADER + i * FLOW_ENTRY_SIZE;
      const bytes = new Uint8Array(this.core.memory.buffer);
      const v = new DataView(this.core.memory.buffer);
      if (v.getUint8(e + FLOW.used) === 0) continue;
      const version = v.getUint8(e + FLOW.ver) === 6 ? 6 : 4;
      yield {
        tuple: {
          src: formatIp(bytes, e + FLOW.src, version),
          dst: formatIp(bytes, e + FLOW.dst, version),
          proto: v.getUint8(e + FLOW.proto),
          sport: v.getUint16(e + FLOW.sport, true),
          dport: v.getUint16(e + FLOW.dport, true),
        },
        bucket: this.bucketAt(e),
      };
    }
  }
}
