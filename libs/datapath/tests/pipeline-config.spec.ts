import { describe, expect, it } from 'vitest';
import {
  applyPipelineConfig,
  createDatapath,
  DatapathConfigError,
  parsePipelineConfig,
} from '../src/index.js';
import { flowFrame } from './frames.js';

const config = `
bridges: [{ id: 1 }]
vrfs: [{ id: 2 }]
nextHops:
  - { id: 0, port: 5, dstMac: '02:00:00:00:00:50', srcMac: '02:00:00:00:00:51' }
  - { id: 1, blackhole: true }
routes:
  - { vrf: 2, prefix: 10.0.0.0/8, nextHop: 0 }
  - { vrf: 2, prefix: 10.66.0.0/16, nextHop: 1 }
policers: [{ id: 0, rateBytesPerSec: 1000, burstBytes: 130 }]
acl:
  defaultAction: permit
  rules:
    - { action: deny, proto: 17, dport: 53 }
ports:
  - { port: 0, bridge: 1 }
  - { port: 1, bridge: 1, policer: 0 }
  - { port: 4, vrf: 2, address: 10.255.0.1, acl: true }
  - { port: 5, vrf: 2 }
`;

describe('pipeline configuration', () => {
  it('turns on connection tracking for permit-stateful rules', () => {
    const dp = createDatapath({ batchSize: 16 });
    applyPipelineConfig(
      dp,
      parsePipelineConfig(`
bridges: [{ id: 1 }]
acl: { defaultAction: deny, rules: [{ action: permit-stateful, inPort: 0 }] }
conntrack: { capacity: 64, timeouts: { udpUnreplied: 5 } }
ports: [{ port: 0, bridge: 1, acl: true }, { port: 1, bridge: 1, acl: true }]
`),
    );
    const a = { srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02' };
    const b = { srcMac: '02:00:00:00:00:02', dstMac: '02:00:00:00:00:01' };
    const there = flowFrame({
      ...a,
      src: '10.0.0.1',
      dst: '10.0.0.2',
      l4: { proto: 'udp', sport: 7, dport: 8 },
    });
    const back = flowFrame({
      ...b,
      src: '10.0.0.2',
      dst: '10.0.0.1',
      l4: { proto: 'udp', sport: 8, dport: 7 },
    });
    expect(dp.process([{ data: back, port: 1 }], 0)[0]!.drop).toBe('acl-deny');
    expect(dp.process([{ data: there, port: 0 }], 0)[0]!.verdict).toBe('flood');
    expect(dp.process([{ data: back, port: 1 }], 10)[0]!.verdict).toBe('forward');
    expect(dp.conntrack.timeouts.udpUnreplied).toBe(5);
    expect(() =>
      applyPipelineConfig(
        createDatapath({ batchSize: 16 }),
        parsePipelineConfig('conntrack: { capacity: 8, timeouts: { tcpBogus: 1 } }'),
      ),
    ).toThrow(/conntrack\.timeouts\.tcpBogus/);
  });

  it('programs routes, next hops, policers, the ACL and routed ports', () => {
    const dp = createDatapath({ batchSize: 16 });
    applyPipelineConfig(dp, parsePipelineConfig(config));
    const udp = (dst: string, dport: number) =>
      flowFrame({ dst, l4: { proto: 'udp', sport: 999, dport } });
    const out = dp.process(
      [
        { data: udp('10.1.1.1', 80), port: 4 },
        { data: udp('10.66.1.1', 80), port: 4 },
        { data: udp('10.1.1.1', 53), port: 4 },
        { data: udp('10.1.1.1', 53), port: 5 }, // not bound to the ACL
        { data: udp('10.1.1.1', 80), port: 1 },
        { data: udp('10.1.1.1', 80), port: 1 },
        { data: udp('10.1.1.1', 80), port: 1 },
        { data: udp('10.1.1.1', 80), port: 1 },
      ],
      0,
    );
    expect(out.map((r) => r.drop ?? `${r.verdict}:${r.outPort ?? ''}`)).toEqual([
      'forward:5',
      'blackhole',
      'acl-deny',
      'forward:5',
      'flood:',
      'flood:',
      'flood:',
      'policer',
    ]);
  });

  it('programs IPv6 routes and port addresses', () => {
    const dp = createDatapath({ batchSize: 16 });
    applyPipelineConfig(
      dp,
      parsePipelineConfig(`
vrfs: [{ id: 3 }]
nextHops: [{ id: 4, port: 6, dstMac: '02:00:00:00:00:60', srcMac: '02:00:00:00:00:61' }]
routes: [{ vrf: 3, prefix: '2001:db8:5::/48', nextHop: 4 }]
ports:
  - { port: 2, vrf: 3, address6: '2001:db8:2::1', mac: '02:00:00:00:00:22' }
  - { port: 6, vrf: 3 }
`),
    );
    const v6 = (dst: string) => flowFrame({ v6: true, dst, dstMac: '02:00:00:00:00:22' });
    const out = dp.process(
      [
        { data: v6('2001:db8:5::1'), port: 2 },
        { data: v6('2001:db8:6::1'), port: 2 },
      ],
      0,
    );
    expect(out.map((r) => r.drop ?? `${r.verdict}:${r.outPort ?? ''}`)).toEqual([
      'forward:6',
      'no-route',
    ]);
    expect(dp.routes6.size(3)).toBe(1);
  });

  it('names the offending field', () => {
    const field = (text: string) => {
      try {
        applyPipelineConfig(createDatapath({ batchSize: 16 }), parsePipelineConfig(text));
      } catch (err) {
        expect(err).toBeInstanceOf(DatapathConfigError);
        return (err as DatapathConfigError).field;
      }
      throw new Error('did not throw');
    };
    expect(field('vrfs: [{ id: 1 }]\nroutes: [{ vrf: 1, prefix: 10.0.0.1/8, nextHop: 0 }]')).toBe(
      'routes.0.prefix',
    );
    expect(field('routes: [{ vrf: 1, prefix: 10.0.0.0/8, nextHop: -1 }]')).toBe('routes.0.nextHop');
    expect(field('acl: { rules: [{ action: allow }] }')).toBe('acl.rules[0].action');
    expect(field('acl: { rules: [{ action: log, direction: out }] }')).toBe(
      'acl.rules[0].direction',
    );
    expect(field('ports: [{ port: 1, address: 10.0.0.1 }]')).toBe('ports.0.address');
    expect(field('ports: [{ port: 1, policer: 3 }]')).toBe('ports.0.id');
    expect(
      field("vrfs: [{ id: 1 }]\nroutes: [{ vrf: 1, prefix: '2001:db8::1/32', nextHop: 0 }]"),
    ).toBe('routes.0.prefix');
    expect(field("ports: [{ port: 1, vrf: 1, address6: 'x' }]")).toBe('ports.0.address6');
  });
});
