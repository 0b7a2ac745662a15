// ACL actions count/log (non-terminal), the log ring, egress rules and the acl-egress stage.
import { describe, expect, it } from 'vitest';
import { createDatapath, type AclRule, type FrameIn, type PacketResult } from '../src/index.js';
import { ACL_LOG_CAPACITY, checkAclRule } from '../src/acl.js';
import { flowFrame, prng, randInt } from './frames.js';
import { configureAclNet, randomAclBatch, randomAclRule } from './acl-gen.js';
import { thrownField as field } from './errors.js';
import { configuredPair, processBoth } from './differ.js';

const SEED = Number(process.env.DATAPATH_FUZZ_SEED ?? 0);
const ROUNDS = Number(process.env.DATAPATH_DIFF_ROUNDS ?? 200);

const outcome = (r: PacketResult) => r.drop ?? r.verdict;

describe('ACL count and log', () => {
  const rules: AclRule[] = [
    { action: 'count', src: '10.0.0.0/24' },
    { action: 'log', dst: '10.9.9.0/24', log: { sampleEvery: 2 } },
    { action: 'deny', proto: 6, dport: 22 },
    { action: 'count', proto: 17 },
    { action: 'permit', src: '10.0.0.0/8' },
  ];
  const tcp = (src: string, dport: number) =>
    flowFrame({ src, dst: '10.9.9.9', l4: { proto: 'tcp', sport: 40000, dport } });
  const udp = (src: string, dst: string) =>
    flowFrame({ src, dst, l4: { proto: 'udp', sport: 7, dport: 9 } });

  it('count/log rules record and evaluation goes on to the deciding rule', () => {
    const dp = createDatapath({ batchSize: 16 });
    configureAclNet(dp);
    dp.acl.bind(0);
    dp.acl.load(rules, { defaultAction: 'deny' });
    const frames = [
      tcp('10.0.0.1', 22), // 0 count, 1 log (sampled), 2 deny
      udp('10.0.0.1', '10.9.9.9'), // 0, 1 (not sampled), 3, 4 permit
      udp('10.0.0.1', '10.9.9.8'), // 0, 1 (sampled), 3, 4 permit
      udp('10.1.0.1', '10.8.0.1'), // 3, 4 permit
      tcp('11.0.0.1', 80), // 1 (not sampled), default deny
    ];
    dp.startTrace(1);
    const out = dp.process(
      frames.map((data) => ({ data, port: 0 })),
      1234,
    );
    expect(out.map(outcome)).toEqual(['acl-deny', 'flood', 'flood', 'flood', 'acl-deny']);
    expect(dp.readTrace().find((r) => r.stage === 'acl')?.detail).toBe(
      'rule 0 count (+1), rule 2 deny',
    );
    expect(dp.acl.hits()).toEqual({ rules: [3, 4, 1, 3, 3], default: 1, egressDefault: 0 });
    const len = frames.map((f) => f.length);
    const c = dp.acl.counters();
    expect(c.rules[0]).toEqual({ packets: 3, bytes: len[0]! + len[1]! + len[2]! });
    expect(c.rules[1]!.bytes).toBe(len[0]! + len[1]! + len[2]! + len[4]!);
    expect(c.default).toEqual({ packets: 1, bytes: len[4]! });
    const log = dp.acl.readLog();
    expect(log).toEqual([
      {
        rule: 1,
        port: 0,
        direction: 'ingress',
        time: 1234,
        ipVersion: 4,
        src: '10.0.0.1',
        dst: '10.9.9.9',
        proto: 6,
        sport: 40000,
        dport: 22,
        length: len[0],
        action: 'deny',
      },
      {
        rule: 1,
        port: 0,
        direction: 'ingress',
        time: 1234,
        ipVersion: 4,
        src: '10.0.0.1',
        dst: '10.9.9.8',
        proto: 17,
        sport: 7,
        dport: 9,
        length: len[2],
        action: 'permit',
      },
    ]);
    expect(dp.acl.readLog()).toEqual([]);
    // IPv6 and ICMP fields in a record; a rule without addresses logs both versions.
    dp.acl.load([{ action: 'log' }, { action: 'deny', proto: 58 }]);
    dp.process(
      [
        {
          data: flowFrame({
            v6: true,
            src: '2001:db8::1',
            dst: '2001:db8:0:1::5',
            l4: { proto: 'icmp', type: 128, code: 0 },
          }),
          port: 0,
        },
      ],
      7,
    );
    expect(dp.acl.readLog()).toMatchObject([
      {
        rule: 0,
        ipVersion: 6,
        src: '2001:db8::1',
        dst: '2001:db8:0:1::5',
        proto: 58,
        sport: 0,
        dport: 0,
        icmpType: 128,
        icmpCode: 0,
        action: 'deny',
        time: 7,
      },
    ]);
  });

  it('samples 1 in N per rule and bounds the ring, counting what it loses', () => {
    const dp = createDatapath({ batchSize: 256 });
    configureAclNet(dp);
    dp.acl.bind(0);
    dp.acl.load([
      { action: 'log', proto: 17, log: { sampleEvery: 3 } },
      { action: 'log', proto: 17 },
    ]);
    const batch = (n: number): FrameIn[] =>
      Array.from({ length: n }, (_, i) => ({
        data: udp(`10.0.${i >> 8}.${i & 0xff}`, '10.9.9.9'),
        port: 0,
      }));
    dp.process(batch(10), 0);
    const log = dp.acl.readLog();
    // Rule 0 logs matches 1, 4, 7 and 10; rule 1 every match; in packet order, then rule order.
    expect(log.map((r) => `${r.src}:${r.rule}`)).toEqual(
      Array.from({ length: 10 }, (_, i) =>
        i % 3 === 0 ? [`10.0.0.${i}:0`, `10.0.0.${i}:1`] : [`10.0.0.${i}:1`],
      ).flat(),
    );
    expect(dp.acl.logLost).toBe(0);
    // 900 packets, 1200 records: the ring keeps the first ACL_LOG_CAPACITY.
    dp.process(batch(900), 1);
    const full = dp.acl.readLog();
    expect(full.length).toBe(ACL_LOG_CAPACITY);
    expect(dp.acl.logLost).toBe(1200 - ACL_LOG_CAPACITY);
    expect(full.at(-1)!.src).toBe(`10.0.${767 >> 8}.${767 & 0xff}`);
    expect(dp.acl.hits().rules).toEqual([910, 910]);
    dp.process(batch(2), 2);
    expect(dp.acl.readLog().length).toBe(2);
    // A new set restarts the counters and the sampling.
    dp.acl.load([{ action: 'log', proto: 17, log: { sampleEvery: 3 } }]);
    dp.process(batch(4), 3);
    expect(dp.acl.readLog().map((r) => r.src)).toEqual(['10.0.0.0', '10.0.0.3']);
  });
});

