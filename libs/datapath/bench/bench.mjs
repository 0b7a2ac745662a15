#!/usr/bin/env node
// Datapath benchmark: one core, the traffic spec in README.md ("Benchmark"). Measures each
// stage and the pipeline so far for WebAssembly, the TypeScript reference and a native C
// baseline (with DPDK rte_hash for the MAC table), prints a table and, as the last line,
// one JSON object.   node bench/bench.mjs [--quick]
import { createDatapath } from '../dist/index.js';
import { ReferenceDatapath } from '../dist/reference/pipeline.js';
import { referenceParse } from '../dist/reference/parser.js';
import {
  startL3,
  lpmCases,
  pipelineCases,
  aclSets,
  aclCase,
  QUICK_RTE_LPM_ROUTES,
} from './l3-bench.mjs';
import { conntrackCases } from './ct-bench.mjs';
import { gwCases } from './gw-bench.mjs';
import { aclActionCases } from './acl-bench.mjs';
import { pipelineStageCases, STAGE_KEYS } from './pipeline-bench.mjs';
import { lpm6Cases } from './lpm6-bench.mjs';
import { xorshift } from './lpm-traffic.mjs';
import {
  benchOptions,
  cpuMeasure,
  withNative,
  runNative,
  printResults,
  ipv4Checksum,
  macOf,
  macText as macBytesText,
  slotBatches,
} from './harness.mjs';

const { quick, seconds: SECONDS } = benchOptions();
const measure = cpuMeasure(SECONDS);
const BATCH = 256;
const POOL = 4096;
const FLOWS = 1024;
const MACS = 4096;
const PORTS = 16;
// 2^12 buckets x 4 ways = 16 384 entries for 4096 MACs, as the native baselines size theirs.
const MAC_BUCKETS_LOG2 = 12;

const rand = xorshift(12345);

const portOfMac = (i) => i % PORTS;

/** UDP/IPv4 frame of `len` bytes (>= 60) between two MACs for flow `flow`. */
function udpFrame(dstMac, srcMac, flow, len) {
  const f = new Uint8Array(len);
  f.set(dstMac, 0);
  f.set(srcMac, 6);
  f[12] = 0x08;
  const ip = 14;
  const total = len - 14;
  f.set(
    [
      0x45,
      0,
      total >> 8,
      total & 0xff,
      0,
      0,
      0x40,
      0,
      64,
      17,
      0,
      0,
      10,
      0,
      flow >> 8,
      flow & 0xff,
      10,
      1,
      0,
      1,
    ],
    ip,
  );
  ipv4Checksum(f, ip);
  const udp = ip + 20;
  const ulen = total - 20;
  f.set(
    [((1024 + flow) >> 8) & 0xff, (1024 + flow) & 0xff, 0x13, 0x88, ulen >> 8, ulen & 0xff, 0, 0],
    udp,
  );
  return f;
}

const IMIX = [60, 60, 60, 60, 60, 60, 60, 590, 590, 590, 590, 1514];

function traffic(sizeOf) {
  const frames = [];
  for (let i = 0; i < POOL; i++) {
    const s = rand() % MACS;
    let d = rand() % MACS;
    if (portOfMac(d) === portOfMac(s)) d = (d + 1) % MACS;
    frames.push({
      data: udpFrame(macOf(d), macOf(s), rand() % FLOWS, sizeOf(i)),
      port: portOfMac(s),
      dst: d,
    });
  }
  return frames;
}

/** VXLAN/IPv4 from the remote VTEP (VNI 5000) carrying 60-byte frames from remote hosts
 * (MACs 4096..8191, learned on the tunnel port) to the local MACs 0..4095. */
function vxlanTraffic() {
  const frames = [];
  for (let i = 0; i < POOL; i++) {
    const inner = udpFrame(macOf(rand() % MACS), macOf(MACS + (rand() % MACS)), rand() % FLOWS, 60);
    const outer = udpFrame(
      [2, 0, 0, 0, 0xff, 1],
      [2, 0, 0, 0, 0xff, 2],
      0,
      14 + 20 + 8 + 8 + inner.length,
    );
    outer.set([192, 0, 2, 2, 192, 0, 2, 1], 14 + 12);
    // Re-checksum the IPv4 header after changing the addresses; UDP port 4789, VXLAN header.
    ipv4Checksum(outer, 14);
    outer.set([0x12, 0xb5], 36);
    outer.set([0x08, 0, 0, 0, 0, 0x13, 0x88, 0], 42);
    outer.set(inner, 50);
    frames.push({ data: outer, port: 20 });
  }
  return frames;
}

