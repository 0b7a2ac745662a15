// L3 cases of the datapath benchmark (README "Benchmark"): IPv4 LPM lookups over a 1 M-route
// table, route loading, and the routed pipeline (parse → L3 → VXLAN encap → counters) on
// 64-byte frames, for WebAssembly, the TypeScript reference and the DPDK baselines.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDatapath } from '../dist/index.js';
import { ReferenceDatapath } from '../dist/reference/pipeline.js';
import { referenceParse } from '../dist/reference/parser.js';
import { referenceAclMatch } from '../dist/reference/acl.js';
import { checkAclRule } from '../dist/acl.js';
import {
  generateRoutes,
  activeDestinations,
  writeRouteFile,
  hashHops,
  xorshift,
} from './lpm-traffic.mjs';
import {
  batchRunner,
  compileNative,
  ipv4Checksum,
  macOf,
  macText,
  referenceBatches,
  runNative,
  slotBatches,
  stageMask,
  withNative,
} from './harness.mjs';

export const ROUTES = 1_000_000;
export const ACTIVE = 65536;
/** rte_lpm_add scans all rules of a length: 1 M routes take minutes, so quick mode loads fewer. */
export const QUICK_RTE_LPM_ROUTES = 100_000;
const NEXT_HOPS = 1024;
const TUNNELS = 4;
const ROUTED_PORT = 1;

/** Builds the shared traffic and starts the native LPM baseline in the background. */
export function startL3(seconds, quick) {
  const routes = generateRoutes(ROUTES, { nextHops: NEXT_HOPS });
  const dests = activeDestinations(routes, ACTIVE);
  const acl = {
    set1k: generateAclRules(1000, dests, 21),
    set10k: generateAclRules(10000, dests, 22),
  };
  acl.rules1k = acl.set1k.rules;
  const native = startNative(routes, dests, acl.set1k, seconds, quick);
  return { routes, dests, native, acl };
}

function startNative(routes, dests, aclSet, seconds, quick) {
  const native = compileNative('lpm_bench.c', {
    dpdk: 'required',
    what: 'native LPM baseline',
    dpdkWhat: 'rte_lpm/rte_fib baselines',
  });
  if (!native) return Promise.resolve(null);
  const { bin, dir } = native;
  const file = join(dir, 'routes.bin');
  writeRouteFile(file, routes, dests);
  // The native pipeline classifies with the same 1 k-rule ACL (rte_acl).
  const aclFile = join(dir, 'acl.bin');
  writeAclFile(aclFile, aclSet, null);
  const lpmRoutes = quick ? QUICK_RTE_LPM_ROUTES : 0;
  // Runs in parallel with the WebAssembly cases (rates come from each process's CPU time);
  // in full mode loading 1 M routes into rte_lpm dominates the benchmark's run time.
  return new Promise((resolve) => {
    const child = spawn(bin, [file, String(seconds), String(lpmRoutes), aclFile], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.on('close', () => {
      native.cleanup();
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()));
      } catch {
        console.log('native LPM baseline failed');
        resolve(null);
      }
    });
  });
}

/**
 * WebAssembly LPM bulk lookups (256 a call) over the active destinations: the rate, the route
 * load's wall time, the table's memory and a hash of the next hops found.
 */
export function wasmLpm({ routes, dests }, measure) {
  const dp = createDatapath({ batchSize: 256 });
  dp.routes.create(0, { large: true });
  const t0 = process.hrtime.bigint();
  dp.routes.load(0, routes);
  const loadSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const memory = dp.routes.memoryBytes(0);
  const core = dp.core;
  const p = core.scratchReserve(dests.length * 8);
  new Uint32Array(core.memory.buffer, p, dests.length).set(dests);
  const out = p + dests.length * 4;
  core.lpmLookupBulk(0, p, dests.length, out);
  const wasmHash = hashHops(new Uint32Array(core.memory.buffer, out, dests.length));
  const chunk = 256;
  const wasm = measure((i) => {
    const off = (i * chunk) % dests.length;
    core.lpmLookupBulk(0, p + off * 4, chunk, out + off * 4);
  }, chunk);
  return { wasm, loadSeconds, memory, wasmHash };
}

