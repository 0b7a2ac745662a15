import { describe, expect, it } from 'vitest';
import { createDatapath, type Datapath } from '../src/index.js';
import { ReferenceDatapath } from '../src/reference/pipeline.js';
import { flowFrame } from './frames.js';
import { arpRequest } from './gateway-frames.js';
import { configErrorField as field } from './errors.js';

const udp = (sport: number, opts: { v6?: boolean; src?: string } = {}) =>
  flowFrame({
    srcMac: '02:00:00:00:00:01',
    dstMac: 'ff:ff:ff:ff:ff:ff',
    v6: opts.v6,
    ...(opts.src ? { src: opts.src } : {}),
    l4: { proto: 'udp', sport, dport: 53, payload: new Array(58).fill(1) },
  });
const LEN = udp(1).length; // 100 bytes

function bridged(): Datapath {
  const dp = createDatapath({ batchSize: 64 });
  dp.addBridge(1);
  dp.addBridge(2);
  dp.setPort(0, { bridge: 1 });
  dp.setPort(1, { bridge: 1 });
  dp.setPort(2, { bridge: 2 });
  return dp;
}

const outcomes = (dp: Datapath, frames: Uint8Array[], port: number, now: number) =>
  dp
    .process(
      frames.map((data) => ({ data, port })),
      now,
    )
    .map((r) => r.drop ?? 'ok');

describe('bridge policers', () => {
  it('police everything bridged in the bridge, after the port policer', () => {
    expect(LEN).toBe(100);
    const dp = bridged();
    // Bridge 1: 300-byte bucket, 100 B/ms. Port 1 has its own 200-byte bucket.
    dp.policers.add(1, { rateBytesPerSec: 100_000, burstBytes: 300 });
    dp.policers.add(2, { rateBytesPerSec: 0, burstBytes: 200 });
    dp.policers.bindBridge(1, 1);
    dp.policers.bind(1, 2);
    expect(dp.policers.bridgePolicer(1)).toBe(1);
    expect(dp.policers.bridgePolicer(2)).toBeNull();
    dp.startTrace(8);
    // Port 1 admits two frames, the bridge admits both; port 0 then gets the last 100 bytes.
    expect(outcomes(dp, [udp(1), udp(2), udp(3)], 1, 1000)).toEqual(['ok', 'ok', 'policer']);
    expect(outcomes(dp, [udp(1), udp(2)], 0, 1000)).toEqual(['ok', 'policer']);
    // Bridge 2 is not policed.
    expect(outcomes(dp, [udp(1), udp(2), udp(3), udp(4)], 2, 1000)).toEqual(
      new Array(4).fill('ok'),
    );
    // 2 ms later the bridge has 200 bytes again.
    expect(outcomes(dp, [udp(1), udp(2), udp(3)], 0, 1002)).toEqual(['ok', 'ok', 'policer']);
    const trace = dp
      .readTrace()
      .filter((r) => r.stage === 'policer')
      .map((r) => r.detail);
    expect(trace).toEqual([
      'bridge policer 1 conform',
      'bridge policer 1 conform',
      'policer 2 exceed',
      'bridge policer 1 conform',
      'bridge policer 1 exceed',
    ]);
    // The port policer's exceed never reached the bridge's bucket.
    expect(dp.policers.lookup(1)).toMatchObject({
      conform: { packets: 5, bytes: 500 },
      exceed: { packets: 2, bytes: 200 },
    });
    expect(dp.policers.lookup(2)).toMatchObject({ exceed: { packets: 1 } });
    // Deleting the policer unbinds the bridge.
    dp.policers.delete(1);
    expect(dp.policers.bridgePolicer(1)).toBeNull();
    expect(outcomes(dp, [udp(1), udp(2), udp(3)], 0, 1003)).toEqual(['ok', 'ok', 'ok']);
    expect(field(() => dp.policers.bindBridge(1, 9))).toBe('id');
    expect(field(() => dp.policers.bindBridge(256, 2))).toBe('bridge');
    dp.policers.bindBridge(1, null);
  });
});

