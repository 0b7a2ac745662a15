import { describe, expect, it } from 'vitest';
import {
  createDatapath,
  DatapathConfigError,
  type AclRule,
  type Datapath,
  type FrameIn,
  type PacketResult,
} from '../src/index.js';
import { checkAclRule } from '../src/acl.js';
import { ReferenceDatapath } from '../src/reference/pipeline.js';
import { flowFrame, mutateFrame, prng, randInt, randomValidFrame, vxlanFrame } from './frames.js';

const SEED = Number(process.env.DATAPATH_FUZZ_SEED ?? 0);
const ROUNDS = Number(process.env.DATAPATH_DIFF_ROUNDS ?? 200);

const v4 = (a: number) => `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
const mask = (len: number) => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

/** A random rule over a small address space, so that rules overlap and shapes repeat. */
function randomRule(rand: () => number): AclRule {
  const rule: AclRule = { action: rand() < 0.5 ? 'permit' : 'deny' };
  const six = rand() < 0.25;
  const prefix = () => {
    if (six) {
      const len = [0, 32, 48, 64, 128][randInt(rand, 5)]!;
      const groups = [
        '2001',
        'db8',
        randInt(rand, 3).toString(16),
        '0',
        '0',
        '0',
        '0',
        randInt(rand, 3).toString(16),
      ];
      // Zero the host bits group by group (whole 16-bit groups: lengths are multiples of 16).
      return `${groups.map((g, i) => (i * 16 < len ? g : '0')).join(':')}/${len}`;
    }
    const len = [0, 8, 16, 24, 28, 32][randInt(rand, 6)]!;
    const addr =
      (0x0a000000 | (randInt(rand, 4) << 16) | (randInt(rand, 4) << 8) | randInt(rand, 8)) >>> 0;
    return `${v4((addr & mask(len)) >>> 0)}/${len}`;
  };
  if (rand() < 0.7) rule.src = prefix();
  if (rand() < 0.7) rule.dst = prefix();
  if (six && !rule.src && !rule.dst) rule.dst = prefix();
  const l4 = randInt(rand, 5);
  if (l4 === 0 || l4 === 1) {
    rule.proto = l4 === 0 ? 6 : 17;
    if (rand() < 0.6) {
      const lo = randInt(rand, 2000);
      rule.dport = rand() < 0.5 ? lo : [lo, lo + randInt(rand, 500)];
    }
    if (rand() < 0.3) rule.sport = [1000, 1000 + randInt(rand, 3000)];
  } else if (l4 === 2) {
    rule.proto = six ? 58 : 1;
    if (rand() < 0.7) rule.icmpType = [8, 0, 128, 129][randInt(rand, 4)]!;
    if (rand() < 0.3) rule.icmpCode = 0;
  } else if (l4 === 3 && rand() < 0.5) {
    rule.proto = [6, 17, 1, 58][randInt(rand, 4)]!;
  }
  if (rand() < 0.1) rule.vni = 5001;
  if (rand() < 0.15) rule.inPort = [0, 1, 2, 100][randInt(rand, 4)]!;
  return rule;
}

function randomPacket(rand: () => number): Uint8Array {
  const six = rand() < 0.25;
  const addr = () =>
    six
      ? `2001:db8:${randInt(rand, 3).toString(16)}::${randInt(rand, 3).toString(16)}`
      : v4(
          (0x0a000000 | (randInt(rand, 4) << 16) | (randInt(rand, 4) << 8) | randInt(rand, 8)) >>>
            0,
        );
  const kind = randInt(rand, 3);
  const l4 =
    kind === 0
      ? { proto: 'tcp' as const, sport: 1000 + randInt(rand, 4000), dport: randInt(rand, 2600) }
      : kind === 1
        ? { proto: 'udp' as const, sport: 1000 + randInt(rand, 4000), dport: randInt(rand, 2600) }
        : {
            proto: 'icmp' as const,
            type: [8, 0, 128, 129][randInt(rand, 4)]!,
            code: randInt(rand, 2),
          };
  return flowFrame({
    src: addr(),
    dst: addr(),
    v6: six,
    l4,
    dstMac: '02:00:00:00:00:02',
    srcMac: `02:00:00:00:00:${(10 + randInt(rand, 6)).toString(16)}`,
  });
}

function configure(t: Datapath | ReferenceDatapath): void {
  t.addBridge(1);
  for (const p of [0, 1, 2]) t.setPort(p, { bridge: 1 });
  t.setPort(3, { vrf: 1 });
  t.setPort(9, {});
  t.addVxlanTunnel(0, {
    port: 100,
    bridge: 1,
    vni: 5001,
    local: '192.168.0.1',
    remote: '192.168.0.2',
    localMac: '02:00:00:00:aa:01',
    remoteMac: '02:00:00:00:aa:02',
    underlayPort: 9,
  });
  if (t instanceof ReferenceDatapath) {
    t.router.setNextHop(0, { port: 2, dstMac: '02:00:00:00:00:05', srcMac: '02:00:00:00:00:06' });
    t.router.createVrf(1);
    t.router.addRoute(1, 0x0a000000, 8, 0);
  } else {
    t.nextHops.add(0, { port: 2, dstMac: '02:00:00:00:00:05', srcMac: '02:00:00:00:00:06' });
    t.routes.create(1);
    t.routes.add(1, '10.0.0.0/8', 0);
  }
}

const comparable = (r: PacketResult) => ({ ...r, frame: Buffer.from(r.frame).toString('hex') });

describe('ACL', () => {
  it('first match wins, default action, hit counters, verbs', () => {
    const dp = createDatapath({ batchSize: 16 });
    configure(dp);
    dp.acl.bind(0);
    const info = dp.acl.load(
      [
        { action: 'deny', src: '10.0.0.1/32', proto: 6, dport: [80, 90] },
        { action: 'permit', src: '10.0.0.0/24' },
        { action: 'deny', proto: 17 },
      ],
      { defaultAction: 'deny' },
    );
    expect(info).toMatchObject({ rules: 3 });
    const tcp = (src: string, dport: number) =>
      flowFrame({ src, dst: '10.9.9.9', l4: { proto: 'tcp', sport: 5, dport } });
    const out = dp.process(
      [
        { data: tcp('10.0.0.1', 85), port: 0 }, // rule 0
        { data: tcp('10.0.0.1', 91), port: 0 }, // rule 1
        { data: flowFrame({ src: '10.0.1.1', l4: { proto: 'udp' } }), port: 0 }, // rule 2
        { data: tcp('10.0.1.1', 22), port: 0 }, // default deny
        { data: tcp('10.0.1.1', 22), port: 1 }, // port 1 is not bound
        { data: flowFrame({ v6: true }), port: 0 }, // IPv6 TCP? no: UDP → rule 2
      ],
      0,
    );
    expect(out.map((r) => r.drop ?? r.verdict)).toEqual([
      'acl-deny',
      'flood',
      'acl-deny',
      'acl-deny',
      'flood',
      'acl-deny',
    ]);
    expect(dp.acl.hits()).toEqual({ rules: [1, 1, 2], default: 1 });
    expect([...dp.acl.iterate()].map((e) => e.hits)).toEqual([1, 1, 2]);
    // Verbs recompile and swap; counters restart with the new set.
    dp.acl.add({ action: 'permit', proto: 17 }, 0);
    expect(dp.acl.lookup(0)).toEqual({ rule: { action: 'permit', proto: 17 }, hits: 0 });
    expect(dp.process([{ data: flowFrame({ src: '10.0.1.1' }), port: 0 }], 0)[0]!.verdict).toBe(
      'flood',
    );
    expect(dp.acl.delete(0)).toBe(true);
    expect(dp.acl.delete(7)).toBe(false);
    expect(dp.acl.lookupBulk([2, 3])).toEqual([
      { rule: { action: 'deny', proto: 17 }, hits: 0 },
      null,
    ]);
    dp.acl.reset();
    expect(dp.process([{ data: tcp('10.0.0.1', 85), port: 0 }], 0)[0]!.drop).toBe('acl-deny');
    dp.acl.free();
    expect(dp.process([{ data: tcp('10.0.0.1', 85), port: 0 }], 0)[0]!.verdict).toBe('flood');
    dp.startTrace(1);
    dp.acl.load([{ action: 'deny', dst: '10.9.9.0/24' }]);
    dp.process([{ data: tcp('10.0.0.1', 85), port: 0 }], 0);
    expect(dp.readTrace().find((r) => r.stage === 'acl')?.detail).toBe('rule 0 deny');
  });

  it('rejects bad rules naming the field, and keeps the active set', () => {
    const dp = createDatapath({ batchSize: 16 });
    dp.acl.load([{ action: 'deny', proto: 6 }]);
    const field = (rules: unknown[]) => {
      try {
        dp.acl.load(rules as AclRule[]);
      } catch (err) {
        expect(err).toBeInstanceOf(DatapathConfigError);
        return (err as DatapathConfigError).field;
      }
      throw new Error('did not throw');
    };
    expect(field([{ action: 'allow' }])).toBe('rules[0].action');
    expect(field([{ action: 'permit' }, { action: 'permit', src: '10.0.0.1/8' }])).toBe(
      'rules[1].src',
    );
    expect(field([{ action: 'permit', src: '10.0.0.0/8', dst: '::/0' }])).toBe('rules[0].dst');
    expect(field([{ action: 'permit', dport: 80 }])).toBe('rules[0].dport');
    expect(field([{ action: 'permit', proto: 6, dport: [90, 80] }])).toBe('rules[0].dport');
    expect(field([{ action: 'permit', proto: 6, icmpType: 8 }])).toBe('rules[0].icmpType');
    expect(field([{ action: 'permit', vni: 1 << 24 }])).toBe('rules[0].vni');
    expect(field([{ action: 'permit', inPort: 256 }])).toBe('rules[0].inPort');
    expect(dp.acl.setInfo.rules).toBe(1);
  });

  it('classification is not a scan: shapes, not rules, bound the probes', () => {
    const rand = prng(SEED ^ 0xac1);
    const rules = Array.from({ length: 5000 }, () => randomRule(rand));
    const dp = createDatapath({ batchSize: 16 });
    const info = dp.acl.load(rules);
    expect(info.rules).toBe(5000);
    // 5000 rules over a few prefix lengths and field combinations fall into far fewer shapes.
    expect(info.shapes).toBeLessThan(600);
    expect(rules.map((r, i) => checkAclRule(r, i)).length).toBe(5000);
  });

  it(
    'differential: random rule sets swapped between batches, against a first-match scan',
    { timeout: 600_000 },
    () => {
      const dp = createDatapath({ batchSize: 64 });
      const ref = new ReferenceDatapath(64);
      configure(dp);
      configure(ref);
      for (const p of [0, 1, 3, 100]) {
        dp.acl.bind(p);
        ref.bindAcl(p, true);
      }
      const rand = prng(SEED ^ 0xacd);
      const seen = new Set<string>();
      let hitRules = 0;
      for (let round = 0; round < ROUNDS; round++) {
        if (round % 25 === 0) {
          if (round > 0) expect(dp.acl.hits()).toEqual(ref.aclHits());
          hitRules = Math.max(hitRules, dp.acl.hits().rules.filter((h) => h > 0).length);
          const rules = Array.from({ length: 20 + randInt(rand, 300) }, () => randomRule(rand));
          const defaultAction = rand() < 0.5 ? 'permit' : 'deny';
          dp.acl.load(rules, { defaultAction });
          ref.loadAcl(
            rules.map((r, i) => checkAclRule(r, i)),
            defaultAction === 'deny',
          );
        }
        const batch: FrameIn[] = [];
        for (let i = 0; i < 1 + randInt(rand, 80); i++) {
          const k = randInt(rand, 10);
          const port = [0, 1, 2, 3, 9][randInt(rand, 5)]!;
          let data: Uint8Array;
          if (k < 6) data = randomPacket(rand);
          else if (k < 7)
            data = vxlanFrame(randomPacket(rand), 5001, { src: '192.168.0.2', dst: '192.168.0.1' });
          else if (k < 8) data = mutateFrame(rand, randomPacket(rand));
          else data = randomValidFrame(rand);
          batch.push({ data, port });
        }
        const got = dp.process(batch, round).map(comparable);
        const want = ref.process(batch, round).map(comparable);
        for (let i = 0; i < got.length; i++) {
          expect(
            got[i],
            `round ${round} frame ${i}: ${Buffer.from(batch[i]!.data).toString('hex')}`,
          ).toEqual(want[i]);
          seen.add(got[i]!.drop ?? got[i]!.verdict);
        }
        expect(dp.counters()).toEqual(ref.counters());
      }
      expect(dp.acl.hits()).toEqual(ref.aclHits());
      expect(seen).toContain('acl-deny');
      expect(seen).toContain('forward');
      // The traffic reached many different rules, not just the default.
      expect(hitRules).toBeGreaterThan(10);
    },
  );
});