const macText = (i) => macBytesText(macOf(i));

function configure(dp, { tunnel = false, macsBehindTunnel = tunnel } = {}) {
  dp.addBridge(1);
  for (let p = 0; p < PORTS; p++) dp.setPort(p, { bridge: 1 });
  dp.setPort(20, {});
  if (tunnel) {
    dp.addVxlanTunnel(0, {
      port: 100,
      bridge: 1,
      vni: 5000,
      local: '192.0.2.1',
      remote: '192.0.2.2',
      localMac: '02:00:00:00:ff:01',
      remoteMac: '02:00:00:00:ff:02',
      underlayPort: 20,
    });
  }
  for (let i = 0; i < MACS; i++) {
    const port = macsBehindTunnel && i % 2 === 1 ? 100 : portOfMac(i);
    if (dp instanceof ReferenceDatapath) dp.addMac(1, macText(i), port);
    else dp.macTable.add(1, macText(i), port);
  }
}

function wasmRun(
  frames,
  {
    parseOnly = false,
    tunnel = false,
    macsBehindTunnel = tunnel,
    frameCapacity = 2048,
    resetDescriptors = tunnel,
  } = {},
) {
  const dp = createDatapath({
    batchSize: BATCH,
    poolSize: POOL,
    frameCapacity,
    macBucketsLog2: MAC_BUCKETS_LOG2,
  });
  configure(dp, { tunnel, macsBehindTunnel });
  frames.forEach((f, i) => dp.writeSlot(i, f.data, f.port));
  const batches = slotBatches(POOL, BATCH);
  const r = dp.regions();
  const view = new DataView(dp.core.memory.buffer);
  const mpps = measure((i) => {
    const batch = batches[i % batches.length];
    if (resetDescriptors) {
      // Encapsulation/decapsulation moved the frame start last time: restore the descriptor.
      for (const slot of batch) {
        const d = r.descBase + slot * r.descSize;
        view.setUint32(d, r.slotDataStart, true);
        view.setUint32(d + 4, frames[slot].data.length, true);
        view.setUint16(d + 8, frames[slot].port, true);
      }
    }
    dp.processSlots(batch, 0, parseOnly ? 'parse' : 'all');
  }, BATCH);
  const sample = dp.readResult(0);
  const expected = parseOnly ? 'pass' : 'forward';
  if (sample.verdict !== expected)
    throw new Error(
      `benchmark traffic gave ${sample.verdict}/${sample.drop}, expected ${expected}`,
    );
  return mpps;
}

function tsParse(frames) {
  return measure((i) => {
    const start = (i * BATCH) % POOL;
    for (let k = start; k < start + BATCH; k++)
      if (!referenceParse(frames[k].data).ok)
        throw new Error('reference dropped benchmark traffic');
  }, BATCH);
}

function tsPipeline(frames, { tunnel = false, macsBehindTunnel = tunnel } = {}) {
  const ref = new ReferenceDatapath(BATCH);
  configure(ref, { tunnel, macsBehindTunnel });
  const batches = [];
  for (let b = 0; b < POOL / BATCH; b++)
    batches.push(
      frames.slice(b * BATCH, (b + 1) * BATCH).map(({ data, port }) => ({ data, port })),
    );
  return measure((i) => {
    const out = ref.process(batches[i % batches.length], 0);
    if (out[0].verdict !== 'forward')
      throw new Error('reference did not forward benchmark traffic');
  }, BATCH);
}

/** The C baseline (MAC table also on rte_hash when DPDK is there); null without a compiler. */
function native() {
  return withNative(
    'datapath_bench.c',
    { dpdk: 'optional', what: 'native baseline', dpdkWhat: 'rte_hash baseline' },
    ({ bin }) => runNative(bin, [SECONDS]),
  );
}

