// Benchmark cases of the gateway/MTU/policer work (also standalone, see the end of the file): `policer_flow64` — parse + per-flow
// policer over 65 536 active UDP/IPv4 flows (60-byte frames, one per flow, 256-packet
// batches, batch time advancing 1 ms), a flow table of 131 072 entries (4-way buckets, LRU
// eviction), for WebAssembly, the TypeScript reference (parse + RefFlowPolicer) and idiomatic
// C (bench/native/gw_bench.c). All three must count the same conforming, exceeding and
// evicted packets over two checking passes, or the benchmark fails.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatapath } from '../dist/index.js';
import { referenceParse } from '../dist/reference/parser.js';
import { RefFlowPolicer } from '../dist/reference/policers.js';

const here = dirname(fileURLToPath(import.meta.url));
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
  const ip = [0x45, 0, 0, LEN - 14, 0, 0, 0, 0, 64, 17, 0, 0];
  ip.push(10, 0, i >> 8, i & 0xff, 192, 168, 1, 1);
  let s = 0;
  for (let k = 0; k < 20; k += 2) s += (ip[k] << 8) | ip[k + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  ip[10] = (~s >> 8) & 0xff;
  ip[11] = ~s & 0xff;
  f.set(ip, 14);
  const sport = 1024 + (i % 50000);
  f.set([sport >> 8, sport & 0xff, 0, 53, 0, LEN - 34, 0, 0], 34);
  return f;
}

function native(frames, seconds) {
  const cc = spawnSync('cc', ['--version'], { stdio: 'ignore' });
  if (cc.error || cc.status !== 0) {
    console.log('native per-flow policer baseline skipped: no C compiler (cc) found');
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), 'dp-gw-'));
  try {
    const bin = join(dir, 'gw_bench');
    execFileSync('cc', ['-O3', '-march=native', join(here, 'native', 'gw_bench.c'), '-o', bin], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const file = join(dir, 'frames.bin');
    const header = new Uint32Array([frames.length, LEN, RATE, BURST, MAX_FLOWS, BATCH]);
    const body = new Uint8Array(frames.length * LEN);
    frames.forEach((f, i) => body.set(f, i * LEN));
    writeFileSync(file, Buffer.concat([Buffer.from(header.buffer), body]));
    const out = execFileSync(bin, [file, String(seconds)], { encoding: 'utf8' });
    return JSON.parse(out.trim().split('\n').pop());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
  const stages = dp.stages();
  const mask = ['parse', 'policer', 'drop'].reduce(
    (m, name) => m | (1 << stages.findIndex((s) => s.name === name)),
    0,
  );
  const vector = dp.regions().inputVectorBase;
  let now = 0;
  const run = (b) => {
    const v = new Uint16Array(dp.core.memory.buffer, vector, BATCH);
    for (let k = 0; k < BATCH; k++) v[k] = b * BATCH + k;
    dp.core.process(BATCH, ++now, mask, 0);
  };
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
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const seconds = Number(
    process.env.DATAPATH_BENCH_SECONDS ?? (process.argv.includes('--quick') ? 0.3 : 2),
  );
  const measure = (step, perStep) => {
    for (let i = 0; i < 3; i++) step(i);
    let n = 0;
    let i = 0;
    const c0 = process.cpuUsage();
    let elapsed = 0;
    do {
      for (let k = 0; k < 16; k++) {
        step(i++);
        n += perStep;
      }
      const c = process.cpuUsage(c0);
      elapsed = (c.user + c.system) / 1e6;
    } while (elapsed < seconds);
    return n / elapsed / 1e6;
  };
  const { results, extra } = gwCases(measure, seconds);
  console.log(JSON.stringify({ ...results, ...extra }));
}
