// Host side of the policer stage: token buckets (rate in bytes per second, burst in bytes)
// bound to ingress ports, with the table verbs.
import { checkInt, DatapathConfigError, DatapathTableError } from './errors.js';
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
}

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
    this.core.policerReset();
  }
  /** Removes every policer and binding. */
  free(): void {
    this.core.policerReset();
  }
  /** Removes every policer and binding. */
  reset(): void {
    this.core.policerReset();
  }
  /** Sets policer `id` with a full bucket (counters of an existing one are kept). */
  add(id: number, opts: PolicerOptions): void {
    checkInt(id, 'id', 0, MAX_POLICERS - 1);
    const rate = checkInt(opts?.rateBytesPerSec, 'rateBytesPerSec', 0, 0xffffffff);
    const burst = checkInt(opts?.burstBytes, 'burstBytes', 1, 0xffffffff);
    if (this.core.policerAdd(id, rate, burst) !== 0)
      throw new DatapathTableError(`out of memory for policer ${id}`);
  }
  /** Deletes policer `id` (its ports are unbound); returns whether it existed. */
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
}
