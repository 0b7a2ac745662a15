import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDatapath } from '../src/index.js';
import {
  flowFrame,
  neighborSolicitation,
  prng,
  randInt,
  randomValidFrame,
  vxlanFrame,
} from './frames.js';
import { arpRequest } from './gateway-frames.js';
import { tunnelV4, tunnelV6 } from './tunnels.js';

// CI runs 1 M frames; scripts/fuzz.mjs runs longer campaigns through the same spec.
const FRAMES = Number(process.env.DATAPATH_FUZZ_FRAMES ?? 1_000_000);
const SEED = Number(process.env.DATAPATH_FUZZ_SEED ?? 7);
const BATCH = 256;
const GUARD = 64;
const GUARD_BYTE = 0xa5;

const sha = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');

describe('fuzzing the WebAssembly datapath', () => {
  it(
    `${FRAMES} random and mutated frames: no trap, no write outside packet buffers or tables`,
    { timeout: 600_000 },
    () => {
      const dp = createDatapath({ batchSize: BATCH, macBucketsLog2: 8 });
      dp.addBridge(1, { floodLimit: 1000 });
      dp.addBridge(2);
      for (const p of [0, 1, 2, 3]) dp.setPort(p, { bridge: 1 });
      dp.setPort(4, { bridge: 2 });
      dp.setPort(6, {});
      dp.addVxlanTunnel(0, tunnelV4());
      dp.addVxlanTunnel(1, tunnelV6());
      // Routed port 5 (VRF 1): routes to a physical port, into a tunnel, a blackhole, a next
      // hop that is not set, and no route for the rest.
      dp.setPort(5, { vrf: 1 });
      dp.routes.create(1, { large: true });
      dp.routes.add(1, '10.0.0.0/8', 0);
      dp.routes.add(1, '10.2.0.0/16', 1);
      dp.routes.add(1, '10.2.2.2/32', 2);
      dp.routes.add(1, '10.1.0.0/16', 3);
      dp.routes.add(1, '172.16.0.0/12', 77);
      dp.nextHops.add(0, { port: 6, dstMac: '02:00:00:00:00:70', srcMac: '02:00:00:00:00:71' });
      dp.nextHops.add(1, { port: 100, dstMac: '02:00:00:00:00:72', srcMac: '02:00:00:00:00:71' });
      dp.nextHops.add(2, { blackhole: true });
      dp.nextHops.add(3, { port: 4, dstMac: '02:00:00:00:00:73', srcMac: '02:00:00:00:00:71' });
      // IPv6 routed port 7 (VRF 1, with an address and MAC: ND replies, ICMPv6 errors).
      dp.setPort(7, { vrf: 1, address6: '2001:db8:7::1', mac: '02:00:00:00:00:71' });
      dp.routes6.create(1);
      dp.routes6.add(1, '2001:db8::/32', 0);
      dp.routes6.add(1, '2001:db8:2::/48', 1);
      dp.routes6.add(1, '2001:db8:2::2/128', 2);
      dp.routes6.add(1, '2001:db8:1::/64', 3);
      dp.routes6.add(1, 'fd00::/8', 77);
      // ACL on a bridged, the routed and a tunnel port: every field kind, every action; egress
      // rules on the routed next hop's port and a tunnel port.
      dp.acl.load([
        { action: 'log', log: { sampleEvery: 10 } },
        { action: 'count', direction: 'egress' },
        { action: 'deny', direction: 'egress', port: 6, proto: 17, dport: [0, 30000] },
        { action: 'deny', src: '10.1.1.1/32', proto: 6, dport: [0, 1000] },
        { action: 'permit', dst: '10.2.2.0/24', proto: 17, sport: [1, 40000] },
        { action: 'deny', proto: 1, icmpType: 8 },
        { action: 'deny', src: '2001:db8::/32', proto: 58 },
        { action: 'permit', vni: 5001 },
        { action: 'deny', inPort: 5, proto: 17 },
        { action: 'permit-stateful' },
      ]);
      for (const port of [0, 5, 100]) dp.acl.bind(port);
      // Connection tracking on the bound ports, small enough to evict.
      dp.conntrack.create({ capacity: 256 });
      for (const port of [6, 100]) dp.acl.bind(port, true, 'egress');
      let logged = 0;
      // A policer on a bridged and on the routed port: some traffic conforms, some exceeds.
      dp.policers.add(3, { rateBytesPerSec: 500_000, burstBytes: 5_000 });
      dp.policers.bind(1, 3);
      dp.policers.bind(5, 3);
      // A gateway on bridge 1, a small MTU on the routed egress, flows policed on port 0.
      dp.setBridgeGateway(1, { mac: '02:00:00:00:99:01', ipv4: ['10.0.0.1'], ipv6: ['fe80::1'] });
      dp.setPort(6, { mtu: 300 });
      dp.policers.bindFlows(0, { rateBytesPerSec: 2_000, burstBytes: 400, maxFlows: 16 });
      dp.macTable.add(1, '02:00:00:00:00:63', 100, { static: true });
      dp.macTable.add(2, '02:00:00:00:00:64', 101, { static: true });

      const rand = prng(SEED);
      const macs = Array.from(
        { length: 100 },
        (_, i) => `02:00:00:00:00:${(i + 1).toString(16).padStart(2, '0')}`,
      );
      const templates: Uint8Array[] = [];
      for (let i = 0; i < 3000; i++) templates.push(randomValidFrame(rand, macs));
      for (let i = 0; i < 100; i++) {
        templates.push(arpRequest(macs[i]!, '10.0.0.9', i % 2 ? '10.0.0.1' : '10.0.0.2'));
        templates.push(neighborSolicitation({ srcMac: macs[i]!, target: 'fe80::1' }));
      }
      for (let i = 0; i < 500; i++) {
        const inner = flowFrame({
          srcMac: macs[randInt(rand, 100)],
          dstMac: rand() < 0.5 ? '02:00:00:00:00:63' : '02:00:00:00:00:64',
        });
        templates.push(
          rand() < 0.5
            ? vxlanFrame(inner, 5001)
            : vxlanFrame(inner, 6001, { v6: true, src: 'fd00::2', dst: 'fd00::1' }),
        );
      }

      const v6Dsts = ['2001:db8::9', '2001:db8:2::1', '2001:db8:2::2', '2001:db8:1::5', 'fd00::5'];
      for (let i = 0; i < 500; i++) {
        const f =
          i % 5 === 0
            ? neighborSolicitation({
                src: i % 10 === 0 ? '::' : '2001:db8:7::9',
                dst: i % 3 === 0 ? '2001:db8:7::1' : 'ff02::1:ff00:1',
                target: '2001:db8:7::1',
                srcMac: macs[randInt(rand, 100)]!,
                dstMac: '02:00:00:00:00:02',
                slla: true,
              })
            : flowFrame({
                v6: true,
                dst: v6Dsts[randInt(rand, v6Dsts.length)],
                srcMac: macs[randInt(rand, 100)],
              });
        if (i % 5 !== 0) f[21] = randInt(rand, 4) === 0 ? randInt(rand, 3) : 64; // hop limit
        templates.push(f);
      }

      const r = dp.regions();
      const mem = () => new Uint8Array(dp.core.memory.buffer);
      const view = () => new DataView(dp.core.memory.buffer);
      const guard = new Uint8Array(GUARD).fill(GUARD_BYTE);
      for (let s = 0; s < r.poolSlots; s++) {
        const base = r.poolBase + s * r.slotSize;
        mem().set(guard, base);
        mem().set(guard, base + r.slotSize - GUARD);
      }
      const staticRegion = () => sha(mem().subarray(0, r.portsBase));
      const configRegion = () => {
        const m = mem();
        const bridgeConfig: number[] = [];
        // Bridge entries hold flood-limiter state (bytes 8..15) next to their configuration.
        for (let b = 0; b < 256; b++) {
          const e = r.bridgesBase + b * 64;
          bridgeConfig.push(...m.subarray(e, e + 8), ...m.subarray(e + 16, e + 64));
        }
        return sha(
          Uint8Array.from([
            ...m.subarray(r.portsBase, r.bridgesBase),
            ...bridgeConfig,
            ...m.subarray(r.tunnelsBase, r.portCountersBase),
          ]),
        );
      };
      const macRegion = () => sha(mem().subarray(r.macBase, r.macBase + 256 * 80));
      // Routing tables: what every probe address resolves to, and the next hops.
      const probes = Uint32Array.from({ length: 4096 }, (_, i) =>
        i < 2048 ? (0x0a000000 | (i * 0x2003)) >>> 0 : Math.floor(rand() * 2 ** 32) >>> 0,
      );
      const probes6 = new Uint8Array(2048 * 16).map((_, i) =>
        i % 16 < 2
          ? [0x20, 0x01][i % 16]!
          : i % 16 < 4
            ? [0x0d, 0xb8][(i % 16) - 2]!
            : randInt(rand, 256),
      );
      for (let i = 1024; i < 2048; i++) probes6[i * 16] = randInt(rand, 256);
      const routingRegion = () =>
        sha(
          Uint8Array.from([
            ...new Uint8Array(dp.routes.lookupBulk(1, probes).buffer),
            ...new Uint8Array(dp.routes6.lookupBulk(1, probes6).buffer),
            ...Buffer.from(JSON.stringify([...dp.routes6.iterate(1)])),
            ...Buffer.from(JSON.stringify([...dp.routes.iterate(1), ...dp.nextHops.iterate()])),
          ]),
        );
      const routingHash = routingRegion();
      const staticHash = staticRegion();
      const configHash = configRegion();
      const inputVector = new Uint16Array(BATCH).map((_, i) => i);

      const verdicts = [0, 0, 0, 0];
      const reasons = new Set<number>();
      let now = 0;
      let unchangedChecks = 0;
      let outsideChecks = 0;
      // Parse-only batches (mode 0) leave counters alone; the others must count every drop.
      let countedDrops = 0;
      for (let done = 0; done < FRAMES; done += BATCH) {
        const n = Math.min(BATCH, FRAMES - done);
        const mode = (done / BATCH) % 4; // 0: parse only, 1: unbridged port, 2-3: bridged ports
        const m = mem();
        const v = view();
        for (let slot = 0; slot < n; slot++) {
          const start = r.poolBase + slot * r.slotSize + r.slotDataStart;
          // Unbridged-port batches avoid the templates addressed to our VTEPs: decapsulated
          // frames enter a bridge through the tunnel port and may rightly learn.
          const t = templates[randInt(rand, mode === 1 ? 3000 : templates.length)] as Uint8Array;
          m.set(t, start);
          let len = t.length;
          const choice = randInt(rand, 20);
          if (choice < 4) {
            len = randInt(rand, len + 1);
          } else if (choice < 9) {
            const flips = 1 + randInt(rand, 4);
            for (let k = 0; k < flips; k++) {
              const at = start + randInt(rand, Math.min(len, 90) || 1);
              m[at] = rand() < 0.5 ? (m[at] ?? 0) ^ (1 << randInt(rand, 8)) : randInt(rand, 256);
            }
          } else if (choice < 11) {
            len = randInt(rand, 300);
            for (let k = 0; k < len; k++) m[start + k] = randInt(rand, 256);
          } else if (choice < 12) {
            const extra = randInt(rand, 64);
            for (let k = 0; k < extra; k++) m[start + len + k] = randInt(rand, 256);
            len += extra;
          }
          const d = r.descBase + slot * r.descSize;
          if (choice === 19 && rand() < 0.5) {
            // Hostile descriptor: the core must reject it without touching memory.
            // Values near 2^32 as well: offset + length must not wrap past the checks.
            const big = () =>
              rand() < 0.5 ? randInt(rand, 0x100000) : 0xffffffff - randInt(rand, 0x10000);
            v.setUint32(d, big(), true);
            v.setUint32(d + 4, rand() < 0.5 ? big() : randInt(rand, 2048), true);
            v.setUint16(d + 8, randInt(rand, 0x10000), true);
          } else {
            v.setUint32(d, r.slotDataStart, true);
            v.setUint32(d + 4, len, true);
            v.setUint16(
              d + 8,
              mode === 1 ? 6 : ([0, 1, 2, 3, 4, 5, 7, 9][randInt(rand, 8)] ?? 0),
              true,
            );
          }
        }
        const before = mode < 2 ? macRegion() : '';
        if (mode === 0) {
          // Bytes outside a frame must not influence the parser: run the batch with two
          // different fillings of the headroom and of the 256 bytes after each frame.
          const outside = (fill: number) => {
            const mm = mem();
            const vv = view();
            for (let slot = 0; slot < n; slot++) {
              const d = r.descBase + slot * r.descSize;
              if (vv.getUint32(d, true) !== r.slotDataStart) continue;
              const start = r.poolBase + slot * r.slotSize + r.slotDataStart;
              const end = start + vv.getUint32(d + 4, true);
              for (let k = start - 128; k < start; k++) mm[k] = (k * fill) & 0xff;
              for (let k = end; k < end + 256; k++) mm[k] = (k * fill + 7) & 0xff;
            }
          };
          const results = () => {
            const vv = view();
            const out: number[] = [];
            for (let slot = 0; slot < n; slot++) {
              const d = r.descBase + slot * r.descSize;
              out.push(
                vv.getUint8(d + 14),
                vv.getUint8(d + 15),
                vv.getUint8(d + 17),
                vv.getUint32(d + 20, true),
              );
              for (let k = 40; k < 88; k++) out.push(vv.getUint8(d + k));
            }
            return out;
          };
          outside(131);
          dp.processSlots(inputVector.subarray(0, n), now, 'inspect');
          const first = results();
          outside(197);
          dp.processSlots(inputVector.subarray(0, n), now, 'inspect');
          const second = results();
          if (first.some((x, i) => x !== second[i]))
            throw new Error(
              `parse result depends on bytes outside the frame (batch at frame ${done})`,
            );
          outsideChecks++;
        }
        dp.processSlots(inputVector.subarray(0, n), now, mode === 0 ? 'inspect' : 'all');
        now += 3;
        const after = mem();
        for (let slot = 0; slot < r.poolSlots; slot++) {
          const base = r.poolBase + slot * r.slotSize;
          if (
            Buffer.compare(after.subarray(base, base + GUARD), guard) !== 0 ||
            Buffer.compare(after.subarray(base + r.slotSize - GUARD, base + r.slotSize), guard) !==
              0
          ) {
            throw new Error(`guard bytes of slot ${slot} overwritten in batch at frame ${done}`);
          }
        }
        if (mode < 2) {
          expect(
            macRegion(),
            `MAC table changed by a batch that must not learn (mode ${mode}, frame ${done})`,
          ).toBe(before);
          unchangedChecks++;
        }
        const dv = view();
        for (let slot = 0; slot < n; slot++) {
          const d = r.descBase + slot * r.descSize;
          const verdict = dv.getUint8(d + 14);
          expect(verdict).toBeLessThan(4);
          verdicts[verdict] = (verdicts[verdict] ?? 0) + 1;
          if (verdict === 3 && mode !== 0) countedDrops++;
          if (verdict === 3) reasons.add(dv.getUint8(d + 15));
          if (verdict === 1 || verdict === 2) {
            const off = dv.getUint32(d, true);
            const len = dv.getUint32(d + 4, true);
            expect(off >= GUARD && off + len <= r.slotSize - GUARD).toBe(true);
          }
        }
        if ((done / BATCH) % 64 === 0) {
          logged += dp.acl.readLog().length;
          expect(configRegion()).toBe(configHash);
          expect(routingRegion()).toBe(routingHash);
          expect(staticRegion()).toBe(staticHash);
        }
      }
      expect(configRegion()).toBe(configHash);
      expect(staticRegion()).toBe(staticHash);
      expect(routingRegion()).toBe(routingHash);
      expect(dp.acl.setInfo.rules).toBe(10);
      expect(logged).toBeGreaterThan(0);
      // Most rules matched something (which ones depends on the seed), and many packets did.
      const aclHits = dp.acl.hits().rules;
      expect(aclHits.filter((h) => h > 0).length).toBeGreaterThanOrEqual(6);
      expect(aclHits.reduce((a, b) => a + b, 0)).toBeGreaterThan(FRAMES / 1000);
      const ct = dp.conntrack.stats();
      expect(Math.min(ct.created, ct.hits, ct.evicted), JSON.stringify(ct)).toBeGreaterThan(0);
      expect(dp.conntrack.size).toBeLessThanOrEqual(dp.conntrack.capacity);
      const policed = dp.policers.lookup(3)!;
      expect(Math.min(policed.conform.packets, policed.exceed.packets)).toBeGreaterThan(0);
      const flows = dp.policers.flowTable(0)!;
      expect(Math.min(flows.conform.packets, flows.exceed.packets, flows.evicted)).toBeGreaterThan(
        0,
      );
      expect(dp.gateways.lookup(1)!.arpReplies + dp.gateways.lookup(1)!.ndReplies).toBeGreaterThan(
        0,
      );
      // The campaign must have reached passes, forwards, floods and many distinct drop reasons.
      const [pass = 0, forward = 0, flood = 0, drop = 0] = verdicts;
      expect(pass + forward + flood + drop).toBe(FRAMES);
      expect(Math.min(pass, forward, flood, drop)).toBeGreaterThan(FRAMES / 1000);
      expect(reasons.size).toBeGreaterThanOrEqual(Math.min(20, FRAMES / 10_000));
      expect(unchangedChecks).toBeGreaterThan(0);
      expect(outsideChecks).toBeGreaterThan(0);
      // Every stage ran on fuzzed traffic, the VXLAN ones included.
      const stages = dp.stageCounters();
      const stageNames = [
        'parse',
        'vxlan-decap',
        'policer',
        'conntrack',
        'acl',
        'gateway',
        'l2',
        'l3',
        'l3v6',
        'acl-egress',
        'vxlan-encap',
      ];
      for (const name of [...stageNames, 'tx', 'drop']) {
        expect(stages[name]?.packets, name).toBeGreaterThan(FRAMES / 2000);
      }
      const counters = dp.counters();
      expect(Object.values(counters.drops).reduce((a, b) => a + b, 0)).toBe(countedDrops);
    },
  );
});