/** LPM lookups: WebAssembly bulk lookups and the reference, over the active destinations. */
export function lpmCases({ routes, dests }, measure) {
  const { wasm, loadSeconds, memory, wasmHash } = wasmLpm({ routes, dests }, measure);
  const chunk = 256;
  const ref = new ReferenceDatapath(256);
  ref.router.createVrf(0);
  for (let i = 0; i < routes.addrs.length; i++)
    ref.router.addRoute(0, routes.addrs[i], routes.lengths[i], routes.nextHops[i]);
  const refHops = Uint32Array.from(dests, (a) => ref.router.lookup(0, a) ?? 0xffffffff);
  if (hashHops(refHops) !== wasmHash) throw new Error('reference and WebAssembly LPM disagree');
  const ts = measure((i) => {
    const off = (i * chunk) % dests.length;
    for (let k = off; k < off + chunk; k++) ref.router.lookup(0, dests[k]);
  }, chunk);
  return { wasm, ts, loadSeconds, memory, wasmHash };
}

const ROUTER_MAC = macOf(0xfe01);

/** 60-byte UDP/IPv4 frame to the router MAC for destination `dst` (host order). */
export function routedFrame(dst, flow) {
  const f = new Uint8Array(60);
  f.set(ROUTER_MAC, 0);
  f.set(macOf(0x1000 + (flow & 0xff)), 6);
  f[12] = 0x08;
  const ip = 14;
  f.set([0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, (flow >> 8) & 0xff, flow & 0xff], ip);
  f.set([dst >>> 24, (dst >>> 16) & 0xff, (dst >>> 8) & 0xff, dst & 0xff], ip + 16);
  ipv4Checksum(f, ip);
  f.set([(1024 + flow) >> 8, (1024 + flow) & 0xff, 0x13, 0x88, 0, 26, 0, 0], ip + 20);
  return f;
}

/** Configures the routed pipeline: next hops behind VXLAN tunnels (IPv4 underlay). */
export function configureRouted(t, routes) {
  t.addBridge(1);
  t.setPort(ROUTED_PORT, { vrf: 0 });
  t.setPort(20, {});
  for (let k = 0; k < TUNNELS; k++) {
    t.addVxlanTunnel(k, {
      port: 100 + k,
      bridge: 1,
      vni: 5000 + k,
      local: '192.0.2.1',
      remote: `192.0.2.${10 + k}`,
      localMac: '02:00:00:00:ff:01',
      remoteMac: '02:00:00:00:ff:02',
      underlayPort: 20,
    });
  }
  const nh = (i) => ({
    port: 100 + (i % TUNNELS),
    dstMac: macText(macOf(0x2000 + i)),
    srcMac: macText(ROUTER_MAC),
  });
  if (t instanceof ReferenceDatapath) {
    for (let i = 0; i < NEXT_HOPS; i++) t.router.setNextHop(i, nh(i));
    t.router.createVrf(0);
    for (let i = 0; i < routes.addrs.length; i++)
      t.router.addRoute(0, routes.addrs[i], routes.lengths[i], routes.nextHops[i]);
  } else {
    for (let i = 0; i < NEXT_HOPS; i++) t.nextHops.add(i, nh(i));
    t.routes.create(0, { large: true });
    t.routes.load(0, routes);
  }
}

