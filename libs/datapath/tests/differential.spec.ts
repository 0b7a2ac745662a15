import { describe, expect, it } from 'vitest';
import { createDatapath, type Datapath, type FrameIn } from '../src/index.js';
import { ReferenceDatapath } from '../src/reference/pipeline.js';
import { referenceParse } from '../src/reference/parser.js';
import { flowFrame, mutateFrame, prng, randInt, randomValidFrame, vxlanFrame } from './frames.js';
import { tunnelV4, tunnelV6 } from './tunnels.js';
import { configuredPair, processBoth } from './differ.js';

// CI sizes; scripts/fuzz.mjs scales them up for long campaigns.
const PARSE_FRAMES = Number(process.env.DATAPATH_DIFF_FRAMES ?? 60_000);
const ROUNDS = Math.max(300, Number(process.env.DATAPATH_DIFF_ROUNDS ?? 300));
const SEED = Number(process.env.DATAPATH_FUZZ_SEED ?? 0);

const MACS = Array.from(
  { length: 12 },
  (_, i) => `02:00:00:00:00:${(i + 1).toString(16).padStart(2, '0')}`,
);

function configure(target: Datapath | ReferenceDatapath): void {
  target.addBridge(1, { floodLimit: 40 });
  target.addBridge(2);
  for (const p of [0, 1, 2, 3]) target.setPort(p, { bridge: 1 });
  target.setPort(4, { bridge: 2 });
  target.setPort(5, { bridge: 2, flood: false });
  target.setPort(6, {});
  target.setPort(9, { bridge: null });
  target.addVxlanTunnel(0, tunnelV4());
  target.addVxlanTunnel(1, tunnelV6({ ttl: 17 }));
}

function trafficBatch(rand: () => number, size: number): FrameIn[] {
  const frames: FrameIn[] = [];
  for (let i = 0; i < size; i++) {
    const kind = randInt(rand, 10);
    const port = [0, 1, 2, 3, 4, 5, 6, 9, 100][randInt(rand, 9)] ?? 0;
    const pick = () => MACS[randInt(rand, MACS.length)] ?? '02:00:00:00:00:01';
    let data: Uint8Array;
    if (kind < 4) {
      data = flowFrame({
        srcMac: pick(),
        dstMac: rand() < 0.05 ? 'ff:ff:ff:ff:ff:ff' : pick(),
        v6: rand() < 0.3,
        l4: { proto: 'tcp', sport: randInt(rand, 65536), dport: 443 },
      });
    } else if (kind < 6) {
      const inner = flowFrame({
        srcMac: pick(),
        dstMac: pick(),
        l4: { proto: 'udp', sport: randInt(rand, 65536), dport: 8080, payload: [1, 2, 3] },
      });
      const v6 = rand() < 0.5;
      const vni = rand() < 0.8 ? (v6 ? 6001 : 5001) : randInt(rand, 1 << 24);
      data = v6
        ? vxlanFrame(inner, vni, {
            v6: true,
            src: rand() < 0.9 ? 'fd00::2' : 'fd00::9',
            dst: rand() < 0.9 ? 'fd00::1' : 'fd00::7',
          })
        : vxlanFrame(inner, vni, {
            src: rand() < 0.9 ? '192.168.0.2' : '192.168.0.9',
            dst: rand() < 0.9 ? '192.168.0.1' : '192.168.0.7',
          });
    } else if (kind < 8) {
      data = mutateFrame(rand, randomValidFrame(rand, MACS));
    } else {
      data = randomValidFrame(rand, MACS);
    }
    frames.push({ data, port });
  }
  return frames;
}

describe('differential: WebAssembly datapath vs TypeScript reference', () => {
  it(
    'parse verdicts and parsed fields agree on random, mutated and adversarial frames',
    { timeout: 3_600_000 },
    () => {
      const dp = createDatapath({ batchSize: 256 });
      const rand = prng(SEED ^ 0xd1ff);
      const frames: Uint8Array[] = [];
      for (let i = 0; i < PARSE_FRAMES; i++) {
        const base = randomValidFrame(rand);
        frames.push(i % 3 === 0 ? base : mutateFrame(rand, base));
      }
      const wasm = dp.parse(frames);
      let oks = 0;
      for (let i = 0; i < frames.length; i++) {
        const ref = referenceParse(frames[i] as Uint8Array);
        const got = wasm[i];
        if (!got) throw new Error('missing result');
        const summary = (r: typeof ref) => (r.ok ? r : { ok: r.ok, drop: r.drop, vni: r.vni });
        const a = summary({ ...got, outer: { ...got.outer, complete: true } });
        expect(a, `frame ${i}: ${Buffer.from(frames[i] as Uint8Array).toString('hex')}`).toEqual(
          summary(ref),
        );
        if (got.ok) oks++;
      }
      // Both branches must be exercised for the comparison to mean anything.
      expect(oks).toBeGreaterThan(PARSE_FRAMES / 3);
      expect(frames.length - oks).toBeGreaterThan(PARSE_FRAMES / 6);
    },
  );

  it(
    'full pipeline: verdicts, ports, output bytes and counters agree batch by batch',
    { timeout: 3_600_000 },
    () => {
      const { dp, ref } = configuredPair(configure);
      dp.macTable.add(2, '02:00:00:00:00:0c', 5, { static: true });
      ref.addMac(2, '02:00:00:00:00:0c', 5, true);
      const rand = prng(SEED ^ 42);
      let now = 1000;
      const seen = new Set<string>();
      for (let round = 0; round < ROUNDS; round++) {
        // Move a port between bridges mid-run: MAC entries then outlive its membership.
        if (round === 150 || round === 220)
          for (const t of [dp, ref]) t.setPort(3, { bridge: round === 150 ? 2 : 1 });
        const batch = trafficBatch(rand, 1 + randInt(rand, 200));
        const got = processBoth(dp, ref, batch, now, round);
        for (let i = 0; i < got.length; i++) {
          seen.add(got[i]?.drop ?? got[i]?.verdict ?? '');
        }
        now += randInt(rand, 400);
        if (round % 30 === 29) {
          expect(dp.macTable.age(now, 2000)).toBe(ref.ageMacTable(now, 2000));
          expect(dp.macTable.size).toBe(ref.macCount);
        }
      }
      // The traffic must reach every decision the pipeline can make.
      for (const outcome of [
        'forward',
        'flood',
        'same-port',
        'flood-limit',
        'port-not-in-bridge',
        'vxlan-no-tunnel',
        'ipv4-bad-checksum',
        'egress-not-in-bridge',
      ]) {
        expect(seen, outcome).toContain(outcome);
      }
      const c = dp.counters();
      expect(c.bridges[1]?.moves).toBeGreaterThan(0);
      expect(c.ports[9]?.txPackets).toBeGreaterThan(0);
      expect(c.ports[100]?.rxPackets).toBeGreaterThan(0);
    },
  );
});