describe('ACL egress', () => {
  function setUp() {
    const dp = createDatapath({ batchSize: 16 });
    configureAclNet(dp);
    dp.macTable.add(1, '02:00:00:00:00:22', 2, { static: true });
    dp.macTable.add(1, '02:00:00:00:00:11', 1, { static: true });
    return dp;
  }
  const to = (mac: string, dport: number, src = '10.0.0.1') =>
    flowFrame({ src, dst: '10.0.0.2', dstMac: mac, l4: { proto: 'udp', sport: 1, dport } });

  it('egress rules filter unicast forwards out of egress-bound ports, L2 and L3', () => {
    const dp = setUp();
    dp.acl.load([
      { action: 'deny', proto: 17, dport: 53 }, // ingress: port 0 is not bound for ingress
      { action: 'count', direction: 'egress', port: 2 },
      { action: 'deny', direction: 'egress', port: 2, proto: 17, dport: 53 },
      { action: 'deny', direction: 'egress', port: 1, proto: 17, dport: 54 },
    ]);
    dp.acl.bind(2, true, 'egress');
    dp.startTrace(1);
    const run = () =>
      dp
        .process(
          [
            { data: to('02:00:00:00:00:22', 53), port: 0 },
            { data: to('02:00:00:00:00:22', 54), port: 0 },
            { data: to('02:00:00:00:00:11', 54), port: 0 }, // port 1 not egress-bound
            { data: to('02:00:00:00:00:99', 53), port: 0 }, // flooded: not filtered
            { data: to('02:00:00:00:00:22', 53, '10.5.0.1'), port: 3 }, // routed to port 2
          ],
          0,
        )
        .map((r) => (r.verdict === 'forward' ? `port ${r.outPort}` : outcome(r)));
    expect(run()).toEqual(['acl-egress-deny', 'port 2', 'port 1', 'flood', 'acl-egress-deny']);
    expect(dp.readTrace().find((r) => r.stage === 'acl-egress')?.detail).toBe(
      'egress rule 1 count, rule 2 deny',
    );
    expect(dp.acl.hits()).toEqual({ rules: [0, 3, 2, 0], default: 0, egressDefault: 1 });
    expect(dp.counters().drops['acl-egress-deny']).toBe(2);
    dp.acl.bind(1, true, 'egress');
    expect(run()).toEqual([
      'acl-egress-deny',
      'port 2',
      'acl-egress-deny',
      'flood',
      'acl-egress-deny',
    ]);
    dp.acl.bind(2, false, 'egress');
    dp.acl.bind(1, false, 'egress');
    expect(run()).toEqual(['port 2', 'port 2', 'port 1', 'flood', 'port 2']);
    // The egress default is its own (deny here), and egress-bound tunnel ports are filtered
    // before encapsulation.
    dp.macTable.add(1, '02:00:00:00:00:77', 100, { static: true });
    dp.acl.load([], { defaultAction: 'permit', egressDefaultAction: 'deny' });
    dp.acl.bind(100, true, 'egress');
    expect(run()).toEqual(['port 2', 'port 2', 'port 1', 'flood', 'port 2']);
    const tunnelled = dp.process([{ data: to('02:00:00:00:00:77', 1), port: 0 }], 0)[0]!;
    expect(outcome(tunnelled)).toBe('acl-egress-deny');
    dp.acl.load([{ action: 'permit', direction: 'egress', port: 100 }], {
      egressDefaultAction: 'deny',
    });
    const encapped = dp.process([{ data: to('02:00:00:00:00:77', 1), port: 0 }], 0)[0]!;
    expect(encapped.outPort).toBe(9);
    expect(dp.acl.hits()).toEqual({ rules: [1], default: 0, egressDefault: 0 });
  });

  it('rejects bad rules and options naming the field', () => {
    const dp = createDatapath({ batchSize: 16 });
    const load = (rules: unknown[], opts?: unknown) => () =>
      dp.acl.load(rules as AclRule[], opts as never);
    const ok: AclRule = { action: 'permit' };
    expect(field(load([ok, ok, ok, { action: 'deny', direction: 'out' }]))).toBe(
      'rules[3].direction',
    );
    expect(field(load([{ action: 'drop' }]))).toBe('rules[0].action');
    expect(field(load([{ action: 'deny', direction: 'egress', inPort: 1 }]))).toBe(
      'rules[0].inPort',
    );
    expect(field(load([{ action: 'deny', port: 1, inPort: 1 }]))).toBe('rules[0].inPort');
    expect(field(load([ok, { action: 'deny', port: 256 }]))).toBe('rules[1].port');
    expect(field(load([{ action: 'permit', log: {} }]))).toBe('rules[0].log');
    expect(field(load([{ action: 'log', log: { sampleEvery: 0 } }]))).toBe(
      'rules[0].log.sampleEvery',
    );
    expect(field(load([], { egressDefaultAction: 'drop' }))).toBe('egressDefaultAction');
    expect(field(() => dp.acl.bind(1, true, 'sideways' as never))).toBe('direction');
    expect(checkAclRule({ action: 'count', inPort: 4 }, 0)).toMatchObject({
      terminal: false,
      direction: 'ingress',
      port: 4,
    });
  });
});