/** The routed pipeline on 64-byte frames, one per active destination. */
export function pipelineCases({ routes, dests, acl }, measure) {
  const batch = 256;
  const frames = Array.from(dests, (d, i) => routedFrame(d, i));
  const dp = createDatapath({ batchSize: batch, poolSize: frames.length, frameCapacity: 128 });
  configureRouted(dp, routes);
  dp.acl.load(acl.rules1k);
  dp.acl.bind(ROUTED_PORT);
  frames.forEach((f, i) => dp.writeSlot(i, f, ROUTED_PORT));
  const r = dp.regions();
  const batches = slotBatches(frames.length, batch);
  const checksums = Uint16Array.from(frames, (f) => f[24] | (f[25] << 8));
  // Views of the core's memory, made again only if it grows (as a long-running caller would).
  let buffer = null;
  let u32, u16, u8;
  const wasm = measure((i) => {
    const slots = batches[i % batches.length];
    if (buffer !== dp.core.memory.buffer) {
      buffer = dp.core.memory.buffer;
      u32 = new Uint32Array(buffer);
      u16 = new Uint16Array(buffer);
      u8 = new Uint8Array(buffer);
    }
    // Encapsulation moved the frame start and L3 decremented the TTL: restore both (typed
    // arrays: about 10 ns per packet, included in the rate).
    for (let k = 0; k < slots.length; k++) {
      const slot = slots[k];
      const d = (r.descBase + slot * r.descSize) >> 2;
      u32[d] = r.slotDataStart;
      u32[d + 1] = 60;
      u16[(d << 1) + 4] = ROUTED_PORT;
      const ttl = r.poolBase + slot * r.slotSize + r.slotDataStart + 22;
      u8[ttl] = 64;
      u16[(ttl + 2) >> 1] = checksums[slot];
    }
    dp.processSlots(slots, 0, 'all');
  }, batch);
  const sample = dp.readResult(0);
  if (sample.verdict !== 'forward' || sample.outPort !== 20)
    throw new Error(`routed benchmark traffic gave ${sample.verdict}/${sample.drop}`);

  const ref = new ReferenceDatapath(batch);
  configureRouted(ref, routes);
  ref.loadAcl(
    acl.rules1k.map((r, i) => checkAclRule(r, i)),
    false,
  );
  ref.bindAcl(ROUTED_PORT, true);
  const refBatches = referenceBatches(frames, batch, 64, ROUTED_PORT);
  const ts = measure((i) => {
    const out = ref.process(refBatches[i % refBatches.length], 0);
    if (out[0].verdict !== 'forward') throw new Error('reference did not route benchmark traffic');
  }, batch);
  return { wasm, ts };
}

const ACL_FLOW_SRC = (i) => (0x0a000000 | (i & 0xffff)) >>> 0;
const maskOf = (len) => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

/**
 * An ACL of `n` rules with mixed shapes (README "Benchmark"): prefixes of /8–/32 on either
 * side or none, TCP/UDP/any, exact ports and ranges. Deny rules target other traffic (TCP,
 * other ports, 172.16/12); permit rules cover slices of the benchmark flows, so packets match
 * rules all over the list and the default (permit) for the rest.
 */
