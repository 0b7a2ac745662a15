// L3 cases of the datapath benchmark (README "Benchmark"): IPv4 LPM lookups over a 1 M-route
// table, route loading, and the routed pipeline (parse → L3 → VXLAN encap → counters) on
// 64-byte frames, for WebAssembly, the TypeScript reference and the DPDK baselines.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatapath } from '../dist/index.js';
import { ReferenceDatapath } from '../dist/reference/pipeline.js';
import { generateRoutes, activeDestinations, writeRouteFile, hashHops } from './lpm-traffic.mjs';

const here = dirname(fileURLToPath(import.meta.url));

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
  const native = startNative(routes, dests, seconds, quick);
  return { routes, dests, native };
}

function startNative(routes, dests, seconds, quick) {
  const cc = spawnSync('cc', ['--version'], { stdio: 'ignore' });
  if (cc.error || cc.status !== 0) {
    console.log('native LPM baseline skipped: no C compiler (cc) found');
    return Promise.resolve(null);
  }
  let flags;
  try {
    flags = execFileSync('pkg-config', ['--cflags', '--libs', 'libdpdk'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .trim()
      .split(/\s+/);
  } catch {
    console.log('DPDK (libdpdk via pkg-config) not found: rte_lpm/rte_fib baselines skipped');
    return Promise.resolve(null);
  }
  const dir = mkdtempSync(join(tmpdir(), 'dp-lpm-'));
  const bin = join(dir, 'lpm_bench');
  const file = join(dir, 'routes.bin');
  execFileSync(
    'cc',
    ['-O3', '-march=native', join(here, 'native', 'lpm_bench.c'), '-o', bin, ...flags],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  writeRouteFile(file, routes, dests);
  const lpmRoutes = quick ? QUICK_RTE_LPM_ROUTES : 0;
  // Runs in parallel with the WebAssembly cases (rates come from each process's CPU time);
  // in full mode loading 1 M routes into rte_lpm dominates the benchmark's run time.
  return new Promise((resolve) => {
    const child = spawn(bin, [file, String(seconds), String(lpmRoutes)], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.on('close', () => {
      rmSync(dir, { recursive: true, force: true });
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()));
      } catch {
        console.log('native LPM baseline failed');
        resolve(null);
      }
    });
  });
}

function loadWasmRoutes(dp, routes) {
  dp.routes.create(0, { large: true });
  const t0 = process.hrtime.bigint();
  dp.routes.load(0, routes);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** LPM lookups: WebAssembly bulk lookups and the reference, over the active destinations. */
export function lpmCases({ routes, dests }, measure) {
  const dp = createDatapath({ batchSize: 256 });
  const loadSeconds = loadWasmRoutes(dp, routes);
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

const macOf = (i) => [0x02, 0, 0, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff];
const macText = (bytes) => bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
const ROUTER_MAC = macOf(0xfe01);

/** 60-byte UDP/IPv4 frame to the router MAC for destination `dst` (host order). */
function routedFrame(dst, flow) {
  const f = new Uint8Array(60);
  f.set(ROUTER_MAC, 0);
  f.set(macOf(0x1000 + (flow & 0xff)), 6);
  f[12] = 0x08;
  const ip = 14;
  f.set([0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, (flow >> 8) & 0xff, flow & 0xff], ip);
  f.set([dst >>> 24, (dst >>> 16) & 0xff, (dst >>> 8) & 0xff, dst & 0xff], ip + 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (f[ip + i] << 8) | f[ip + i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  f[ip + 10] = (~sum >> 8) & 0xff;
  f[ip + 11] = ~sum & 0xff;
  f.set([(1024 + flow) >> 8, (1024 + flow) & 0xff, 0x13, 0x88, 0, 26, 0, 0], ip + 20);
  return f;
}

/** Configures the routed pipeline: next hops behind VXLAN tunnels (IPv4 underlay). */
function configureRouted(t, routes) {
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
export function pipelineCases({ routes, dests }, measure) {
  const batch = 256;
  const frames = Array.from(dests, (d, i) => routedFrame(d, i));
  const dp = createDatapath({ batchSize: batch, poolSize: frames.length, frameCapacity: 128 });
  configureRouted(dp, routes);
  frames.forEach((f, i) => dp.writeSlot(i, f, ROUTED_PORT));
  const r = dp.regions();
  const batches = [];
  for (let b = 0; b < frames.length / batch; b++)
    batches.push(Uint16Array.from({ length: batch }, (_, i) => b * batch + i));
  const checksums = Uint16Array.from(frames, (f) => f[24] | (f[25] << 8));
  const wasm = measure((i) => {
    const slots = batches[i % batches.length];
    const buffer = dp.core.memory.buffer;
    const u32 = new Uint32Array(buffer);
    const u16 = new Uint16Array(buffer);
    const u8 = new Uint8Array(buffer);
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
  const refBatches = [];
  for (let b = 0; b < Math.min(64, frames.length / batch); b++)
    refBatches.push(
      frames.slice(b * batch, (b + 1) * batch).map((data) => ({ data, port: ROUTED_PORT })),
    );
  const ts = measure((i) => {
    const out = ref.process(refBatches[i % refBatches.length], 0);
    if (out[0].verdict !== 'forward') throw new Error('reference did not route benchmark traffic');
  }, batch);
  return { wasm, ts };
}
