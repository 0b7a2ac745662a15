import { describe, expect, it } from 'vitest';
import {
  createDatapath,
  DatapathConfigError,
  type Datapath,
  type FrameIn,
  type PacketResult,
} from '../src/index.js';
import { ReferenceDatapath } from '../src/reference/pipeline.js';
import { flowFrame, mutateFrame, prng, randInt, randomValidFrame } from './frames.js';
import { configuredPair } from './differ.js';

const SEED = Number(process.env.DATAPATH_FUZZ_SEED ?? 0);
const ROUNDS = Number(process.env.DATAPATH_DIFF_ROUNDS ?? 200);

const frame = (len: number) => {
  const f = flowFrame({ srcMac: '02:00:00:00:00:01', dstMac: 'ff:ff:ff:ff:ff:ff' });
  const out = new Uint8Array(len);
  out.set(f.subarray(0, Math.min(len, f.length)));
  return out;
};

describe('policers', () => {
  it('admit the burst, then the rate, and count both outcomes', () => {
    const dp = createDatapath({ batchSize: 64 });
    dp.addBridge(1);
    dp.setPort(0, { bridge: 1 });
    dp.setPort(1, { bridge: 1 });
    // 100 000 B/s = 100 B per ms; a 1000-byte bucket.
    dp.policers.add(7, { rateBytesPerSec: 100_000, burstBytes: 1000 });
    dp.policers.bind(0, 7);
    const burst = Array.from({ length: 12 }, () => ({ data: frame(100), port: 0 }));
    // 10 frames of 100 bytes fit in the bucket at t=0, the 11th and 12th do not.
    expect(dp.process(burst, 1000).map((r) => r.drop ?? 'ok')).toEqual([
      ...new Array<string>(10).fill('ok'),
      'policer',
      'policer',
    ]);
    // 3 ms later 300 bytes of tokens: three more frames.
    expect(dp.process(burst.slice(0, 5), 1003).map((r) => r.drop ?? 'ok')).toEqual([
      'ok',
      'ok',
      'ok',
      'policer',
      'policer',
    ]);
    // Port 1 is not policed.
    expect(dp.process([{ data: frame(1500), port: 1 }], 1003)[0]!.drop).toBeNull();
    expect(dp.policers.lookup(7)).toEqual({
      rateBytesPerSec: 100_000,
      burstBytes: 1000,
      conform: { packets: 13, bytes: 1300 },
      exceed: { packets: 4, bytes: 400 },
    });
    expect(dp.counters().drops.policer).toBe(4);
    // A long pause refills only up to the burst.
    expect(
      dp
        .process(
          [
            { data: frame(1000), port: 0 },
            { data: frame(100), port: 0 },
          ],
          60_000,
        )
        .map((r) => r.drop ?? 'ok'),
    ).toEqual(['ok', 'policer']);
    dp.startTrace(1);
    dp.process([{ data: frame(100), port: 0 }], 60_000);
    expect(dp.readTrace().find((r) => r.stage === 'policer')?.detail).toBe('policer 7 exceed');
    expect([...dp.policers.iterate()].map((e) => e.id)).toEqual([7]);
    expect(dp.policers.lookupBulk([7, 8])[1]).toBeNull();
    expect(dp.policers.delete(7)).toBe(true);
    expect(dp.process([{ data: frame(1500), port: 0 }], 60_000)[0]!.drop).toBeNull();
    expect(dp.policers.delete(7)).toBe(false);
    expect(() => dp.policers.bind(0, 9)).toThrow(DatapathConfigError);
    expect(() => dp.policers.add(1, { rateBytesPerSec: -1, burstBytes: 5 })).toThrow(
      /rateBytesPerSec/,
    );
    expect(() => dp.policers.add(1, { rateBytesPerSec: 1, burstBytes: 0 })).toThrow(/burstBytes/);
  });

  it('differential: policed bridged, routed and ACL ports against the reference', () => {
    const setup = (t: Datapath | ReferenceDatapath) => {
      t.addBridge(1);
      for (const p of [0, 1, 2]) t.setPort(p, { bridge: 1 });
      t.setPort(3, { vrf: 1 });
      if (t instanceof ReferenceDatapath) {
        t.addPolicer(0, 20_000, 1500);
        t.addPolicer(1, 500_000, 3000);
        t.bindPolicer(0, 0);
        t.bindPolicer(1, 1);
        t.bindPolicer(3, 1);
        t.router.createVrf(1);
        t.router.setNextHop(0, {
          port: 2,
          dstMac: '02:00:00:00:00:05',
          srcMac: '02:00:00:00:00:06',
        });
        t.router.addRoute(1, 0, 0, 0);
      } else {
        t.policers.add(0, { rateBytesPerSec: 20_000, burstBytes: 1500 });
        t.policers.add(1, { rateBytesPerSec: 500_000, burstBytes: 3000 });
        t.policers.bind(0, 0);
        t.policers.bind(1, 1);
        t.policers.bind(3, 1);
        t.routes.create(1);
        t.nextHops.add(0, { port: 2, dstMac: '02:00:00:00:00:05', srcMac: '02:00:00:00:00:06' });
        t.routes.add(1, '0.0.0.0/0', 0);
      }
    };
    const { dp, ref } = configuredPair(setup);
    const rand = prng(SEED ^ 0x9011);
    const comparable = (r: PacketResult) => ({ ...r, frame: Buffer.from(r.frame).toString('hex') });
    let now = 5;
    const seen = new Set<string>();
    for (let round = 0; round < ROUNDS; round++) {
      const batch: FrameIn[] = [];
      for (let i = 0; i < 1 + randInt(rand, 60); i++) {
        const k = randInt(rand, 10);
        const data =
          k < 6
            ? flowFrame({
                srcMac: `02:00:00:00:00:1${randInt(rand, 6)}`,
                dst: `10.0.0.${randInt(rand, 9)}`,
              })
            : k < 8
              ? mutateFrame(rand, frame(60 + randInt(rand, 1400)))
              : randomValidFrame(rand);
        batch.push({ data, port: randInt(rand, 4) });
      }
      const got = dp.process(batch, now).map(comparable);
      const want = ref.process(batch, now).map(comparable);
      for (let i = 0; i < got.length; i++) {
        expect(got[i], `round ${round} frame ${i}`).toEqual(want[i]);
        seen.add(got[i]!.drop ?? got[i]!.verdict);
      }
      expect(dp.counters()).toEqual(ref.counters());
      // Time moves by 0–30 ms, now and then wrapping past 2^32.
      now = (now + randInt(rand, 30) + (round === 100 ? 0xffffff00 : 0)) >>> 0;
    }
    for (const id of [0, 1]) {
      const state = dp.policers.lookup(id)!;
      expect({ conform: state.conform, exceed: state.exceed }).toEqual(ref.policerCounters(id));
    }
    expect(seen).toContain('policer');
    expect(seen).toContain('forward');
  });
});
