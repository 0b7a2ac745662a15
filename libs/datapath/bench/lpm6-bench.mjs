// IPv6 cases of the datapath benchmark (README "IPv6 routing"): 100 k IPv6 routes with a
// realistic prefix-length mix, 64 k active destinations; WebAssembly lpm6LookupBulk against
// DPDK's rte_lpm6 (rte_lpm6_lookup_bulk_func) and the TS reference, route load time, table
// memory, and the routed IPv6 forwarding pipeline (parse → l3 → l3v6 → tx).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDatapath } from '../dist/index.js';
import { ReferenceDatapath } from '../dist/reference/pipeline.js';
import { hashHops, xorshift } from './lpm-traffic.mjs';
import {
  macOf,
  macText,
  referenceBatches,
  runNative,
  slotBatches,
  standalone,
  withNative,
} from './harness.mjs';

export const ROUTES6 = 100_000;
export const ACTIVE6 = 65536;
const NEXT_HOPS = 1024;
const ROUTED_PORT = 1;

// Share of each prefix length, per mille: mostly /48 (end sites), many /32–/44 (ISP
// allocations and their splits), some /56, /64 and /128, few shorter than /29.
const LENGTH_MIX6 = {
  16: 1,
  20: 2,
  24: 3,
  28: 4,
  29: 20,
  32: 120,
  33: 8,
  34: 8,
  35: 8,
  36: 45,
  37: 5,
  38: 8,
  39: 5,
  40: 70,
  41: 5,
  42: 10,
  43: 5,
  44: 100,
  45: 5,
  46: 10,
  47: 15,
  48: 440,
  56: 40,
  60: 5,
  64: 40,
  128: 18,
};

// First 16 bits of the RIR-like blocks the routes live in.
const REGIONS = [
  0x2001,
  ...Array.from({ length: 16 }, (_, i) => 0x2400 + i),
  ...Array.from({ length: 16 }, (_, i) => 0x2600 + i),
  ...Array.from({ length: 8 }, (_, i) => 0x2800 + i),
  ...Array.from({ length: 16 }, (_, i) => 0x2a00 + i),
  ...Array.from({ length: 4 }, (_, i) => 0x2c00 + i),
];
const ISPS = 16_000;

function maskBytes(b, at, len) {
  for (let i = 0; i < 16; i++) {
    const bits = Math.max(0, Math.min(8, len - i * 8));
    b[at + i] &= (0xff00 >> bits) & 0xff;
  }
}

/**
 * `count` distinct IPv6 routes with the mix above, packed ({addrs: 16 bytes each, lengths,
 * nextHops}), in random order. Routes longer than /32 sit inside 16 000 ISP /32s (chosen with
 * a skew towards a few large ones), as in the global table.
 */
export function generateRoutes6(count, { seed = 61, nextHops = NEXT_HOPS } = {}) {
  const rnd = xorshift(seed);
  const unit = () => rnd() / 2 ** 32;
  const isps = Array.from({ length: ISPS }, () => [
    REGIONS[rnd() % REGIONS.length],
    rnd() & 0xffff,
  ]);
  const lengths = [];
  for (const [len, share] of Object.entries(LENGTH_MIX6))
    for (let i = 0; i < Math.round((share * count) / 1000); i++) lengths.push(Number(len));
  while (lengths.length < count) lengths.push(48);
  lengths.length = count;
  const addrs = new Uint8Array(count * 16);
  const outLengths = new Uint8Array(count);
  const hops = new Uint32Array(count);
  const seen = new Set();
  let n = 0;
  const a = new Uint8Array(16);
  for (const len of lengths) {
    for (;;) {
      const [r, isp] = isps[Math.floor(ISPS * unit() * unit())];
      // Prefixes of /16 and shorter are more than the regions: any of 2000::/3.
      const top = len <= 16 ? 0x2000 | (rnd() & 0x1fff) : r;
      a[0] = top >> 8;
      a[1] = top & 0xff;
      a[2] = isp >> 8;
      a[3] = isp & 0xff;
      for (let i = 4; i < 16; i++) a[i] = rnd() & 0xff;
      maskBytes(a, 0, len);
      const key = `${Buffer.from(a).toString('hex')}/${len}`;
      if (seen.has(key)) continue;
      seen.add(key);
      addrs.set(a, n * 16);
      outLengths[n] = len;
      hops[n] = rnd() % nextHops;
      n++;
      break;
    }
  }
  // Random order (Fisher–Yates on the indices).
  const order = Uint32Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = rnd() % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const out = {
    addrs: new Uint8Array(count * 16),
    lengths: new Uint8Array(count),
    nextHops: new Uint32Array(count),
  };
  order.forEach((from, to) => {
    out.addrs.set(addrs.subarray(from * 16, from * 16 + 16), to * 16);
    out.lengths[to] = outLengths[from];
    out.nextHops[to] = hops[from];
  });
  return out;
}

