// Benchmark cases of the gateway/MTU/policer work (also standalone, see the end of the file): `policer_flow64` — parse + per-flow
// policer over 65 536 active UDP/IPv4 flows (60-byte frames, one per flow, 256-packet
// batches, batch time advancing 1 ms), a flow table of 131 072 entries (4-way buckets, LRU
// eviction), for WebAssembly, the TypeScript reference (parse + RefFlowPolicer) and idiomatic
// C (bench/native/gw_bench.c). All three must count the same conforming, exceeding and
// evicted packets over two checking passes, or the benchmark fails.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDatapath } from '../dist/index.js';
import { referenceParse } from '../dist/reference/parser.js';
import { RefFlowPolicer } from '../dist/reference/policers.js';
import {
  batchRunner,
  ipv4Checksum,
  runNative,
  stageMask,
  standalone,
  withNative,
} from './harness.mjs';

const FLOWS = 65536;
const BATCH = 256;
const LEN = 60;
// 100 B/s is 100 milli-bytes per ms: a flow seen every 256 ms regains ~26 bytes, so some
// packets conform and some exceed; 80-byte buckets hold one frame.
const RATE = 100;
const BURST = 80;
const MAX_FLOWS = 131072;
const PORT = 0;

function flowFrame(i) {
  const f = new Uint8Array(LEN);
  f.set([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00], 0);
  f.set([0x45, 0, 0, LEN - 14, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, i >> 8, i & 0xff], 14);
  f.set([192, 168, 1, 1], 30);
  ipv4Checksum(f, 14);
  const sport = 1024 + (i % 50000);
  f.set([sport >> 8, sport & 0xff, 0, 53, 0, LEN - 34, 0, 0], 34);
  return f;
}

/** The C per-flow policer (no DPDK equivalent); null without a compiler. */
function native(frames, seconds) {
  const what = 'native per-flow policer baseline';
  return withNative('gw_bench.c', { what }, ({ bin, dir }) => {
    const file = join(dir, 'frames.bin');
    const header = new Uint32Array([frames.length, LEN, RATE, BURST, MAX_FLOWS, BATCH]);
    const body = new Uint8Array(frames.length * LEN);
    frames.forEach((f, i) => body.set(f, i * LEN));
    writeFileSync(file, Buffer.concat([Buffer.from(header.buffer), body]));
    return runNative(bin, [file, seconds], { what });
  });
}

/** Runs the cases; `measure(step, perStep)` is bench.mjs's CPU-time rate measurement. */
export function gwCases(measure, seconds) {
  const frames = Array.from({ length: FLOWS }, (_, i) => flowFrame(i));
  const batches = FLOWS / BATCH;
  const dp = createDatapath({ batchSize: BATCH, poolSize: FLOWS, frameCapacity: 128 });
  dp.addBridge(1);
  dp.setPort(PORT, { bridge: 1 });
  dp.policers.bindFlows(PORT, { rateBytesPerSec: RATE, burstBytes: BURST, maxFlows: MAX_FLOWS });
  frames.forEach((f, i) => dp.writeSlot(i, f, PORT));
  const runAt = batchRunner(dp, BATCH, stageMask(dp, ['parse', 'policer', 'drop']));
  let now = 0;
  const run = (b) => runAt(b, ++now);
  for (let b = 0; b < 2 * batches; b++) run(b % batches);
  const t = dp.policers.flowTable(PORT);
  const wasmCheck = { conform: t.conform.packets, exceed: t.exceed.packets, evicted: t.evicted };
  const wasm = measure((i) => run(i % batches), BATCH);

  const ref = new RefFlowPolicer(RATE, BURST, MAX_FLOWS);
  let refNow = 0;
  const refRun = (b) => {
    refNow++;
    for (let k = b * BATCH; k < (b + 1) * BATCH; k++) {
      const parsed = referenceParse(frames[k]);
      if (!parsed.ok) throw new Error('reference dropped policer benchmark traffic');
      const f = frames[k];
      ref.charge(
        {
          version: 4,
          src: f.subarray(26, 30),
          dst: f.subarray(30, 34),
          proto: 17,
          sport: parsed.outer.l4.sport,
          dport: parsed.outer.l4.dport,
        },
        LEN,
        refNow,
      );
    }
  };
  for (let b = 0; b < 2 * batches; b++) refRun(b % batches);
  const refCheck = {
    conform: ref.conform.packets,
    exceed: ref.exceed.packets,
    evicted: ref.evicted,
  };
  const ts = measure((i) => refRun(i % batches), BATCH);
  const nat = native(frames, seconds);
  const same = (a, b) =>
    a.conform === b.conform && a.exceed === b.exceed && a.evicted === b.evicted;
  if (!same(wasmCheck, refCheck))
    throw new Error(
      `policer_flow64: WebAssembly ${JSON.stringify(wasmCheck)} != reference ${JSON.stringify(refCheck)}`,
    );
  if (nat && (!same(wasmCheck, nat) || nat.malformed !== 0))
    throw new Error(
      `policer_flow64: WebAssembly ${JSON.stringify(wasmCheck)} != C ${JSON.stringify(nat)}`,
    );
  if (wasmCheck.conform === 0 || wasmCheck.exceed === 0)
    throw new Error('policer_flow64: traffic must both conform and exceed');
  return {
    results: { policer_flow64: { wasm_mpps: wasm, ts_mpps: ts, native_mpps: nat?.mpps ?? null } },
    extra: {
      policer_flow64_conform: wasmCheck.conform,
      policer_flow64_exceed: wasmCheck.exceed,
      policer_flow64_evicted: wasmCheck.evicted,
    },
  };
}

// Standalone: `node bench/gw-bench.mjs [--quick]` runs only these cases (bench.mjs runs them
// with everything else).
standalone(import.meta.url, ({ measure, seconds }) => gwCases(measure, seconds));