// The L3 traffic is built first so that its native baseline (long in full mode: rte_lpm loads
// 1 M routes) runs in the background while the WebAssembly cases are measured.
const l3 = startL3(SECONDS, quick);
const frames64 = traffic(() => 60);
const framesVxlan = vxlanTraffic();
const framesImix = traffic((i) => IMIX[i % IMIX.length]);
const nat = native();
const results = {
  parse64: {
    wasm_mpps: wasmRun(frames64, { parseOnly: true }),
    ts_mpps: tsParse(frames64),
    native_mpps: nat?.parse64_mpps ?? null,
  },
  l2_64: {
    wasm_mpps: wasmRun(frames64),
    ts_mpps: tsPipeline(frames64),
    native_mpps: nat?.l2_64_mpps ?? null,
    native_rte_hash_mpps: nat?.l2_64_rte_hash_mpps ?? null,
  },
  vxlan_encap64: {
    wasm_mpps: wasmRun(frames64, { tunnel: true }),
    ts_mpps: tsPipeline(frames64, { tunnel: true }),
    native_mpps: nat?.vxlan_encap64_mpps ?? null,
  },
  vxlan_decap64: {
    wasm_mpps: wasmRun(framesVxlan, { tunnel: true, macsBehindTunnel: false }),
    ts_mpps: tsPipeline(framesVxlan, { tunnel: true, macsBehindTunnel: false }),
    native_mpps: null,
  },
  l2_imix: { wasm_mpps: wasmRun(framesImix), ts_mpps: tsPipeline(framesImix), native_mpps: null },
};
aclSets(l3);
const acl1k = aclCase(l3, l3.acl.set1k, measure, SECONDS);
const acl10k = aclCase(l3, l3.acl.set10k, measure, SECONDS);
// The memory-bound L3 cases wait for the native LPM process: while it loads 1 M routes into
// rte_lpm it competes for the shared last-level cache (the WebAssembly LPM measured 234 M
// lookups/s alongside it, 255-295 alone, on the same loaded machine).
const natL3 = await l3.native;
const lpm = lpmCases(l3, measure);
const routed = pipelineCases(l3, measure);
const routedStages = pipelineStageCases(l3, measure, ['host', 'parse', 'l3', 'encap']);
if (natL3 && natL3.rte_fib_hash !== undefined && natL3.rte_fib_hash !== lpm.wasmHash)
  throw new Error('rte_fib and the WebAssembly LPM found different next hops');
const lpmFull = natL3?.rte_lpm_routes === l3.routes.addrs.length;
if (natL3 && lpmFull && natL3.rte_lpm_hash !== lpm.wasmHash)
  throw new Error('rte_lpm and the WebAssembly LPM found different next hops');
results.pipeline64 = {
  wasm_mpps: routed.wasm,
  ts_mpps: routed.ts,
  native_mpps: natL3?.pipeline64_mpps ?? null,
  // C on rte_fib with rte_acl over the same 1 k rules.
};
for (const [name, a] of [
  ['acl1k', acl1k],
  ['acl10k', acl10k],
])
  results[name] = {
    wasm_mpps: a.wasm,
    ts_mpps: a.ts,
    // rte_acl classifies pre-extracted 5-tuples; the WebAssembly and TS rates include parsing.
    native_mpps: a.native?.mclass ?? null,
  };
results.lpm1m = {
  wasm_mlookups: lpm.wasm,
  ts_mlookups: lpm.ts,
  // rte_lpm with the whole table only in full mode (its load takes minutes; see README).
  native_mlookups: lpmFull ? (natL3?.rte_lpm_mlookups ?? null) : null,
  native_rte_fib_mlookups: natL3?.rte_fib_mlookups ?? null,
};
if (natL3 && !lpmFull)
  results[`lpm${QUICK_RTE_LPM_ROUTES / 1000}k_rte_lpm`] = {
    native_mlookups: natL3.rte_lpm_mlookups ?? null,
  };
if (natL3 && natL3.pipeline64_acl !== true)
  console.log('note: the native pipeline64 ran without its ACL (rte_acl could not be built)');
const extra = {
  route_load_1m_s: lpm.loadSeconds,
  route_load_1m_rte_fib_s: natL3?.rte_fib_load_s ?? null,
  [`route_load_${natL3?.rte_lpm_routes ?? 0}_rte_lpm_s`]: natL3?.rte_lpm_load_s ?? null,
  lpm1m_table_mib: lpm.memory / 2 ** 20,
  acl_compile_10k_s: acl10k.compileSeconds,
  acl1k_shapes: acl1k.shapes,
  acl10k_shapes: acl10k.shapes,
  acl10k_rules_hit: acl10k.matched,
  acl_build_10k_rte_acl_s: acl10k.native?.build_s ?? null,
  ...Object.fromEntries(Object.entries(routedStages).map(([k, v]) => [STAGE_KEYS[k], v])),
};
const ct = conntrackCases(measure, SECONDS, quick);
Object.assign(results, ct.results);
Object.assign(extra, ct.extra);
const gw = gwCases(measure, SECONDS);
Object.assign(results, gw.results);
Object.assign(extra, gw.extra);
Object.assign(results, aclActionCases(l3, measure));
const v6 = lpm6Cases(measure, SECONDS, quick);
Object.assign(results, v6.results);
Object.assign(extra, v6.extra);
printResults(results, extra, `${quick ? 'quick' : 'full'}: ${SECONDS}s`);
