// ACL action case of the datapath benchmark (README "ACL"): the cost of non-terminal rules.
// `acl1k_count_log` is `acl1k` (parse + ACL on the 1 k-rule set, the 65 536 routed flows) with
// a count rule and a log rule sampling 1 in 256 in front of the set, so every packet counts
// twice and the host drains the log ring as it goes. There is no DPDK equivalent (rte_acl
// has no non-terminal actions), so the check is against the reference: the same counters
// (packets and bytes per rule) and the same log records after one pass.
import { createDatapath } from '../dist/index.js';
import { ReferenceDatapath } from '../dist/reference/pipeline.js';
import { referenceParse } from '../dist/reference/parser.js';
import { referenceAclEvaluate } from '../dist/reference/acl.js';
import { checkAclRule } from '../dist/acl.js';
import { routedFrame } from './l3-bench.mjs';
import { batchRunner, stageMask } from './harness.mjs';

const PORT = 1;
const BATCH = 256;
/** Frames of the agreement pass against the (slow) reference pipeline. */
const CHECKED = 8192;

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** Runs `acl1k_count_log`; returns the result keys for the benchmark's JSON line. */
export function aclActionCases({ dests, acl }, measure) {
  const rules = [
    { action: 'count', proto: 17 },
    { action: 'log', src: '10.0.0.0/16', log: { sampleEvery: 256 } },
    ...acl.rules1k,
  ];
  // The acl1k frames: 60-byte UDP/IPv4 from 10.0/16 (flow i) to the active destinations.
  const frames = Array.from(dests, (d, i) => routedFrame(d, i));
  const dp = createDatapath({ batchSize: BATCH, poolSize: frames.length, frameCapacity: 128 });
  dp.setPort(PORT, { vrf: 0 });
  dp.acl.load(rules);
  dp.acl.bind(PORT);
  frames.forEach((f, i) => dp.writeSlot(i, f, PORT));
  const run = batchRunner(dp, BATCH, stageMask(dp, ['parse', 'acl', 'drop']));

  // Agreement: one pass over the first CHECKED frames in the core and in the reference.
  const checked = rules.map((r, i) => checkAclRule(r, i));
  const ref = new ReferenceDatapath(BATCH);
  ref.setPort(PORT, { vrf: 0 });
  ref.loadAcl(checked, false);
  ref.bindAcl(PORT, true);
  for (let b = 0; b < CHECKED / BATCH; b++) run(b);
  ref.process(
    frames.slice(0, CHECKED).map((data) => ({ data, port: PORT })),
    0,
  );
  const log = dp.acl.readLog();
  if (!same(dp.acl.counters(), ref.aclCounters()) || !same(log, ref.readAclLog()) || !log.length)
    throw new Error('the WebAssembly ACL and the reference disagree on count/log rules');

  const batches = frames.length / BATCH;
  const wasm = measure((i) => {
    run(i % batches);
    // The host drains the ring as a collector would.
    if (i % 64 === 63) dp.acl.readLog();
  }, BATCH);
  const ts = measure((i) => {
    const off = (i * BATCH) % frames.length;
    for (let k = off; k < off + BATCH; k++) {
      const parsed = referenceParse(frames[k]);
      if (!parsed.ok) throw new Error('reference dropped ACL benchmark traffic');
      referenceAclEvaluate(checked, {
        version: 4,
        src: frames[k].subarray(26, 30),
        dst: frames[k].subarray(30, 34),
        proto: 17,
        l4: 1,
        a: parsed.outer.l4.sport,
        b: parsed.outer.l4.dport,
        vni: null,
        port: PORT,
      });
    }
  }, BATCH);
  return { acl1k_count_log: { wasm_mpps: wasm, ts_mpps: ts, native_mpps: null } };
}
