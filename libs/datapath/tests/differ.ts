// The differential step every core-vs-reference spec runs: the same batch through both, then
// identical results frame by frame and identical counters.
import { expect } from 'vitest';
import { createDatapath, type Datapath, type FrameIn, type PacketResult } from '../src/index.js';
import { ReferenceDatapath } from '../src/reference/pipeline.js';

/**
 * A core and a reference with the same batch size, both set up by `configure` (the core
 * first, as the specs always did).
 */
export function configuredPair(
  configure: (t: Datapath | ReferenceDatapath) => void,
  batchSize = 64,
): { dp: Datapath; ref: ReferenceDatapath } {
  const dp = createDatapath({ batchSize });
  const ref = new ReferenceDatapath(batchSize);
  configure(dp);
  configure(ref);
  return { dp, ref };
}

/** A result with its frame as hex, so a mismatch diffs readably. */
export function comparable(r: PacketResult) {
  return { ...r, frame: Buffer.from(r.frame).toString('hex') };
}

/** A result as `comparable` returns it. */
export type ComparableResult = ReturnType<typeof comparable>;

/**
 * Processes `batch` at `now` in the core and in the reference and expects the same results
 * (frame by frame, named by `round`, frame index, port and bytes) and the same counters.
 * Returns the core's results, frames as hex.
 */
export function processBoth(
  dp: Datapath,
  ref: ReferenceDatapath,
  batch: FrameIn[],
  now: number,
  round: number,
): ComparableResult[] {
  const got = dp.process(batch, now).map(comparable);
  const want = ref.process(batch, now).map(comparable);
  expect(got.length, `results in round ${round}`).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    expect(
      got[i],
      `round ${round} frame ${i} port ${batch[i]?.port}: ${Buffer.from(batch[i]?.data ?? []).toString('hex')}`,
    ).toEqual(want[i]);
  }
  expect(dp.counters(), `counters after round ${round}`).toEqual(ref.counters());
  return got;
}