/** `count` destinations, each inside a random route (16 bytes each). */
export function activeDestinations6(routes, count, seed = 67) {
  const rnd = xorshift(seed);
  const n = routes.lengths.length;
  const out = new Uint8Array(count * 16);
  for (let i = 0; i < count; i++) {
    const r = rnd() % n;
    const len = routes.lengths[r];
    for (let k = 0; k < 16; k++) {
      const bits = Math.max(0, Math.min(8, len - k * 8));
      const keep = (0xff00 >> bits) & 0xff;
      out[i * 16 + k] = (routes.addrs[r * 16 + k] & keep) | (rnd() & ~keep & 0xff);
    }
  }
  return out;
}

/** rte_lpm6 lookups and routed IPv6 forwarding in C; null without a compiler or DPDK. */
function nativeBaseline(routes, dests, seconds, tbl8s) {
  const options = {
    dpdk: 'required',
    what: 'native IPv6 LPM baseline',
    dpdkWhat: 'rte_lpm6 baseline',
  };
  return withNative('lpm6_bench.c', options, ({ bin, dir }) => {
    const n = routes.lengths.length;
    const file = new Uint8Array(8 + n * 24 + dests.length);
    const view = new DataView(file.buffer);
    view.setUint32(0, n, true);
    view.setUint32(4, dests.length / 16, true);
    for (let i = 0; i < n; i++) {
      const at = 8 + i * 24;
      file.set(routes.addrs.subarray(i * 16, i * 16 + 16), at);
      file[at + 16] = routes.lengths[i];
      view.setUint32(at + 20, routes.nextHops[i], true);
    }
    file.set(dests, 8 + n * 24);
    writeFileSync(join(dir, 'routes6.bin'), file);
    // One retry: EAL start-up can fail transiently on a machine shared with other DPDK runs.
    return runNative(bin, [join(dir, 'routes6.bin'), seconds, tbl8s], {
      attempts: 2,
      what: 'rte_lpm6 baseline',
    });
  });
}

const ROUTER_MAC = macOf(0xfe06);

/** 62-byte UDP/IPv6 frame (66 on the wire: the smallest UDP/IPv6 frame) to `dst`. */
function routedFrame6(dests, i) {
  const f = new Uint8Array(62);
  f.set(ROUTER_MAC, 0);
  f.set(macOf(0x1000 + (i & 0xff)), 6);
  f[12] = 0x86;
  f[13] = 0xdd;
  f.set([0x60, 0, 0, 0, 0, 8, 17, 64], 14);
  f.set([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (i >> 8) & 0xff, i & 0xff], 22);
  f.set(dests.subarray(i * 16, i * 16 + 16), 38);
  f.set([(1024 + i) >> 8, (1024 + i) & 0xff, 0x13, 0x88, 0, 8, 0, 0], 54);
  return f;
}

/** VRF 0 of the reference's IPv6 router with every route (one addRoute each). */
function referenceRoutes6(ref, routes) {
  ref.router6.createVrf(0);
  for (let i = 0; i < routes.lengths.length; i++)
    ref.router6.addRoute(
      0,
      routes.addrs.subarray(i * 16, i * 16 + 16),
      routes.lengths[i],
      routes.nextHops[i],
    );
}

function configureRouted6(t, routes) {
  t.setPort(ROUTED_PORT, { vrf: 0 });
  const nh = (i) => ({
    port: 2 + (i % 16),
    dstMac: macText(macOf(0x2000 + i)),
    srcMac: macText(ROUTER_MAC),
  });
  for (let p = 2; p < 18; p++) t.setPort(p, {});
  if (t instanceof ReferenceDatapath) {
    for (let i = 0; i < NEXT_HOPS; i++) t.router.setNextHop(i, nh(i));
    referenceRoutes6(t, routes);
  } else {
    for (let i = 0; i < NEXT_HOPS; i++) t.nextHops.add(i, nh(i));
    t.routes6.create(0, { large: true });
    t.routes6.load(0, routes);
  }
}

/**
 * Runs the IPv6 cases; returns the `results` entries (rates) and `extra` figures for the
 * benchmark's JSON line.
 */
