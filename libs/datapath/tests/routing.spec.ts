import { describe, expect, it } from 'vitest';
import { createDatapath, type Datapath, type FrameIn } from '../src/index.js';
import { ReferenceDatapath } from '../src/reference/pipeline.js';
import { flowFrame, mutateFrame, prng, randInt, randomValidFrame } from './frames.js';
import { tunnelV4 } from './tunnels.js';
import { thrownField as field } from './errors.js';
import { configuredPair, processBoth } from './differ.js';

const SEED = Number(process.env.DATAPATH_FUZZ_SEED ?? 0);
const ROUNDS = Number(process.env.DATAPATH_DIFF_ROUNDS ?? 200);

const maskOf = (len: number) => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);
const ipText = (a: number) => `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;

function parsedRoutes(routes: Map<string, number>): { net: number; len: number; nh: number }[] {
  return [...routes].map(([prefix, nh]) => {
    const [a, l] = prefix.split('/');
    return {
      net: a!.split('.').reduce((x, o) => (x << 8) | Number(o), 0) >>> 0,
      len: Number(l),
      nh,
    };
  });
}

/** The deliberately naive oracle: scan every route, keep the longest match. */
function naiveLookupIn(
  routes: { net: number; len: number; nh: number }[],
  addr: number,
): number | null {
  let best: number | null = null;
  let bestLen = -1;
  for (const { net, len, nh } of routes) {
    if (len > bestLen && (addr & maskOf(len)) >>> 0 === net) {
      best = nh;
      bestLen = len;
    }
  }
  return best;
}

function randomPrefix(rand: () => number): string {
  const len = [0, 1, 8, 12, 15, 16, 17, 20, 23, 24, 25, 27, 30, 31, 32][randInt(rand, 15)]!;
  // Clustered in 10.0.0.0/14 so that prefixes nest and overlap often.
  const addr = ((0x0a000000 | (rand() * 0x3ffff) | (randInt(rand, 4) << 16)) & maskOf(len)) >>> 0;
  return `${ipText(addr)}/${len}`;
}

function randomAddress(rand: () => number): number {
  return rand() < 0.05
    ? Math.floor(rand() * 2 ** 32) >>> 0
    : (0x0a000000 | Math.floor(rand() * 0x3ffff)) >>> 0;
}

describe('IPv4 route tables', () => {
  for (const large of [false, true]) {
    it(`add/delete/lookup agree with a naive oracle (${large ? 'DIR-24-8' : '16-8-8'})`, () => {
      const dp = createDatapath({ batchSize: 16 });
      dp.routes.create(7, { large });
      const oracle = new Map<string, number>();
      const rand = prng(SEED ^ (large ? 0x1724 : 0x1688));
      for (let step = 0; step < 3000; step++) {
        if (rand() < 0.3 && oracle.size > 0) {
          const keys = [...oracle.keys()];
          const prefix = keys[randInt(rand, keys.length)]!;
          expect(dp.routes.delete(7, prefix)).toBe(true);
          oracle.delete(prefix);
        } else {
          const prefix = randomPrefix(rand);
          const nh = randInt(rand, 70000);
          dp.routes.add(7, prefix, nh);
          oracle.set(prefix, nh);
        }
        if (step % 100 === 0) {
          const addrs = Uint32Array.from({ length: 300 }, () => randomAddress(rand));
          const bulk = dp.routes.lookupBulk(7, addrs);
          const parsed = parsedRoutes(oracle);
          addrs.forEach((a, i) => {
            const want = naiveLookupIn(parsed, a);
            expect(dp.routes.lookup(7, a), `${ipText(a)} at step ${step}`).toBe(want);
            expect(bulk[i]).toBe(want ?? -1);
          });
        }
      }
      expect(dp.routes.size(7)).toBe(oracle.size);
      expect(new Map([...dp.routes.iterate(7)].map((r) => [r.prefix, r.nextHop]))).toEqual(oracle);
      expect(dp.routes.delete(7, '203.0.113.0/24')).toBe(false);
      // Deleting everything folds every group back: only the first level is left.
      for (const prefix of [...oracle.keys()]) dp.routes.delete(7, prefix);
      expect(dp.routes.memoryBytes(7)).toBe((large ? 2 ** 24 : 2 ** 16) * 4);
      expect(dp.routes.lookup(7, '10.0.0.1')).toBeNull();
    });
  }

  it('bulk load builds the same table as adding route by route, and reset/free empty it', () => {
    const dp = createDatapath({ batchSize: 16 });
    const rand = prng(SEED ^ 0xb01c);
    const routes = new Map<string, number>();
    while (routes.size < 5000) routes.set(randomPrefix(rand), randInt(rand, 1 << 20));
    const list = [...routes].map(([prefix, nextHop]) => ({ prefix, nextHop }));
    dp.routes.create(1, { large: true });
    dp.routes.load(1, list);
    dp.routes.create(2);
    for (const r of list) dp.routes.add(2, r.prefix, r.nextHop);
    // Packed form with a duplicate: the later one wins.
    dp.routes.create(3);
    const n = list.length + 1;
    const packed = {
      addrs: new Uint32Array(n),
      lengths: new Uint8Array(n),
      nextHops: new Uint32Array(n),
    };
    list.forEach((r, i) => {
      const [a, l] = r.prefix.split('/');
      packed.addrs[i] = a!.split('.').reduce((x, o) => (x << 8) | Number(o), 0) >>> 0;
      packed.lengths[i] = Number(l);
      packed.nextHops[i] = r.nextHop;
    });
    packed.addrs[n - 1] = packed.addrs[0]!;
    packed.lengths[n - 1] = packed.lengths[0]!;
    packed.nextHops[n - 1] = 4242;
    dp.routes.load(3, packed);
    expect(dp.routes.size(1)).toBe(routes.size);
    expect(dp.routes.size(3)).toBe(routes.size);
    const addrs = Uint32Array.from({ length: 5000 }, () => randomAddress(rand));
    const a = dp.routes.lookupBulk(1, addrs);
    const b = dp.routes.lookupBulk(2, addrs);
    const c = dp.routes.lookupBulk(3, addrs);
    let hits = 0;
    const parsed = parsedRoutes(routes);
    for (let i = 0; i < addrs.length; i++) {
      const want = naiveLookupIn(parsed, addrs[i]!) ?? -1;
      expect(a[i]).toBe(want);
      expect(b[i]).toBe(want);
      if (want !== -1) hits++;
      if (c[i] !== want) expect(c[i]).toBe(4242);
    }
    expect(hits).toBeGreaterThan(addrs.length / 2);
    // Loading again replaces the table.
    dp.routes.load(1, [{ prefix: '0.0.0.0/0', nextHop: 9 }]);
    expect(dp.routes.lookup(1, '10.0.0.1')).toBe(9);
    expect(dp.routes.size(1)).toBe(1);
    dp.routes.reset(2);
    expect(dp.routes.lookup(2, addrs[0]!)).toBeNull();
    expect(dp.routes.size(2)).toBe(0);
    dp.routes.free(2);
    expect(dp.routes.vrfs()).toEqual([1, 3]);
    expect(() => dp.routes.lookup(2, '10.0.0.1')).toThrow(/vrf/);
  });

  it('rejects bad input naming the field', () => {
    const dp = createDatapath({ batchSize: 16 });
    dp.routes.create(0);
    expect(field(() => dp.routes.add(0, '10.0.0.1/24', 1))).toBe('prefix');
    expect(field(() => dp.routes.add(0, '10.0.0.0/33', 1))).toBe('prefix');
    expect(field(() => dp.routes.add(0, '10.0.0/8', 1))).toBe('prefix');
    expect(field(() => dp.routes.add(0, '10.0.0.0/8', -1))).toBe('nextHop');
    expect(field(() => dp.routes.add(0, '10.0.0.0/8', 2 ** 24))).toBe('nextHop');
    expect(field(() => dp.routes.add(256, '10.0.0.0/8', 1))).toBe('vrf');
    expect(field(() => dp.routes.add(5, '10.0.0.0/8', 1))).toBe('vrf');
    expect(field(() => dp.routes.lookup(0, '10.0.0.256'))).toBe('addr');
    expect(
      field(() =>
        dp.routes.load(0, [
          { prefix: '1.0.0.0/8', nextHop: 1 },
          { prefix: 'x', nextHop: 1 },
        ]),
      ),
    ).toBe('routes[1].prefix');
    expect(
      field(() =>
        dp.nextHops.add(0, { port: 300, dstMac: '02:00:00:00:00:01', srcMac: '02:00:00:00:00:02' }),
      ),
    ).toBe('port');
    expect(
      field(() => dp.nextHops.add(0, { port: 1, dstMac: 'nope', srcMac: '02:00:00:00:00:02' })),
    ).toBe('dstMac');
    expect(field(() => dp.setPort(1, { vrf: 999 }))).toBe('vrf');
    // A failed load leaves the table as it was.
    dp.routes.add(0, '10.0.0.0/8', 3);
    expect(() => dp.routes.load(0, [{ prefix: '10.0.0.0/8', nextHop: 1 << 25 }])).toThrow();
    expect(dp.routes.lookup(0, '10.1.2.3')).toBe(3);
  });

  it('next-hop table verbs', () => {
    const dp = createDatapath({ batchSize: 16 });
    dp.nextHops.add(3, { port: 2, dstMac: '02:00:00:00:00:AA', srcMac: '02:00:00:00:00:bb' });
    dp.nextHops.add(65535, { blackhole: true });
    expect(dp.nextHops.size).toBe(2);
    expect(dp.nextHops.lookup(3)).toEqual({
      port: 2,
      dstMac: '02:00:00:00:00:aa',
      srcMac: '02:00:00:00:00:bb',
    });
    expect(dp.nextHops.lookupBulk([65535, 4])).toEqual([{ blackhole: true }, null]);
    expect([...dp.nextHops.iterate()].map((e) => e.id)).toEqual([3, 65535]);
    expect(dp.nextHops.delete(3)).toBe(true);
    expect(dp.nextHops.delete(3)).toBe(false);
    dp.nextHops.reset();
    expect(dp.nextHops.size).toBe(0);
  });
});

function ipv4HeaderOk(frame: Uint8Array, ip: number): boolean {
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (frame[ip + i]! << 8) | frame[ip + i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

function withTtl(frame: Uint8Array, ttl: number): Uint8Array {
  const f = frame.slice();
  f[14 + 8] = ttl;
  f[24] = 0;
  f[25] = 0;
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (f[14 + i]! << 8) | f[15 + i]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  f[24] = (~sum >> 8) & 0xff;
  f[25] = ~sum & 0xff;
  return f;
}

const ROUTER_MAC = '02:00:00:00:99:01';

/** An Ethernet/IPv4 ARP request from 02:00:00:00:00:77 / 10.200.0.1 for `target`. */
function arpRequest(target: string, vlans: number[] = []): Uint8Array {
  const arp = [
    ...[0, 1, 8, 0, 6, 4, 0, 1],
    ...[2, 0, 0, 0, 0, 0x77],
    ...[10, 200, 0, 1],
    ...[0, 0, 0, 0, 0, 0],
    ...target.split('.').map(Number),
  ];
  const tags = vlans.flatMap((v) => [0x81, 0x00, v >> 8, v & 0xff]);
  return Uint8Array.from([
    ...new Array<number>(6).fill(0xff),
    2,
    0,
    0,
    0,
    0,
    0x77,
    ...tags,
    0x08,
    0x06,
    ...arp,
  ]);
}

function configureRouting(t: Datapath | ReferenceDatapath): void {
  t.addBridge(1);
  t.setPort(0, { bridge: 1 });
  t.setPort(1, { bridge: 1 });
  t.setPort(2, { vrf: 1 });
  t.setPort(3, { vrf: 1, address: '10.99.0.1', mac: ROUTER_MAC });
  t.setPort(4, { vrf: 2 });
  t.setPort(5, { vrf: 3 }); // a VRF without a route table
  t.setPort(9, {});
  t.addVxlanTunnel(0, tunnelV4());
  const hops: [number, Parameters<Datapath['nextHops']['add']>[1]][] = [
    [0, { port: 2, dstMac: '02:00:00:00:00:20', srcMac: ROUTER_MAC }],
    [1, { port: 3, dstMac: '02:00:00:00:00:30', srcMac: ROUTER_MAC }],
    [2, { port: 4, dstMac: '02:00:00:00:00:40', srcMac: ROUTER_MAC }],
    [3, { blackhole: true }],
    [4, { port: 100, dstMac: '02:00:00:00:00:50', srcMac: ROUTER_MAC }],
    [5, { port: 0, dstMac: '02:00:00:00:00:01', srcMac: ROUTER_MAC }],
  ];
  const routes: [number, string, number][] = [
    [1, '10.0.0.0/8', 0],
    [1, '10.1.0.0/16', 1],
    [1, '10.1.2.0/24', 2],
    [1, '10.1.2.128/25', 3],
    [1, '10.1.2.200/32', 4],
    [1, '10.2.0.0/15', 5],
    [1, '10.3.3.0/24', 77], // next hop never set
    [2, '0.0.0.0/0', 1],
    [2, '10.9.0.0/16', 4],
  ];
  if (t instanceof ReferenceDatapath) {
    for (const [id, nh] of hops) t.router.setNextHop(id, nh);
    t.router.createVrf(1);
    t.router.createVrf(2);
    for (const [vrf, prefix, nh] of routes) {
      const [a, l] = prefix.split('/');
      t.router.addRoute(
        vrf,
        a!.split('.').reduce((x, o) => (x << 8) | Number(o), 0) >>> 0,
        Number(l),
        nh,
      );
    }
  } else {
    for (const [id, nh] of hops) t.nextHops.add(id, nh);
    t.routes.create(1);
    t.routes.create(2, { large: true });
    for (const [vrf, prefix, nh] of routes) t.routes.add(vrf, prefix, nh);
  }
}

describe('L3 stage', () => {
  it('answers ARP requests for a routed port address', () => {
    const dp = createDatapath({ batchSize: 16 });
    configureRouting(dp);
    const [reply, tagged, other, noMac] = dp.process(
      [
        { data: arpRequest('10.99.0.1'), port: 3 },
        { data: arpRequest('10.99.0.1', [7]), port: 3 },
        { data: arpRequest('10.99.0.9'), port: 3 },
        { data: arpRequest('10.99.0.1'), port: 2 },
      ],
      0,
    );
    expect(reply!.verdict).toBe('forward');
    expect(reply!.outPort).toBe(3);
    const hex = Buffer.from(reply!.frame).toString('hex');
    expect(hex).toBe(
      '020000000077' +
        '020000009901' +
        '0806' +
        '0001080006040002' +
        '020000009901' +
        '0a630001' +
        '020000000077' +
        '0ac80001',
    );
    expect(Buffer.from(tagged!.frame.subarray(12, 16)).toString('hex')).toBe('81000007');
    expect(tagged!.frame[18 + 7]).toBe(2);
    expect(other!.drop).toBe('not-routable');
    expect(noMac!.drop).toBe('not-routable');
  });

  it('answers an expired TTL with ICMP time exceeded from the port address', () => {
    const dp = createDatapath({ batchSize: 16 });
    configureRouting(dp);
    const original = withTtl(
      flowFrame({
        dstMac: ROUTER_MAC,
        srcMac: '02:00:00:00:00:77',
        src: '10.200.0.1',
        dst: '10.1.2.3',
        l4: { proto: 'udp', sport: 33434, dport: 33435, payload: [1, 2, 3, 4, 5, 6, 7, 8, 9] },
      }),
      1,
    );
    const icmpError = withTtl(
      flowFrame({ dstMac: ROUTER_MAC, dst: '10.1.2.3', l4: { proto: 'icmp', type: 11, code: 0 } }),
      1,
    );
    const [reply, onPort2, noReplyToError] = dp.process(
      [
        { data: original, port: 3 },
        { data: original, port: 2 }, // no address on port 2
        { data: icmpError, port: 3 },
      ],
      0,
    );
    expect(onPort2!.drop).toBe('ttl-exceeded');
    expect(noReplyToError!.drop).toBe('ttl-exceeded');
    expect(reply!.verdict).toBe('forward');
    expect(reply!.outPort).toBe(3);
    const r = reply!.frame;
    expect(Buffer.from(r.subarray(0, 12)).toString('hex')).toBe('020000000077020000009901');
    expect(ipv4HeaderOk(r, 14)).toBe(true);
    expect(Array.from(r.subarray(14 + 12, 14 + 20))).toEqual([10, 99, 0, 1, 10, 200, 0, 1]);
    expect([r[14 + 9], r[34], r[35]]).toEqual([1, 11, 0]);
    // The quote: the original IP header (TTL 1, as received) and 8 bytes of its payload.
    expect(Buffer.from(r.subarray(42)).toString('hex')).toBe(
      Buffer.from(original.subarray(14, 14 + 28)).toString('hex'),
    );
    let sum = 0;
    for (let i = 34; i < r.length; i += 2) sum += (r[i]! << 8) | (r[i + 1] ?? 0);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    expect(sum).toBe(0xffff);
    expect(dp.readTrace()).toEqual([]);
    expect(() => dp.setPort(7, { address: '10.0.0.1' })).toThrow(/address/);
  });

  it('routes, decrements the TTL with a valid checksum, rewrites MACs, drops with reasons', () => {
    const dp = createDatapath({ batchSize: 32 });
    configureRouting(dp);
    const frame = (dst: string, ttl = 64, port = 2) => ({
      data: withTtl(
        flowFrame({
          dstMac: ROUTER_MAC,
          src: '10.200.0.1',
          dst,
          l4: { proto: 'tcp', sport: 1000, dport: 80 },
        }),
        ttl,
      ),
      port,
    });
    const [a, b, c, bh, tun, ttl1, ttl0, miss, nhMissing, v6, noTable, dflt] = dp.process(
      [
        frame('10.5.5.5'),
        frame('10.1.9.9'),
        frame('10.1.2.3'),
        frame('10.1.2.129'),
        frame('10.1.2.200'),
        frame('10.1.2.3', 1),
        frame('10.1.2.3', 0),
        frame('11.0.0.1'),
        frame('10.3.3.3'),
        { data: flowFrame({ v6: true }), port: 2 },
        frame('10.1.2.3', 64, 5),
        frame('172.16.0.1', 64, 4),
      ],
      0,
    );
    expect([a, b, c].map((r) => r!.outPort)).toEqual([2, 3, 4]);
    for (const r of [a, b, c]) {
      expect(r!.verdict).toBe('forward');
      expect(r!.frame[14 + 8]).toBe(63);
      expect(ipv4HeaderOk(r!.frame, 14)).toBe(true);
      expect(Buffer.from(r!.frame.subarray(6, 12)).toString('hex')).toBe('020000009901');
    }
    expect(Buffer.from(c!.frame.subarray(0, 6)).toString('hex')).toBe('020000000040');
    expect(bh!.drop).toBe('blackhole');
    // A tunnel port as egress: encapsulated, leaves on the underlay port.
    expect(tun!.verdict).toBe('forward');
    expect(tun!.outPort).toBe(9);
    expect(tun!.frame.length).toBe(a!.frame.length + 50);
    expect(tun!.frame[50 + 14 + 8]).toBe(63);
    expect(ttl1!.drop).toBe('ttl-exceeded');
    expect(ttl0!.drop).toBe('ttl-exceeded');
    expect(miss!.drop).toBe('no-route');
    expect(nhMissing!.drop).toBe('next-hop-missing');
    // IPv6 goes on to l3v6 (tests/routing6.spec.ts); this VRF has no IPv6 table.
    expect(v6!.drop).toBe('no-route');
    expect(noTable!.drop).toBe('no-route');
    expect(dflt!.outPort).toBe(3);
    const counters = dp.counters();
    expect(counters.drops['ttl-exceeded']).toBe(2);
    expect(counters.ports[3]?.txPackets).toBe(2);
    // Every frame came in on a routed port: all reach L3, the IPv6 one is handed to l3v6.
    expect(dp.stageCounters()['l3']?.packets).toBe(12);
    expect(dp.stageCounters()['l3v6']?.packets).toBe(1);
  });

  it('the checksum update matches recomputation for every TTL and checksum', () => {
    const dp = createDatapath({ batchSize: 256 });
    configureRouting(dp);
    const rand = prng(SEED ^ 0xc5);
    const frames: FrameIn[] = [];
    for (let i = 0; i < 2048; i++) {
      // Random identification fields sweep the checksum through its whole range.
      const f = withTtl(flowFrame({ dstMac: ROUTER_MAC, dst: '10.1.9.9' }), 2 + randInt(rand, 254));
      f[18] = randInt(rand, 256);
      f[19] = randInt(rand, 256);
      frames.push({ data: withTtl(f, f[22]!), port: 2 });
    }
    const out = dp.process(frames, 0);
    out.forEach((r, i) => {
      expect(r.verdict).toBe('forward');
      expect(r.frame[22]).toBe(frames[i]!.data[22]! - 1);
      expect(ipv4HeaderOk(r.frame, 14), `frame ${i}`).toBe(true);
    });
  });

  it('trace shows the L3 decision', () => {
    const dp = createDatapath({ batchSize: 16 });
    configureRouting(dp);
    dp.startTrace(2);
    dp.process(
      [
        { data: flowFrame({ dstMac: ROUTER_MAC, dst: '10.1.2.3' }), port: 2 },
        { data: flowFrame({ dstMac: ROUTER_MAC, dst: '11.1.2.3' }), port: 2 },
      ],
      0,
    );
    const l3 = dp.readTrace().filter((r) => r.stage === 'l3');
    expect(l3.map((r) => r.detail)).toEqual(['dst 10.1.2.3 next-hop 2', 'dst 11.1.2.3 no route']);
    expect(l3[0]!.next).toBe('tx');
    expect(l3[1]!.drop).toBe('no-route');
  });
});

describe('differential: L3 against the reference', () => {
  it(
    'routed, bridged and malformed traffic with route changes: identical results',
    { timeout: 600_000 },
    () => {
      const { dp, ref } = configuredPair(configureRouting);
      const rand = prng(SEED ^ 0x13);
      const seen = new Set<string>();
      let icmpReplies = 0;
      let arpReplies = 0;
      const dsts = [
        '10.5.5.5',
        '10.1.9.9',
        '10.1.2.3',
        '10.1.2.129',
        '10.1.2.200',
        '10.3.3.3',
        '11.0.0.1',
        '10.2.0.1',
        '10.3.0.1',
      ];
      for (let round = 0; round < ROUNDS; round++) {
        if (round % 20 === 10) {
          // Route changes mid-run, applied to both.
          const len = [8, 16, 20, 24, 28, 32][randInt(rand, 6)]!;
          const addr = ((0x0a000000 | randInt(rand, 0x40000)) & maskOf(len)) >>> 0;
          const nh = randInt(rand, 7);
          if (rand() < 0.6) {
            dp.routes.add(1, `${ipText(addr)}/${len}`, nh);
            ref.router.addRoute(1, addr, len, nh);
          } else {
            const victim = [...dp.routes.iterate(1)][0];
            if (victim) {
              dp.routes.delete(1, victim.prefix);
              const [a, l] = victim.prefix.split('/');
              ref.router.deleteRoute(
                1,
                a!.split('.').reduce((x, o) => (x << 8) | Number(o), 0) >>> 0,
                Number(l),
              );
            }
          }
        }
        const batch: FrameIn[] = [];
        const size = 1 + randInt(rand, 100);
        for (let i = 0; i < size; i++) {
          const port = [0, 1, 2, 3, 4, 5][randInt(rand, 6)]!;
          const kind = randInt(rand, 10);
          let data: Uint8Array;
          if (kind < 6) {
            const dst =
              rand() < 0.8 ? dsts[randInt(rand, dsts.length)]! : ipText(randomAddress(rand));
            data = withTtl(
              flowFrame({
                dstMac: ROUTER_MAC,
                dst,
                l4: { proto: rand() < 0.5 ? 'udp' : 'tcp', sport: randInt(rand, 65536), dport: 53 },
              }),
              randInt(rand, 5) === 0 ? randInt(rand, 3) : 64,
            );
          } else if (kind < 7) {
            data = mutateFrame(
              rand,
              flowFrame({ dstMac: ROUTER_MAC, dst: dsts[randInt(rand, dsts.length)]! }),
            );
          } else if (kind < 8) {
            // ARP requests for the port address (answered on port 3) or another address.
            data = arpRequest(rand() < 0.7 ? '10.99.0.1' : '10.99.0.2', rand() < 0.2 ? [5] : []);
            if (rand() < 0.2) data = mutateFrame(rand, data);
          } else {
            data = randomValidFrame(rand);
          }
          batch.push({ data, port });
        }
        const got = processBoth(dp, ref, batch, round, round);
        for (let i = 0; i < got.length; i++) {
          seen.add(got[i]!.drop ?? got[i]!.verdict);
          // Routed back out of its ingress port: an ICMP time-exceeded reply.
          if (batch[i]!.port === 3 && got[i]!.outPort === 3) {
            const hex = got[i]!.frame;
            const type = hex.slice(24, 28) === '8100' ? hex.slice(32, 36) : hex.slice(24, 28);
            if (type === '0806') arpReplies++;
            else icmpReplies++;
          }
        }
      }
      for (const outcome of [
        'forward',
        'no-route',
        'ttl-exceeded',
        'blackhole',
        'next-hop-missing',
        'not-routable',
      ]) {
        expect(seen, outcome).toContain(outcome);
      }
      expect(icmpReplies).toBeGreaterThan(0);
      expect(arpReplies).toBeGreaterThan(0);
    },
  );
});