export function generateAclRules(n, dests, seed = 21) {
  const rand = xorshift(seed);
  const rules = [];
  const raw = new Uint32Array(n * 10);
  for (let i = 0; i < n; i++) {
    const deny = rand() % 10 < 7;
    const pick = (lens) => lens[rand() % lens.length];
    let src = null;
    let dst = null;
    if (deny) {
      // Other traffic: never the benchmark flows, but every shape the permits use and more.
      if (rand() % 4 !== 0) {
        const len = pick([8, 16, 24, 32]);
        src = [((0xac100000 | (rand() & 0x000fffff)) & maskOf(len)) >>> 0, len];
      }
    } else {
      // A slice of the benchmark flows (256 or fewer sources each).
      const len = pick([24, 28, 32]);
      src = [(ACL_FLOW_SRC(rand()) & maskOf(len)) >>> 0, len];
    }
    if (rand() % 5 < 2) {
      const len = pick([8, 16, 24]);
      dst = [(dests[rand() % dests.length] & maskOf(len)) >>> 0, len];
    }
    // A deny without a source prefix is TCP-only, so it never matches the (UDP) flows.
    const proto = deny ? (src ? pick([6, 6, 17, 256]) : 6) : pick([17, 17, 256]);
    let sport = [0, 65535];
    let dport = [0, 65535];
    if (proto !== 256) {
      const k = rand() % 10;
      if (deny) dport = k < 5 ? [1 + (rand() % 4000), 0] : [1 + (rand() % 2000), 0];
      else dport = k < 5 ? [5000, 5000] : k < 8 ? [4000 + (rand() % 1000), 6000] : [0, 65535];
      if (deny) dport[1] = k < 5 ? dport[0] : dport[0] + (rand() % 500);
      if (rand() % 5 === 0) sport = [1024 + (rand() % 30000), 0];
      if (sport[1] === 0) sport[1] = sport[0] + (rand() % 30000);
    }
    const rule = { action: deny ? 'deny' : 'permit' };
    const text = (a) => `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
    if (src) rule.src = `${text(src[0])}/${src[1]}`;
    if (dst) rule.dst = `${text(dst[0])}/${dst[1]}`;
    if (proto !== 256) {
      rule.proto = proto;
      if (dport[0] !== 0 || dport[1] !== 65535) rule.dport = [dport[0], dport[1]];
      if (sport[0] !== 0 || sport[1] !== 65535) rule.sport = [sport[0], sport[1]];
    }
    rules.push(rule);
    raw.set(
      [
        src?.[0] ?? 0,
        src?.[1] ?? 0,
        dst?.[0] ?? 0,
        dst?.[1] ?? 0,
        proto,
        sport[0],
        sport[1],
        dport[0],
        dport[1],
        deny ? 1 : 0,
      ],
      i * 10,
    );
  }
  return { rules, raw };
}

/** The 5-tuples of the routed benchmark frames (UDP, source 10.0/16, port 5000). */
function aclTuples(dests) {
  const t = new Uint32Array(dests.length * 5);
  for (let i = 0; i < dests.length; i++)
    t.set([ACL_FLOW_SRC(i), dests[i], 17, (1024 + i) & 0xffff, 5000], i * 5);
  return t;
}

/** rte_acl over the same rules and 5-tuples; null without a compiler or DPDK. */
function runAclNative(set, tuples, seconds) {
  return withNative('acl_bench.c', { dpdk: 'required' }, ({ bin, dir }) => {
    const file = join(dir, 'acl.bin');
    writeAclFile(file, set, tuples);
    return runNative(bin, [file, seconds], { what: 'rte_acl baseline' });
  });
}

/** The 1 k and 10 k rule sets over the L3 traffic (built by startL3). */
export function aclSets(l3) {
  return l3.acl;
}

/**
 * Classification (parse + ACL; the L2/L3 stages masked off) for a rule set: WebAssembly, the
 * reference (parse + first-match scan) and rte_acl (classification of pre-extracted tuples).
 */
export function aclCase({ dests }, set, measure, seconds) {
  const batch = 256;
  const frames = Array.from(dests, (d, i) => routedFrame(d, i));
  const dp = createDatapath({ batchSize: batch, poolSize: frames.length, frameCapacity: 128 });
  dp.setPort(ROUTED_PORT, { vrf: 0 });
  const t0 = process.hrtime.bigint();
  const info = dp.acl.load(set.rules);
  const compileSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  dp.acl.bind(ROUTED_PORT);
  frames.forEach((f, i) => dp.writeSlot(i, f, ROUTED_PORT));
  const run = batchRunner(dp, batch, stageMask(dp, ['parse', 'acl', 'drop']));
  for (let b = 0; b < frames.length / batch; b++) run(b);
  const hits = dp.acl.hits();
  const wasmHash = hashHops(Uint32Array.from([...hits.rules, hits.default]));
  const wasm = measure((i) => run(i % (frames.length / batch)), batch);
  const checked = set.rules.map((r, i) => checkAclRule(r, i));
  const ts = measure((i) => {
    const off = (i * batch) % frames.length;
    for (let k = off; k < off + batch; k++) {
      const parsed = referenceParse(frames[k]);
      if (!parsed.ok) throw new Error('reference dropped ACL benchmark traffic');
      const ip = frames[k];
      referenceAclMatch(checked, {
        version: 4,
        src: ip.subarray(26, 30),
        dst: ip.subarray(30, 34),
        proto: 17,
        l4: 1,
        a: parsed.outer.l4.sport,
        b: parsed.outer.l4.dport,
        vni: null,
        port: ROUTED_PORT,
      });
    }
  }, batch);
  const native = runAclNative(set, aclTuples(dests), seconds);
  if (native && native.hits_hash !== undefined && native.hits_hash !== wasmHash)
    throw new Error('rte_acl and the WebAssembly ACL matched different rules');
  return {
    wasm,
    ts,
    native,
    compileSeconds,
    shapes: info.shapes,
    matched: hits.rules.filter((h) => h > 0).length,
  };
}

/** Writes a rule set (and 5-tuples) in the format of acl_bench.c. */
function writeAclFile(path, set, tuples) {
  const t = tuples ?? new Uint32Array(0);
  const buf = new Uint32Array(2 + set.raw.length + t.length);
  buf[0] = set.raw.length / 10;
  buf[1] = t.length / 5;
  buf.set(set.raw, 2);
  buf.set(t, 2 + set.raw.length);
  writeFileSync(path, new Uint8Array(buf.buffer));
}
