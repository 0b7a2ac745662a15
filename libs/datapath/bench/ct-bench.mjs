// Connection-tracking benchmark (README "Connection tracking"): a table pre-filled with 1 M
// flows, then 64-byte frames of 65 536 of them (a random subset, half in the reply
// direction) through parse + conntrack, for WebAssembly, the TS reference and DPDK rte_hash
// (bench/native/ct_bench.c). Every implementation must find every packet's flow.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDatapath } from '../dist/index.js';
import { referenceParse } from '../dist/reference/parser.js';
import { ReferenceConnTrack } from '../dist/reference/conntrack.js';
import { xorshift } from './lpm-traffic.mjs';
import {
  batchRunner,
  ipv4Checksum,
  runNative,
  stageMask,
  standalone,
  withNative,
} from './harness.mjs';

export const CT_FLOWS = 1_000_000;
const ACTIVE = 65536;
const BATCH = 256;
const PORT = 1;
const NOW = 1000;

/** 1 M distinct flows: 10.0.0.0/8 clients to 172.16.0.0/12 servers, 3/4 UDP, 1/4 TCP. */
function makeFlows(n) {
  const rand = xorshift(77);
  const src = new Uint32Array(n);
  const dst = new Uint32Array(n);
  const sport = new Uint16Array(n);
  const dport = new Uint16Array(n);
  const proto = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    src[i] = (0x0a000000 + i * 7 + 1) >>> 0;
    dst[i] = (0xac100000 | (rand() & 0xfffff)) >>> 0;
    // Not 4789: the parser would take a reply to it for VXLAN.
    sport[i] = 1024 + (rand() % 60000);
    if (sport[i] === 4789) sport[i]++;
    dport[i] = [53, 80, 443, 123, 5000][rand() % 5];
    proto[i] = i % 4 === 0 ? 6 : 17;
  }
  return { n, src, dst, sport, dport, proto };
}

/** The flows as packed tuples for `conntrack.addBulk` (40 bytes each). */
function packFlows(f) {
  const out = new Uint8Array(f.n * 40);
  const v = new DataView(out.buffer);
  for (let i = 0; i < f.n; i++) {
    const p = i * 40;
    v.setUint32(p, f.src[i]);
    v.setUint32(p + 16, f.dst[i]);
    v.setUint16(p + 32, f.sport[i], true);
    v.setUint16(p + 34, f.dport[i], true);
    out[p + 36] = f.proto[i];
    out[p + 37] = 4;
  }
  return out;
}

/** A 60-byte frame (64 on the wire) of flow i; reply: from the server to the client. */
function flowFrame(f, i, reply) {
  const b = new Uint8Array(60);
  const v = new DataView(b.buffer);
  b.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0]);
  const tcp = f.proto[i] === 6;
  const l4len = tcp ? 20 : 8 + 18;
  v.setUint8(14, 0x45);
  v.setUint16(16, 20 + l4len);
  v.setUint8(22, 64);
  v.setUint8(23, f.proto[i]);
  v.setUint32(26, reply ? f.dst[i] : f.src[i]);
  v.setUint32(30, reply ? f.src[i] : f.dst[i]);
  ipv4Checksum(b, 14);
  v.setUint16(34, reply ? f.dport[i] : f.sport[i]);
  v.setUint16(36, reply ? f.sport[i] : f.dport[i]);
  if (tcp) {
    v.setUint8(46, 0x50);
    v.setUint8(47, 0x10); // ACK: an established connection's segment
    v.setUint16(48, 0xffff);
  } else {
    v.setUint16(38, l4len);
  }
  return b;
}

/** Runs the native rte_hash baseline; null when there is no compiler or no DPDK. */
function nativeBaseline(f, picks, frames, seconds) {
  const what = 'rte_hash conntrack baseline';
  return withNative('ct_bench.c', { dpdk: 'required', dpdkWhat: what }, ({ bin, dir }) => {
    // File: u32 flows, u32 packets, flows as (src, dst, sport << 16 | dport, proto) u32 each,
    // the expected flow of each packet (u32), then the 60-byte frames.
    const head = new Uint32Array(2 + f.n * 4 + picks.length);
    head[0] = f.n;
    head[1] = picks.length;
    for (let i = 0; i < f.n; i++) {
      head[2 + i * 4] = f.src[i];
      head[3 + i * 4] = f.dst[i];
      head[4 + i * 4] = ((f.sport[i] << 16) | f.dport[i]) >>> 0;
      head[5 + i * 4] = f.proto[i];
    }
    head.set(picks, 2 + f.n * 4);
    const body = new Uint8Array(frames.length * 60);
    frames.forEach((fr, i) => body.set(fr, i * 60));
    const file = join(dir, 'ct.bin');
    writeFileSync(file, Buffer.concat([Buffer.from(head.buffer), Buffer.from(body.buffer)]));
    return runNative(bin, [file, seconds], { what });
  });
}

/**
 * The conntrack cases. `measure(step, perStep)` returns M items/s from CPU time. Returns the
 * `results` entries (ct1m) and the `extra` figures for the JSON line. In quick mode the TS
 * reference holds only the 65 536 active flows (its 1 M inserts take tens of seconds).
 */
