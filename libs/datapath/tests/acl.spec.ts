import { describe, expect, it } from 'vitest';
import { createDatapath, DatapathConfigError, type AclRule, type FrameIn } from '../src/index.js';
import { checkAclRule } from '../src/acl.js';
import { flowFrame, prng, randInt } from './frames.js';
import { configureAclNet, randomAclBatch, randomAclRule } from './acl-gen.js';
import { comparable, configuredPair, processBoth } from './differ.js';

const SEED = Number(process.env.DATAPATH_FUZZ_SEED ?? 0);
const ROUNDS = Number(process.env.DATAPATH_DIFF_ROUNDS ?? 200);

describe('ACL', () => {
  it('first match wins, default action, hit counters, verbs', () => {
    const dp = createDatapath({ batchSize: 16 });
    configureAclNet(dp);
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
    expect(dp.acl.hits()).toEqual({ rules: [1, 1, 2], default: 1, egressDefault: 0 });
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
    const rules = Array.from({ length: 5000 }, () => randomAclRule(rand));
    const dp = createDatapath({ batchSize: 16 });
    const info = dp.acl.load(rules);
    expect(info.rules).toBe(5000);
    // 5000 rules over a few prefix lengths and field combinations fall into far fewer shapes.
    expect(info.shapes).toBeLessThan(600);
    expect(rules.map((r, i) => checkAclRule(r, i)).length).toBe(5000);
    // A selective source keys its rules alone (destinations on the chain) until the chain is
    // 16 long; the rest open the source-and-destination shape. Both classify correctly.
    const many: AclRule[] = Array.from({ length: 40 }, (_, i) => ({
      action: i % 2 === 0 ? 'deny' : 'permit',
      src: '10.0.0.0/24',
      dst: `10.1.${i}.0/24`,
    }));
    expect(dp.acl.load(many).shapes).toBe(2);
    configureAclNet(dp);
    dp.acl.bind(0);
    const verdicts = dp.process(
      Array.from({ length: 40 }, (_, i) => ({
        data: flowFrame({ src: '10.0.0.9', dst: `10.1.${i}.1` }),
        port: 0,
      })),
      0,
    );
    expect(verdicts.map((r) => r.drop ?? r.verdict)).toEqual(
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 'acl-deny' : 'flood')),
    );
    expect(dp.acl.hits().rules).toEqual(new Array<number>(40).fill(1));
    // Host rules in one /24 share its key until the chain is full, then get /32 keys.
    const hosts: AclRule[] = Array.from({ length: 40 }, (_, i) => ({
      action: i % 2 === 0 ? 'deny' : 'permit',
      dst: `10.2.0.${i}/32`,
    }));
    expect(dp.acl.load(hosts).shapes).toBe(2);
    const hostVerdicts = dp.process(
      Array.from({ length: 40 }, (_, i) => ({
        data: flowFrame({ src: '10.0.0.9', dst: `10.2.0.${i}` }),
        port: 0,
      })),
      0,
    );
    expect(hostVerdicts.map((r) => r.drop ?? r.verdict)).toEqual(
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 'acl-deny' : 'flood')),
    );
  });

  it('any prefix length, crowded keys: chains bounded, shapes within 64, same as a scan', () => {
    const rand = prng(SEED ^ 0x5ca1e);
    const v4 = (len: number, last: number) => {
      const a = (0x0a000000 | (randInt(rand, 2) << 8) | last) >>> 0;
      const m = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
      const b = (a & m) >>> 0;
      return `${b >>> 24}.${(b >>> 16) & 0xff}.${(b >>> 8) & 0xff}.${b & 0xff}/${len}`;
    };
    const v6 = (len: number, last: number) => {
      // 2001:db8:0:X::Y with the host bits cut at whole groups, then trimmed to `len` bits.
      const words = [0x2001, 0x0db8, 0, randInt(rand, 2), 0, 0, 0, last];
      const bytes = words.flatMap((w) => [w >> 8, w & 0xff]);
      for (let bit = len; bit < 128; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
      const groups = [];
      for (let g = 0; g < 8; g++)
        groups.push(((bytes[2 * g]! << 8) | bytes[2 * g + 1]!).toString(16));
      return `${groups.join(':')}/${len}`;
    };
    const rules: AclRule[] = Array.from({ length: 3000 }, () => {
      const six = rand() < 0.4;
      const len = () => randInt(rand, six ? 129 : 33);
      const pick = () => (six ? v6(len(), randInt(rand, 4)) : v4(len(), randInt(rand, 4)));
      const rule: AclRule = { action: rand() < 0.5 ? 'permit' : 'deny', src: pick() };
      if (rand() < 0.7) rule.dst = pick();
      if (rand() < 0.5) rule.proto = 17;
      return rule;
    });
    const { dp, ref } = configuredPair(configureAclNet);
    dp.acl.bind(0);
    ref.bindAcl(0, true);
    // One classifier: more than the 41 capped shapes (full chains fell back to their own
    // lengths), fewer than the 61 that 64-bit candidate maps must hold.
    const { shapes } = dp.acl.load(rules);
    expect(shapes).toBeGreaterThan(41);
    expect(shapes).toBeLessThanOrEqual(61);
    ref.loadAcl(
      rules.map((r, i) => checkAclRule(r, i)),
      false,
    );
    const host = (six: boolean) =>
      six
        ? `2001:db8:0:${randInt(rand, 2)}::${randInt(rand, 4)}`
        : `10.0.${randInt(rand, 2)}.${randInt(rand, 4)}`;
    for (let round = 0; round < 20; round++) {
      const batch: FrameIn[] = Array.from({ length: 64 }, () => {
        const six = rand() < 0.4;
        return { data: flowFrame({ v6: six, src: host(six), dst: host(six) }), port: 0 };
      });
      expect(dp.process(batch, round).map(comparable)).toEqual(
        ref.process(batch, round).map(comparable),
      );
    }
    expect(dp.acl.hits()).toEqual(ref.aclHits());
    expect(dp.acl.hits().rules.filter((h) => h > 0).length).toBeGreaterThan(3);
  });

  it(
    'differential: random rule sets swapped between batches, against a first-match scan',
    { timeout: 600_000 },
    () => {
      const { dp, ref } = configuredPair(configureAclNet);
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
          const rules = Array.from({ length: 20 + randInt(rand, 300) }, () => randomAclRule(rand));
          const defaultAction = rand() < 0.5 ? 'permit' : 'deny';
          dp.acl.load(rules, { defaultAction });
          ref.loadAcl(
            rules.map((r, i) => checkAclRule(r, i)),
            defaultAction === 'deny',
          );
        }
        const batch = randomAclBatch(rand, 6);
        const got = processBoth(dp, ref, batch, round, round);
        for (let i = 0; i < got.length; i++) {
          seen.add(got[i]!.drop ?? got[i]!.verdict);
        }
      }
      expect(dp.acl.hits()).toEqual(ref.aclHits());
      expect(seen).toContain('acl-deny');
      expect(seen).toContain('forward');
      // The traffic reached many different rules, not just the default.
      expect(hitRules).toBeGreaterThan(10);
    },
  );
});