export function lpm6Cases(measure, seconds, quick) {
  const routes = generateRoutes6(ROUTES6);
  const dests = activeDestinations6(routes, ACTIVE6);
  const n = ACTIVE6;

  // WebAssembly: bulk load (host validation + route list + core build, wall time) and lookups.
  const dp = createDatapath({ batchSize: 256 });
  dp.routes6.create(0, { large: true });
  const t0 = process.hrtime.bigint();
  dp.routes6.load(0, routes);
  const loadSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const memory = dp.routes6.memoryBytes(0);
  const groups = dp.routes6.groups(0);
  const core = dp.core;
  const p = core.scratchReserve(n * 20);
  new Uint8Array(core.memory.buffer, p, n * 16).set(dests);
  const out = p + n * 16;
  core.lpm6LookupBulk(0, p, n, out);
  const wasmHops = new Uint32Array(core.memory.buffer, out, n).slice();
  const wasmHash = hashHops(wasmHops);
  const chunk = 256;
  const wasm = measure((i) => {
    const off = (i * chunk) % n;
    core.lpm6LookupBulk(0, p + off * 16, chunk, out + off * 4);
  }, chunk);

  // The reference (per-length Maps of hex keys): every result checked in full mode, the first
  // 8192 in quick mode (it needs ~129 Map probes per lookup).
  const ref = new ReferenceDatapath(256);
  referenceRoutes6(ref, routes);
  const checked = quick ? 8192 : n;
  for (let i = 0; i < checked; i++) {
    const want = ref.router6.lookup(0, dests.subarray(i * 16, i * 16 + 16)) ?? 0xffffffff;
    if (want !== wasmHops[i])
      throw new Error(`reference and WebAssembly IPv6 LPM disagree on destination ${i}`);
  }
  const ts = measure((i) => {
    const off = (i * 16) % n;
    for (let k = off; k < off + 16; k++) ref.router6.lookup(0, dests.subarray(k * 16, k * 16 + 16));
  }, 16);

  const native = nativeBaseline(routes, dests, seconds, Math.ceil(groups * 1.25) + 4096);
  if (native && native.rte_lpm6_hash !== wasmHash)
    throw new Error('rte_lpm6 and the WebAssembly IPv6 LPM found different next hops');

  // Routed IPv6 forwarding: parse → l3 → l3v6 → tx on 62-byte frames, one per destination.
  const batch = 256;
  const frames = Array.from({ length: n }, (_, i) => routedFrame6(dests, i));
  const fdp = createDatapath({ batchSize: batch, poolSize: n, frameCapacity: 128 });
  configureRouted6(fdp, routes);
  frames.forEach((f, i) => fdp.writeSlot(i, f, ROUTED_PORT));
  const r = fdp.regions();
  const batches = slotBatches(n, batch);
  const fwdWasm = measure((i) => {
    const slots = batches[i % batches.length];
    const u8 = new Uint8Array(fdp.core.memory.buffer);
    // l3v6 decremented the hop limit: restore it (included in the rate).
    for (let k = 0; k < slots.length; k++)
      u8[r.poolBase + slots[k] * r.slotSize + r.slotDataStart + 21] = 64;
    fdp.processSlots(slots, 0, 'all');
  }, batch);
  const ports = Uint32Array.from({ length: n }, (_, slot) => {
    const res = fdp.readResult(slot);
    return res.verdict === 'forward' ? res.outPort : 0xffffffff;
  });
  if (native && native.forward62_ports_hash !== hashHops(ports))
    throw new Error('the native and WebAssembly IPv6 forwarding sent packets to different ports');
  const hits = wasmHops.findIndex((h) => h !== 0xffffffff);
  const sample = fdp.readResult(hits);
  if (sample.verdict !== 'forward')
    throw new Error(`routed IPv6 benchmark traffic gave ${sample.verdict}/${sample.drop}`);
  const fref = new ReferenceDatapath(batch);
  configureRouted6(fref, routes);
  const refBatches = referenceBatches(frames, batch, 8, ROUTED_PORT);
  const fwdTs = measure((i) => fref.process(refBatches[i % refBatches.length], 0), batch);

  return {
    results: {
      lpm6_100k: {
        wasm_mlookups: wasm,
        ts_mlookups: ts,
        native_mlookups: native?.rte_lpm6_mlookups ?? null,
      },
      route6_forward62: {
        wasm_mpps: fwdWasm,
        ts_mpps: fwdTs,
        native_mpps: native?.forward62_mpps ?? null,
      },
    },
    extra: {
      route6_load_100k_s: loadSeconds,
      route6_load_100k_rte_lpm6_s: native?.rte_lpm6_load_s ?? null,
      lpm6_100k_table_mib: memory / 2 ** 20,
      lpm6_100k_groups: groups,
    },
  };
}

// Standalone: `node bench/lpm6-bench.mjs [--quick]` runs only the IPv6 cases (after the build)
// and prints their JSON keys; bench/bench.mjs calls lpm6Cases with the shared measure().
standalone(import.meta.url, ({ measure, seconds, quick }) => lpm6Cases(measure, seconds, quick));