describe('ACL differential with count/log/egress rules', () => {
  it(
    'random sets on ingress- and egress-bound ports: verdicts, counters, hits, log records',
    { timeout: 600_000 },
    () => {
      const { dp, ref } = configuredPair(configureAclNet);
      for (const p of [0, 3, 100]) {
        dp.acl.bind(p);
        ref.bindAcl(p, true);
      }
      for (const p of [1, 2, 100]) {
        dp.acl.bind(p, true, 'egress');
        ref.bindAcl(p, true, 'egress');
      }
      const rand = prng(SEED ^ 0xe6e);
      const seen = new Set<string>();
      const logged = new Set<string>();
      let hitRules = 0;
      for (let round = 0; round < ROUNDS; round++) {
        if (round % 25 === 0) {
          if (round > 0) expect(dp.acl.counters()).toEqual(ref.aclCounters());
          hitRules = Math.max(hitRules, dp.acl.hits().rules.filter((h) => h > 0).length);
          const rules = Array.from({ length: 20 + randInt(rand, 200) }, () =>
            randomAclRule(rand, true),
          );
          // Now and then a log rule for everything, so that the ring overflows.
          if (round % 50 === 0) {
            const all: AclRule = { action: 'log' };
            rules.unshift(...new Array<AclRule>(12).fill(all), {
              action: 'log',
              direction: 'egress',
            });
          }
          const defaultAction = rand() < 0.5 ? 'permit' : 'deny';
          const egressDefaultAction = rand() < 0.5 ? 'permit' : 'deny';
          dp.acl.load(rules, { defaultAction, egressDefaultAction });
          ref.loadAcl(
            rules.map((r, i) => checkAclRule(r, i)),
            defaultAction === 'deny',
            egressDefaultAction === 'deny',
          );
        }
        const batch = randomAclBatch(rand, 7);
        const got = processBoth(dp, ref, batch, round, round);
        for (let i = 0; i < got.length; i++) {
          seen.add(got[i]!.drop ?? got[i]!.verdict);
        }
        // The host drains the ring every few batches, and later only rarely, so it fills up.
        if (round % (round < ROUNDS / 2 ? 9 : 100) === 0 || round === ROUNDS - 1) {
          const log = dp.acl.readLog();
          expect(log).toEqual(ref.readAclLog());
          for (const r of log) logged.add(`${r.direction} ${r.action}`);
          expect(dp.acl.logLost).toBe(ref.aclLogLostRecords);
        }
      }
      expect(dp.acl.counters()).toEqual(ref.aclCounters());
      expect(seen).toContain('acl-deny');
      expect(seen).toContain('acl-egress-deny');
      expect(seen).toContain('forward');
      expect([...logged].sort()).toEqual([
        'egress deny',
        'egress permit',
        'ingress deny',
        'ingress permit',
      ]);
      expect(dp.acl.logLost).toBeGreaterThan(0);
      expect(hitRules).toBeGreaterThan(10);
    },
  );
});