export function conntrackCases(measure, seconds, quick = false) {
  const f = makeFlows(CT_FLOWS);
  const rand = xorshift(91);
  const picks = Uint32Array.from({ length: ACTIVE }, () => rand() % f.n);
  const frames = Array.from(picks, (i, k) => flowFrame(f, i, k % 2 === 1));

  // WebAssembly: table of 2 M slots (50 % full), an ACL-bound port, stages parse + conntrack.
  const dp = createDatapath({ batchSize: BATCH, poolSize: ACTIVE, frameCapacity: 128 });
  dp.setPort(PORT, { vrf: 0 });
  dp.acl.load([{ action: 'permit-stateful' }]);
  dp.acl.bind(PORT);
  dp.conntrack.create({ capacity: 2 * CT_FLOWS });
  const packed = packFlows(f);
  const t0 = process.hrtime.bigint();
  const added = dp.conntrack.addBulk(packed, NOW);
  const insertSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (added !== f.n || dp.conntrack.size !== f.n || dp.conntrack.stats().evicted !== 0)
    throw new Error(
      `conntrack bench: ${added} of ${f.n} flows inserted, ${JSON.stringify(dp.conntrack.stats())}, size ${dp.conntrack.size}`,
    );
  frames.forEach((fr, i) => dp.writeSlot(i, fr, PORT));
  const runAt = batchRunner(dp, BATCH, stageMask(dp, ['parse', 'conntrack', 'drop']));
  const run = (b) => runAt(b, NOW);
  const batches = ACTIVE / BATCH;
  for (let b = 0; b < batches; b++) run(b);
  if (dp.conntrack.stats().hits !== ACTIVE)
    throw new Error(`conntrack bench: WebAssembly found ${dp.conntrack.stats().hits} flows`);
  const wasm = measure((i) => run(i % batches), BATCH);

  // TS reference: the same flows, then parse + track per packet.
  const ref = new ReferenceConnTrack();
  ref.create(2 * CT_FLOWS);
  const r0 = process.hrtime.bigint();
  for (const i of quick
    ? new Set(picks)
    : {
        length: f.n,
        *[Symbol.iterator]() {
          for (let i = 0; i < f.n; i++) yield i;
        },
      }) {
    const s = new Uint8Array(4);
    const d = new Uint8Array(4);
    new DataView(s.buffer).setUint32(0, f.src[i]);
    new DataView(d.buffer).setUint32(0, f.dst[i]);
    const t = {
      version: 4,
      src: s,
      dst: d,
      proto: f.proto[i],
      sport: f.sport[i],
      dport: f.dport[i],
    };
    ref.add(t, f.proto[i] === 6 ? 'ESTABLISHED' : 'UNREPLIED', NOW);
  }
  const refInsertSeconds = Number(process.hrtime.bigint() - r0) / 1e9;
  const refTrack = (k) => {
    const frame = frames[k];
    const parsed = referenceParse(frame);
    if (!parsed.ok) throw new Error('reference dropped conntrack benchmark traffic');
    const l4 = parsed.outer.l4;
    return ref.track(
      {
        version: 4,
        src: frame.subarray(26, 30),
        dst: frame.subarray(30, 34),
        proto: parsed.outer.proto,
        sport: l4.sport,
        dport: l4.dport,
        flags: parsed.outer.proto === 6 ? frame[47] : 0,
        length: frame.length,
      },
      NOW,
    ).hit;
  };
  let refHits = 0;
  for (let k = 0; k < ACTIVE; k++) if (refTrack(k)) refHits++;
  if (refHits !== ACTIVE) throw new Error(`conntrack bench: the reference found ${refHits} flows`);
  const ts = measure((i) => {
    const off = (i * BATCH) % ACTIVE;
    for (let k = off; k < off + BATCH; k++) refTrack(k);
  }, BATCH);

  const native = nativeBaseline(f, picks, frames, seconds);
  if (native && native.found !== ACTIVE)
    throw new Error(`conntrack bench: rte_hash found ${native.found} of ${ACTIVE} flows`);
  return {
    results: {
      ct1m: {
        wasm_mpps: wasm,
        ts_mpps: ts,
        native_rte_hash_mpps: native?.parse_lookup_mpps ?? null,
        native_rte_hash_lookup_only_mpps: native?.lookup_mpps ?? null,
      },
    },
    extra: {
      ct_insert_1m_s: insertSeconds,
      [quick ? 'ct_insert_active_ts_s' : 'ct_insert_1m_ts_s']: refInsertSeconds,
      ct_insert_1m_rte_hash_s: native?.insert_s ?? null,
      ct1m_table_mib: dp.conntrack.memoryBytes / 2 ** 20,
      ct1m_rte_hash_table_mib: native?.table_mib ?? null,
    },
  };
}

// Standalone: node bench/ct-bench.mjs [--quick] (bench.mjs runs the same cases).
standalone(import.meta.url, ({ measure, seconds, quick }) =>
  conntrackCases(measure, seconds, quick),
);
