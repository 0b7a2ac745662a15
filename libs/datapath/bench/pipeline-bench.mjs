// Per-stage figures of the routed pipeline (README "Performance notes (part II)"): the
// pipeline64 traffic run through growing subsets of the stages, so that each stage's cost is
// the difference between two rows. Also runnable on its own while tuning:
//   node bench/pipeline-bench.mjs [--quick] [--cases lpm,parse,l3,encap,noacl,full]
import { createDatapath } from '../dist/index.js';
import { generateRoutes, activeDestinations } from './lpm-traffic.mjs';
import {
  routedFrame,
  configureRouted,
  generateAclRules,
  wasmLpm,
  ROUTES,
  ACTIVE,
} from './l3-bench.mjs';
import { benchOptions, cpuMeasure, isMain, stageMask } from './harness.mjs';

const ROUTED_PORT = 1;
const BATCH = 256;

/** Stage subsets measured, each a list of stage names (tx and drop always run). */
export const STAGE_SUBSETS = {
  host: [],
  parse: ['parse'],
  l3: ['parse', 'l3'],
  encap: ['parse', 'l3', 'vxlan-encap'],
  full: ['parse', 'acl', 'l3', 'vxlan-encap'],
};

/** Keys of the stage subsets in the benchmark's JSON line (pipeline64 = all with the ACL). */
export const STAGE_KEYS = {
  host: 'pipeline64_host_only_mpps',
  parse: 'pipeline64_parse_mpps',
  l3: 'pipeline64_parse_l3_mpps',
  encap: 'pipeline64_no_acl_mpps',
  full: 'pipeline64_full_mpps',
};

/**
 * Runs the pipeline64 traffic through each subset in `cases` (names of STAGE_SUBSETS); the
 * `full` case binds the ACL; `host` runs no stage (the host's per-batch work). Returns Mpps by case.
 */
export function pipelineStageCases({ routes, dests, acl }, measure, cases) {
  const frames = Array.from(dests, (d, i) => routedFrame(d, i));
  const dp = createDatapath({ batchSize: BATCH, poolSize: frames.length, frameCapacity: 128 });
  configureRouted(dp, routes);
  dp.acl.load(acl.rules1k);
  frames.forEach((f, i) => dp.writeSlot(i, f, ROUTED_PORT));
  const r = dp.regions();
  const checksums = Uint16Array.from(frames, (f) => f[24] | (f[25] << 8));
  const out = {};
  for (const name of cases) {
    const subset = STAGE_SUBSETS[name];
    const mask = stageMask(dp, [...subset, 'tx', 'drop']);
    dp.acl.bind(ROUTED_PORT, name === 'full');
    let buffer = null;
    let u32, u16, u8, vec;
    const run = (i) => {
      const base = (i * BATCH) % frames.length;
      if (buffer !== dp.core.memory.buffer) {
        buffer = dp.core.memory.buffer;
        u32 = new Uint32Array(buffer);
        u16 = new Uint16Array(buffer);
        u8 = new Uint8Array(buffer);
        vec = new Uint16Array(buffer, r.inputVectorBase, BATCH);
      }
      // What pipelineCases restores per batch (frame start, length, port, TTL, checksum).
      for (let k = 0; k < BATCH; k++) {
        const slot = base + k;
        const d = (r.descBase + slot * r.descSize) >> 2;
        u32[d] = r.slotDataStart;
        u32[d + 1] = 60;
        u16[(d << 1) + 4] = ROUTED_PORT;
        const ttl = r.poolBase + slot * r.slotSize + r.slotDataStart + 22;
        u8[ttl] = 64;
        u16[(ttl + 2) >> 1] = checksums[slot];
        vec[k] = slot;
      }
      dp.core.process(BATCH, 0, mask, 0);
    };
    out[name] = measure(run, BATCH);
    const res = dp.readResult(0);
    const want = subset.includes('l3') ? 'forward' : subset.length ? 'pass' : null;
    if (want && res.verdict !== want)
      throw new Error(`stage subset ${name} gave ${res.verdict}/${res.drop}, expected ${want}`);
  }
  return out;
}

if (isMain(import.meta.url)) {
  const { seconds } = benchOptions();
  const measure = cpuMeasure(seconds);
  const at = process.argv.indexOf('--cases');
  const cases = (at > 0 ? process.argv[at + 1] : 'lpm,parse,l3,encap,full').split(',');
  const routes = generateRoutes(ROUTES, { nextHops: 1024 });
  const dests = activeDestinations(routes, ACTIVE);
  const acl = { rules1k: generateAclRules(1000, dests, 21).rules };
  const res = {};
  if (cases.includes('lpm')) {
    // LPM bulk lookups only (lpmCases without the reference).
    const l = wasmLpm({ routes, dests }, measure);
    res.lpm = l.wasm;
    res.lpm_hash = l.wasmHash;
  }
  const sub = cases.filter((c) => c in STAGE_SUBSETS);
  Object.assign(res, pipelineStageCases({ routes, dests, acl }, measure, sub));
  for (const [k, v] of Object.entries(res))
    console.log(
      `${k.padEnd(8)} ${k === 'lpm_hash' ? v : `${v.toFixed(2)} (${(1000 / v).toFixed(1)} ns)`}`,
    );
}