describe('per-flow policers', () => {
  it('give every 5-tuple its own bucket: burst, then rate', () => {
    const dp = bridged();
    // 300-byte buckets refilled at 50 B/ms.
    dp.policers.bindFlows(0, { rateBytesPerSec: 50_000, burstBytes: 300, maxFlows: 64 });
    const a = [udp(1), udp(1), udp(1), udp(1)];
    const b = [udp(2), udp(2), udp(2), udp(2)];
    // Interleaved: each flow has its own three frames of burst.
    expect(outcomes(dp, [a[0]!, b[0]!, a[1]!, b[1]!, a[2]!, b[2]!, a[3]!, b[3]!], 0, 10)).toEqual([
      ...new Array(6).fill('ok'),
      'policer',
      'policer',
    ]);
    // An IPv6 flow and another source address are other flows.
    expect(outcomes(dp, [udp(1, { v6: true }), udp(1, { src: '10.0.0.9' })], 0, 10)).toEqual([
      'ok',
      'ok',
    ]);
    // Non-IP frames are not policed per flow.
    const arp = arpRequest('02:00:00:00:00:01', '10.0.0.1', '10.0.0.2');
    expect(outcomes(dp, [arp, arp, arp, arp, arp, arp, arp, arp], 0, 10)).toEqual(
      new Array(8).fill('ok'),
    );
    expect(
      dp.policers.lookupFlow(0, {
        src: '10.0.0.1',
        dst: '10.0.0.2',
        proto: 17,
        sport: 1,
        dport: 53,
      }),
    ).toEqual({
      tokensMilli: 0,
      lastMs: 10,
    });
    // 2 ms: 100 bytes refilled for flow 1, one frame.
    expect(outcomes(dp, [udp(1), udp(1)], 0, 12)).toEqual(['ok', 'policer']);
    expect(
      dp.policers.lookupFlow(0, {
        src: '10.0.0.1',
        dst: '10.0.0.2',
        proto: 17,
        sport: 2,
        dport: 53,
      }),
    ).toEqual({
      tokensMilli: 0,
      lastMs: 10,
    });
    expect(
      dp.policers.lookupFlow(0, {
        src: '10.0.0.1',
        dst: '10.0.0.2',
        proto: 17,
        sport: 3,
        dport: 53,
      }),
    ).toBeNull();
    expect(dp.policers.flowTable(0)).toEqual({
      rateBytesPerSec: 50_000,
      burstBytes: 300,
      maxFlows: 64,
      conform: { packets: 9, bytes: 920 }, // the IPv6 frame has 20 bytes more
      exceed: { packets: 3, bytes: 300 },
      evicted: 0,
      flows: 4,
    });
    expect([...dp.policers.iterateFlows(0)].map((f) => f.tuple.sport).sort()).toEqual([1, 1, 1, 2]);
    // Port 1 has no flow policer.
    expect(dp.policers.flowTable(1)).toBeNull();
    expect(outcomes(dp, [udp(1), udp(1), udp(1), udp(1), udp(1)], 1, 12)).toEqual(
      new Array(5).fill('ok'),
    );
  });

  it('evicts the least recently used flow of a full bucket, and counts it', () => {
    const dp = bridged();
    // maxFlows 4: one bucket of four ways; zero rate so buckets only drain.
    dp.policers.bindFlows(0, { rateBytesPerSec: 0, burstBytes: 150, maxFlows: 4 });
    dp.startTrace(64);
    // Flows 1..4 fill the table; each spends its 150-byte burst on one frame.
    expect(outcomes(dp, [udp(1), udp(2), udp(3), udp(4)], 0, 1)).toEqual(new Array(4).fill('ok'));
    // Touch 1, 3, 4: flow 2 is now the least recently used.
    expect(outcomes(dp, [udp(1), udp(3), udp(4)], 0, 2)).toEqual(new Array(3).fill('policer'));
    // Flow 5 evicts flow 2 and starts full.
    expect(outcomes(dp, [udp(5)], 0, 3)).toEqual(['ok']);
    const key = (sport: number) => ({
      src: '10.0.0.1',
      dst: '10.0.0.2',
      proto: 17,
      sport,
      dport: 53,
    });
    expect(dp.policers.lookupFlow(0, key(2))).toBeNull();
    expect(dp.policers.lookupFlow(0, key(5))).toEqual({ tokensMilli: 50_000, lastMs: 3 });
    expect(dp.policers.flowTable(0)).toMatchObject({ evicted: 1, flows: 4 });
    // Flow 2 returns with a full bucket (evicting flow 1, now the oldest).
    expect(outcomes(dp, [udp(2)], 0, 4)).toEqual(['ok']);
    expect(dp.policers.lookupFlow(0, key(1))).toBeNull();
    expect(dp.policers.flowTable(0)).toMatchObject({ evicted: 2, flows: 4 });
    expect(dp.policers.lookupFlowBulk(0, [key(2), key(1)])).toEqual([
      { tokensMilli: 50_000, lastMs: 4 },
      null,
    ]);
    const details = dp
      .readTrace()
      .filter((r) => r.stage === 'policer')
      .map((r) => r.detail);
    expect(details.slice(0, 5)).toEqual([
      'flow policer port 0 conform',
      'flow policer port 0 conform',
      'flow policer port 0 conform',
      'flow policer port 0 conform',
      'flow policer port 0 exceed',
    ]);
    // The reference repeats it bit for bit.
    const ref = new ReferenceDatapath(64);
    ref.addBridge(1);
    ref.setPort(0, { bridge: 1 });
    ref.setPort(1, { bridge: 1 });
    ref.bindFlowPolicer(0, { rateBytesPerSec: 0, burstBytes: 150, maxFlows: 4 });
    for (const [sports, now] of [
      [[1, 2, 3, 4], 1],
      [[1, 3, 4], 2],
      [[5], 3],
      [[2], 4],
    ] as const)
      ref.process(
        sports.map((s) => ({ data: udp(s), port: 0 })),
        now,
      );
    const flows = ref.flowPolicer(0)!;
    expect(flows.evicted).toBe(2);
    expect(flows.entries().map((e) => e.tuple.sport)).toEqual([2, 5, 3, 4]);
    expect([...dp.policers.iterateFlows(0)].map((e) => e.tuple.sport)).toEqual([2, 5, 3, 4]);
  });

  it('validates options naming the field; rebinding and reset empty the table', () => {
    const dp = bridged();
    const ok = { rateBytesPerSec: 1000, burstBytes: 100, maxFlows: 16 };
    expect(field(() => dp.policers.bindFlows(0, { ...ok, maxFlows: 12 }))).toBe('maxFlows');
    expect(field(() => dp.policers.bindFlows(0, { ...ok, maxFlows: 2 }))).toBe('maxFlows');
    expect(field(() => dp.policers.bindFlows(0, { ...ok, maxFlows: 1 << 21 }))).toBe('maxFlows');
    expect(field(() => dp.policers.bindFlows(0, { ...ok, burstBytes: 0 }))).toBe('burstBytes');
    expect(field(() => dp.policers.bindFlows(0, { ...ok, rateBytesPerSec: -1 }))).toBe(
      'rateBytesPerSec',
    );
    expect(field(() => dp.policers.bindFlows(300, ok))).toBe('port');
    expect(field(() => dp.policers.lookupFlow(0, { src: 'x', dst: '10.0.0.1', proto: 6 }))).toBe(
      'src',
    );
    expect(field(() => dp.policers.lookupFlow(0, { src: '10.0.0.1', dst: '::1', proto: 6 }))).toBe(
      'dst',
    );
    dp.policers.bindFlows(0, ok);
    outcomes(dp, [udp(1), udp(2)], 0, 1);
    expect(dp.policers.flowTable(0)?.flows).toBe(2);
    const key = { src: '10.0.0.1', dst: '10.0.0.2', proto: 17, sport: 1, dport: 53 };
    expect(dp.policers.deleteFlow(0, key)).toBe(true);
    expect(dp.policers.deleteFlow(0, key)).toBe(false);
    expect(dp.policers.lookupFlow(0, key)).toBeNull();
    expect(dp.policers.flowTable(0)?.flows).toBe(1);
    dp.policers.resetFlows(0);
    expect(dp.policers.flowTable(0)).toMatchObject({ flows: 0, conform: { packets: 0 } });
    expect([...dp.policers.iterateFlows(0)]).toEqual([]);
    dp.policers.bindFlows(0, ok);
    outcomes(dp, [udp(1)], 0, 1);
    dp.policers.reset();
    expect(dp.policers.flowTable(0)).toBeNull();
    dp.policers.bindFlows(0, ok);
    dp.policers.bindFlows(0, null);
    expect(dp.policers.flowTable(0)).toBeNull();
    expect(outcomes(dp, [udp(1), udp(1), udp(1)], 0, 2)).toEqual(['ok', 'ok', 'ok']);
  });
});
