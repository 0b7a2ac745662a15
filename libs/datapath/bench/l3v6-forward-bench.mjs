// Routed IPv6 forwarding cost (README "IPv6 packet too big and shared ND code"): 64-byte
// IPv6/UDP frames over 10 k /48 routes through every stage (parse → l3 → l3v6 → tx), in
// CPU-time ns/packet. Used to price the packet-too-big check in the l3v6 loop; the first
// batch is checked against the TypeScript reference (same verdicts, ports and bytes).
//   node bench/l3v6-forward-bench.mjs [--quick]   (needs the datapath build: dist/, build/)
import { createDatapath } from '../dist/index.js';
import { ReferenceDatapath } from '../dist/reference/pipeline.js';
import { xorshift } from './lpm-traffic.mjs';

const BATCH = 256;
const POOL = 4096;
const quick = process.argv.includes('--quick');
const SECONDS = Number(process.env.DATAPATH_BENCH_SECONDS ?? (quick ? 0.3 : 2));

const rand = xorshift(777);

const prefixes = Array.from({ length: 10_000 }, () => [rand() & 0xffff, rand() & 0xffff]);

/** Routed port 1 (address, MAC) and 2 in VRF 1; next hops 0..63 out of port 2. */
function configure(t) {
  t.setPort(1, { vrf: 1, address6: '2001:db8:ffff::1', mac: '02:00:00:00:fe:01' });
  t.setPort(2, { vrf: 1 });
  const hop = { port: 2, dstMac: '02:00:00:00:00:05', srcMac: '02:00:00:00:fe:02' };
  const parse6 = (a, b) => {
    const bytes = new Uint8Array(16);
    new DataView(bytes.buffer).setUint16(0, 0x2001);
    new DataView(bytes.buffer).setUint16(2, a);
    new DataView(bytes.buffer).setUint16(4, b);
    return bytes;
  };
  if (t instanceof ReferenceDatapath) {
    for (let i = 0; i < 64; i++) t.router.setNextHop(i, hop);
    t.router6.createVrf(1);
    prefixes.forEach(([a, b], i) => t.router6.addRoute(1, parse6(a, b), 48, i % 64));
  } else {
    for (let i = 0; i < 64; i++) t.nextHops.add(i, hop);
    t.routes6.create(1);
    prefixes.forEach(([a, b], i) =>
      t.routes6.add(1, `2001:${a.toString(16)}:${b.toString(16)}::/48`, i % 64),
    );
  }
}

const frames = Array.from({ length: POOL }, (_, i) => {
  const f = new Uint8Array(64);
  f.set([2, 0, 0, 0, 0xfe, 1, 2, 0, 0, 0, 0, 0xaa, 0x86, 0xdd], 0);
  const v = new DataView(f.buffer);
  v.setUint32(14, 0x60000000);
  v.setUint16(18, 10);
  f[20] = 17;
  f[21] = 64;
  v.setUint32(22, 0x20010db8);
  v.setUint16(28, 1);
  v.setUint16(36, 9);
  const [a, b] = prefixes[rand() % prefixes.length];
  v.setUint16(38, 0x2001);
  v.setUint16(40, a);
  v.setUint16(42, b);
  v.setUint16(52, i);
  v.setUint16(54, 1000 + i);
  v.setUint16(56, 53);
  v.setUint16(58, 10);
  return f;
});

const dp = createDatapath({ batchSize: BATCH, poolSize: POOL, frameCapacity: 128 });
const ref = new ReferenceDatapath(BATCH);
configure(dp);
configure(ref);
const sample = frames.slice(0, BATCH).map((data) => ({ data, port: 1 }));
const hex = (r) => ({ ...r, frame: Buffer.from(r.frame).toString('hex') });
const got = JSON.stringify(dp.process(sample, 0).map(hex));
if (got !== JSON.stringify(ref.process(sample, 0).map(hex)) || !got.includes('"outPort":2'))
  throw new Error('l3v6-forward: WASM and the reference disagree');

frames.forEach((f, i) => dp.writeSlot(i, f, 1));
const r = dp.regions();
const mask = dp.stages().reduce((m, _s, i) => m | (1 << i), 0);
const run = (i) => {
  const base = (i * BATCH) % POOL;
  const buffer = dp.core.memory.buffer;
  const u32 = new Uint32Array(buffer);
  const u16 = new Uint16Array(buffer);
  const u8 = new Uint8Array(buffer);
  const vec = new Uint16Array(buffer, r.inputVectorBase, BATCH);
  // Restore what forwarding changed: frame start, length, port, hop limit.
  for (let k = 0; k < BATCH; k++) {
    const slot = base + k;
    const d = (r.descBase + slot * r.descSize) >> 2;
    u32[d] = r.slotDataStart;
    u32[d + 1] = 64;
    u16[(d << 1) + 4] = 1;
    u8[r.poolBase + slot * r.slotSize + r.slotDataStart + 21] = 64;
    vec[k] = slot;
  }
  dp.core.process(BATCH, 0, mask, 0);
};
for (let i = 0; i < 2000; i++) run(i);
const before = dp.counters();
const t0 = process.cpuUsage();
let n = 0;
let seconds = 0;
while (seconds < SECONDS) {
  for (let k = 0; k < 200; k++) run(n++);
  const t = process.cpuUsage(t0);
  seconds = (t.user + t.system) / 1e6;
}
const after = dp.counters();
if (Object.keys(after.drops).length !== Object.keys(before.drops).length)
  throw new Error('l3v6-forward: packets dropped');
const packets = n * BATCH;
console.log(
  JSON.stringify({
    l3v6_forward64: {
      wasm_mpps: +(packets / seconds / 1e6).toFixed(2),
      wasm_ns: +((seconds * 1e9) / packets).toFixed(1),
    },
  }),
);
