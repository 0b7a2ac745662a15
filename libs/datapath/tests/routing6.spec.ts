import { describe, expect, it } from 'vitest';
import { createDatapath, type Datapath, type FrameIn, type PacketResult } from '../src/index.js';
import { ReferenceDatapath } from '../src/reference/pipeline.js';
import { bigIntToIpv6, ipv6Mask, ipv6ToBigInt, formatIpv6 } from '../src/routes6.js';
import {
  ethernet,
  flowFrame,
  ipv6,
  ipv6Packet,
  l4Bytes,
  mac,
  mutateFrame,
  prng,
  randInt,
  randomValidFrame,
  neighborSolicitation,
  solicitedNode,
  type NsSpec as FrameNsSpec,
} from './frames.js';
import { tsharkFrameColumns } from './tshark.js';
import { thrownField as field } from './errors.js';
import { configuredPair, processBoth } from './differ.js';

const SEED = Number(process.env.DATAPATH_FUZZ_SEED ?? 0);

/** The deliberately naive oracle: scan every route, keep the longest match. */
function naiveLookup6(routes: Map<string, number>, addr: bigint): number | null {
  let best: number | null = null;
  let bestLen = -1;
  for (const [prefix, nh] of routes) {
    const [a, l] = prefix.split('/');
    const len = Number(l);
    const net = ipv6ToBigInt(Uint8Array.from(ipaddrBytes(a!)));
    if (len > bestLen && (addr & ipv6Mask(len)) === net) {
      best = nh;
      bestLen = len;
    }
  }
  return best;
}

// Independent of the host's parser: expand "::" by hand.
function ipaddrBytes(text: string): number[] {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, null];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === null ? h : [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => {
    const v = parseInt(g, 16);
    return [v >> 8, v & 0xff];
  });
}

function randomBase(rand: () => number): bigint {
  let v = 0n;
  for (let i = 0; i < 4; i++) v = (v << 32n) | BigInt(Math.floor(rand() * 2 ** 32));
  return v;
}

/** Addresses near a few bases (a few flipped bits) so that prefixes nest at every depth. */
function nearAddress(rand: () => number, bases: bigint[]): bigint {
  let v = bases[randInt(rand, bases.length)]!;
  const flips = randInt(rand, 4);
  for (let i = 0; i < flips; i++) v ^= 1n << BigInt(randInt(rand, 128));
  return v;
}

function randomPrefix6(rand: () => number, bases: bigint[]): string {
  const lens = [0, 1, 7, 8, 15, 16, 17, 23, 24, 25, 31, 32, 33, 40, 44, 47, 48, 49, 56, 63, 64];
  const len =
    rand() < 0.75 ? lens[randInt(rand, lens.length)]! : [65, 96, 120, 127, 128][randInt(rand, 5)]!;
  const addr = nearAddress(rand, bases) & ipv6Mask(len);
  return `${formatIpv6(bigIntToIpv6(addr))}/${len}`;
}

function lookupAddresses(rand: () => number, bases: bigint[], n: number): bigint[] {
  return Array.from({ length: n }, () =>
    rand() < 0.05 ? randomBase(rand) : nearAddress(rand, bases),
  );
}

function checkAgainstOracle(
  dp: Datapath,
  vrf: number,
  routes: Map<string, number>,
  addrs: bigint[],
): void {
  const packed = new Uint8Array(addrs.length * 16);
  addrs.forEach((a, i) => packed.set(bigIntToIpv6(a), i * 16));
  const bulk = dp.routes6.lookupBulk(vrf, packed);
  addrs.forEach((a, i) => {
    const want = naiveLookup6(routes, a);
    expect(dp.routes6.lookup(vrf, bigIntToIpv6(a))).toBe(want);
    expect(bulk[i]).toBe(want ?? -1);
  });
}

describe('IPv6 route tables', () => {
  for (const large of [false, true]) {
    it(`add/delete/lookup agree with a naive oracle (${large ? '24' : '16'}-bit first level)`, () => {
      const dp = createDatapath({ batchSize: 64 });
      const rand = prng(SEED + (large ? 61 : 62));
      const bases = Array.from({ length: 6 }, () => randomBase(rand));
      dp.routes6.create(3, { large });
      const base = dp.routes6.memoryBytes(3);
      const routes = new Map<string, number>();
      for (let step = 0; step < 3000; step++) {
        if (routes.size > 0 && rand() < 0.4) {
          const keys = [...routes.keys()];
          const victim = keys[randInt(rand, keys.length)]!;
          expect(dp.routes6.delete(3, victim)).toBe(true);
          routes.delete(victim);
        } else {
          const prefix = randomPrefix6(rand, bases);
          const nh = randInt(rand, 65536);
          dp.routes6.add(3, prefix, nh);
          routes.set(prefix, nh);
        }
        if (step % 300 === 299)
          checkAgainstOracle(dp, 3, routes, lookupAddresses(rand, bases, 300));
      }
      expect(dp.routes6.size(3)).toBe(routes.size);
      checkAgainstOracle(dp, 3, routes, lookupAddresses(rand, bases, 1000));
      const listed = new Map([...dp.routes6.iterate(3)].map((r) => [r.prefix, r.nextHop]));
      expect(listed).toEqual(routes);
      // Deleting every route folds every group back: only the first level is left.
      for (const prefix of routes.keys()) expect(dp.routes6.delete(3, prefix)).toBe(true);
      expect(dp.routes6.size(3)).toBe(0);
      expect(dp.routes6.groups(3)).toBe(0);
      expect(dp.routes6.memoryBytes(3)).toBe(base);
      expect(dp.routes6.lookup(3, '::')).toBeNull();
      expect(dp.routes6.delete(3, '2001:db8::/32')).toBe(false);
    });
  }

  it('bulk load (list and packed, duplicates) equals route-by-route adds', () => {
    const rand = prng(SEED + 63);
    const bases = Array.from({ length: 5 }, () => randomBase(rand));
    const list = Array.from({ length: 2000 }, () => ({
      prefix: randomPrefix6(rand, bases),
      nextHop: randInt(rand, 65536),
    }));
    const a = createDatapath({ batchSize: 64 });
    a.routes6.create(0, { large: true });
    for (const r of list) a.routes6.add(0, r.prefix, r.nextHop);
    const b = createDatapath({ batchSize: 64 });
    b.routes6.create(0, { large: true });
    b.routes6.add(0, '::/0', 7); // replaced by the load
    b.routes6.load(0, list);
    const c = createDatapath({ batchSize: 64 });
    c.routes6.create(0);
    const addrs = new Uint8Array(list.length * 16);
    const lengths = new Uint8Array(list.length);
    const nextHops = new Uint32Array(list.length);
    list.forEach((r, i) => {
      const [t, l] = r.prefix.split('/');
      addrs.set(ipaddrBytes(t!), i * 16);
      lengths[i] = Number(l);
      nextHops[i] = r.nextHop;
    });
    c.routes6.load(0, { addrs, lengths, nextHops });
    const probes = lookupAddresses(rand, bases, 3000);
    const packed = new Uint8Array(probes.length * 16);
    probes.forEach((p, i) => packed.set(bigIntToIpv6(p), i * 16));
    const want = a.routes6.lookupBulk(0, packed);
    expect(b.routes6.lookupBulk(0, packed)).toEqual(want);
    expect(c.routes6.lookupBulk(0, packed)).toEqual(want);
    expect(b.routes6.size(0)).toBe(a.routes6.size(0));
    expect(c.routes6.size(0)).toBe(a.routes6.size(0));
    expect(b.routes6.groups(0)).toBe(a.routes6.groups(0));
    expect(new Map([...b.routes6.iterate(0)].map((r) => [r.prefix, r.nextHop]))).toEqual(
      new Map([...a.routes6.iterate(0)].map((r) => [r.prefix, r.nextHop])),
    );
    // A loaded table still takes adds and deletes.
    b.routes6.delete(0, list[0]!.prefix);
    a.routes6.delete(0, list[0]!.prefix);
    expect(b.routes6.lookupBulk(0, packed)).toEqual(a.routes6.lookupBulk(0, packed));
  });

  it('verbs: reset, free, vrfs, /0 and /128', () => {
    const dp = createDatapath({ batchSize: 64 });
    dp.routes6.create(1);
    dp.routes6.add(1, '::/0', 1);
    dp.routes6.add(1, '2001:db8::1/128', 2);
    dp.routes6.add(1, '2001:db8::/32', 3);
    expect(dp.routes6.lookup(1, '2001:db8::1')).toBe(2);
    expect(dp.routes6.lookup(1, '2001:db8::2')).toBe(3);
    expect(dp.routes6.lookup(1, '2001:db9::')).toBe(1);
    expect(dp.routes6.vrfs()).toEqual([1]);
    dp.routes6.reset(1);
    expect(dp.routes6.size(1)).toBe(0);
    expect(dp.routes6.lookup(1, '2001:db8::1')).toBeNull();
    dp.routes6.free(1);
    expect(dp.routes6.vrfs()).toEqual([]);
    expect(() => dp.routes6.lookup(1, '::1')).toThrow(/VRF 1 has no IPv6 route table/);
  });

  it('errors name the field', () => {
    const dp = createDatapath({ batchSize: 64 });
    dp.routes6.create(0);
    expect(field(() => dp.routes6.add(0, '2001:db8::1/32', 1))).toBe('prefix');
    expect(() => dp.routes6.add(0, '2001:db8::1/32', 1)).toThrow(/host bits set/);
    expect(() => dp.routes6.add(0, '2001:db8::/129', 1)).toThrow(/prefix length 129/);
    expect(field(() => dp.routes6.add(0, '10.0.0.0/8', 1))).toBe('prefix');
    expect(field(() => dp.routes6.add(0, '2001:db8::', 1))).toBe('prefix');
    expect(field(() => dp.routes6.add(0, '2001:db8::/32', 65536))).toBe('nextHop');
    expect(field(() => dp.routes6.add(256, '2001:db8::/32', 1))).toBe('vrf');
    expect(field(() => dp.routes6.lookup(0, 'fe80::1%eth0'))).toBe('addr');
    expect(field(() => dp.routes6.lookupBulk(0, new Uint8Array(15)))).toBe('addrs');
    expect(
      field(() =>
        dp.routes6.load(0, [
          { prefix: '::/0', nextHop: 1 },
          { prefix: 'x', nextHop: 1 },
        ]),
      ),
    ).toBe('routes[1].prefix');
    expect(
      field(() =>
        dp.routes6.load(0, {
          addrs: new Uint8Array(32).fill(1),
          lengths: Uint8Array.from([128, 64]),
          nextHops: Uint32Array.from([1, 2]),
        }),
      ),
    ).toBe('routes.addrs[1]');
    expect(
      field(() =>
        dp.routes6.load(0, {
          addrs: new Uint8Array(16),
          lengths: Uint8Array.from([130]),
          nextHops: Uint32Array.from([1]),
        }),
      ),
    ).toBe('routes.lengths[0]');
    // A failed load leaves the table as it was.
    dp.routes6.add(0, '2001:db8::/32', 5);
    expect(() => dp.routes6.load(0, [{ prefix: '::/0', nextHop: 70000 }])).toThrow(/nextHop/);
    expect(dp.routes6.lookup(0, '2001:db8::5')).toBe(5);
  });
});

const ROUTER_MAC = '02:00:00:00:fe:01';
const PEER_MAC = '02:00:00:00:00:aa';
const PORT_ADDR6 = '2001:db8:1::1';
const PEER_ADDR6 = '2001:db8:1::99';

/** Routed ports 1 (with addresses and MAC) and 2 in VRF 2; port 3 bridged. */
function configure6(dp: Datapath | ReferenceDatapath): void {
  dp.addBridge(1);
  dp.setPort(1, { vrf: 2, address6: PORT_ADDR6, address: '192.0.2.1', mac: ROUTER_MAC });
  dp.setPort(2, { vrf: 2 });
  dp.setPort(3, { bridge: 1 });
  dp.setPort(4, { vrf: 2, address6: '2001:db8:4::1' });
  const hops = [
    [5, { port: 2, dstMac: '02:00:00:00:00:05', srcMac: '02:00:00:00:fe:02' }],
    [6, { blackhole: true }],
    [8, { port: 1, dstMac: '02:00:00:00:00:08', srcMac: ROUTER_MAC }],
  ] as const;
  const routes: [string, number][] = [
    ['2001:db8:100::/40', 5],
    ['2001:db8:100:8000::/49', 8],
    ['2001:db8:200::/48', 6],
    ['2001:db8:300::/48', 7], // next hop 7 is not set
    ['2001:db8:1::/64', 8],
    ['2001:db8:100::77/128', 5],
  ];
  if (dp instanceof ReferenceDatapath) {
    for (const [id, nh] of hops) dp.router.setNextHop(id, nh);
    dp.router6.createVrf(2);
    for (const [prefix, nh] of routes) {
      const [a, l] = prefix.split('/');
      dp.router6.addRoute(2, Uint8Array.from(ipv6(a!)), Number(l), nh);
    }
    dp.router.createVrf(2);
    dp.router.addRoute(2, 0x0a000000, 8, 5);
  } else {
    for (const [id, nh] of hops) dp.nextHops.add(id, nh);
    dp.routes6.create(2);
    for (const [prefix, nh] of routes) dp.routes6.add(2, prefix, nh);
    dp.routes.create(2);
    dp.routes.add(2, '10.0.0.0/8', 5);
  }
}

function frame6(
  dst: string,
  o: { src?: string; hops?: number; l4?: Parameters<typeof l4Bytes>[0]; vlans?: number[] } = {},
): Uint8Array {
  const l4 = l4Bytes(o.l4 ?? { proto: 'udp', sport: 1000, dport: 53 }, true);
  const packet = ipv6Packet(o.src ?? PEER_ADDR6, dst, l4.proto, l4.bytes);
  packet[7] = o.hops ?? 64;
  return Uint8Array.from(ethernet(ROUTER_MAC, PEER_MAC, 0x86dd, packet, o.vlans));
}

/** Neighbor Solicitation options in this spec's terms (defaults: the peer asking for the port). */
type NsSpec = Omit<FrameNsSpec, 'target' | 'hopLimit' | 'slla'> & {
  target?: string;
  hops?: number;
  sourceLinkLayer?: boolean;
};

/** A Neighbor Solicitation (or another ND type) from the peer, checksum correct unless told. */
function nsFrame(o: NsSpec = {}): Uint8Array {
  const { hops, sourceLinkLayer, ...rest } = o;
  return neighborSolicitation({
    src: PEER_ADDR6,
    target: PORT_ADDR6,
    dst: solicitedNode(PORT_ADDR6),
    srcMac: PEER_MAC,
    dstMac: ROUTER_MAC,
    ...rest,
    hopLimit: hops ?? 255,
    slla: sourceLinkLayer !== false,
  });
}

/** tshark's view of each frame: the named fields (first occurrence), checksums verified. */
function tshark(frames: Uint8Array[], fields: string[]): string[][] {
  const rows = tsharkFrameColumns(frames, fields, {
    prefs: ['ipv6.defragment:FALSE'],
    occurrence: 'f',
  });
  expect(rows).toHaveLength(frames.length);
  return rows;
}

describe('l3v6 stage', () => {
  it('routes IPv6: LPM, hop limit decrement, MAC rewrite, drops with reasons', () => {
    const dp = createDatapath({ batchSize: 64 });
    configure6(dp);
    const cases: [Uint8Array, number, Partial<PacketResult>][] = [
      [frame6('2001:db8:100:1::5'), 1, { verdict: 'forward', outPort: 2 }],
      [frame6('2001:db8:100::77'), 1, { verdict: 'forward', outPort: 2 }],
      [frame6('2001:db8:100:8000::1'), 2, { verdict: 'forward', outPort: 1 }],
      [frame6('2001:db8:100:1::5', { vlans: [7] }), 1, { verdict: 'forward', outPort: 2 }],
      [frame6('2001:db8:999::1'), 1, { verdict: 'drop', drop: 'no-route' }],
      [frame6('2001:db8:200::1'), 1, { verdict: 'drop', drop: 'blackhole' }],
      [frame6('2001:db8:300::1'), 1, { verdict: 'drop', drop: 'next-hop-missing' }],
      [frame6('ff0e::1'), 1, { verdict: 'drop', drop: 'ipv6-multicast-dst' }],
      [frame6('fe80::1'), 1, { verdict: 'drop', drop: 'ipv6-link-local' }],
      [frame6('2001:db8:100::1', { src: 'fe80::2' }), 1, { drop: 'ipv6-link-local' }],
      [frame6('2001:db8:100::1', { src: '::' }), 1, { drop: 'ipv6-bad-address' }],
      [frame6('2001:db8:100::1', { src: 'ff02::1' }), 1, { drop: 'ipv6-bad-address' }],
      [frame6('::1'), 1, { drop: 'ipv6-bad-address' }],
      [frame6('2001:db8:100::1', { hops: 1 }), 2, { drop: 'hop-limit-exceeded' }],
      [frame6('2001:db8:100::1', { hops: 0 }), 2, { drop: 'hop-limit-exceeded' }],
      [frame6('2001:db8:100::1', { hops: 2 }), 2, { verdict: 'forward', outPort: 2 }],
      // Port 1 has an address: an ICMPv6 time exceeded goes back, except for ICMPv6 errors.
      [frame6('2001:db8:100::1', { hops: 1 }), 1, { verdict: 'forward', outPort: 1 }],
      [
        frame6('2001:db8:100::1', { hops: 1, l4: { proto: 'icmp', type: 1, code: 4 } }),
        1,
        { drop: 'hop-limit-exceeded' },
      ],
      [
        frame6('2001:db8:100::1', { hops: 1, l4: { proto: 'icmp', type: 128 } }),
        1,
        { verdict: 'forward', outPort: 1 },
      ],
      // IPv4 on the same routed port still goes through l3.
      [flowFrame({ dstMac: ROUTER_MAC, dst: '10.1.2.3' }), 1, { verdict: 'forward', outPort: 2 }],
      // Bridged IPv6 is not routed.
      [frame6('2001:db8:100::1'), 3, { verdict: 'flood' }],
    ];
    const out = dp.process(
      cases.map(([data, port]) => ({ data, port })),
      0,
    );
    cases.forEach(([data, , want], i) => {
      expect(out[i], `case ${i}`).toMatchObject(want);
      if (want.verdict === 'forward' && cases[i]![1] !== 3 && out[i]!.outPort !== cases[i]![1]) {
        const f = out[i]!.frame;
        expect(f.length).toBe(data.length);
        const ip = data[12] === 0x81 ? 18 : 14;
        if (data[ip - 2] === 0x86) {
          expect(f[ip + 7]).toBe(data[ip + 7]! - 1);
          expect(Buffer.from(f.subarray(ip + 8)).equals(Buffer.from(data.subarray(ip + 8)))).toBe(
            true,
          );
        }
        expect(Array.from(f.subarray(0, 12))).toEqual(
          out[i]!.outPort === 2
            ? [...mac('02:00:00:00:00:05'), ...mac('02:00:00:00:fe:02')]
            : [...mac('02:00:00:00:00:08'), ...mac(ROUTER_MAC)],
        );
      }
    });
    // A VRF without an IPv6 table finds no route.
    dp.setPort(9, { vrf: 9 });
    expect(dp.process([{ data: frame6('2001:db8:100::1'), port: 9 }], 0)[0]).toMatchObject({
      drop: 'no-route',
    });
    expect(dp.counters().drops['hop-limit-exceeded']).toBe(3);
  });

  it('ICMPv6 time exceeded: addresses, quote up to 1280 bytes, checksum (tshark)', () => {
    const dp = createDatapath({ batchSize: 64, frameCapacity: 2048 });
    configure6(dp);
    const payload = (n: number) => Array.from({ length: n }, (_, i) => i & 0xff);
    const inputs = [
      frame6('2001:db8:100::1', { hops: 1 }),
      frame6('2001:db8:100::1', { hops: 0, l4: { proto: 'tcp', sport: 5, dport: 6 } }),
      frame6('2001:db8:100::1', { hops: 1, l4: { proto: 'udp', payload: payload(1400) } }),
      frame6('2001:db8:100::1', { hops: 1, l4: { proto: 'udp', payload: payload(1185) } }),
      frame6('2001:db8:100::1', { hops: 1, vlans: [12] }),
    ];
    const out = dp.process(
      inputs.map((data) => ({ data, port: 1 })),
      0,
    );
    out.forEach((r, i) => {
      expect(r).toMatchObject({ verdict: 'forward', outPort: 1 });
      const data = inputs[i]!;
      const ip = data[12] === 0x81 ? 18 : 14;
      const packet = data.subarray(ip, ip + 40 + ((data[ip + 4]! << 8) | data[ip + 5]!));
      const quote = Math.min(packet.length, 1232);
      expect(r.frame.length).toBe(14 + 48 + quote);
      expect(r.frame.length).toBeLessThanOrEqual(14 + 1280);
      expect(Buffer.from(r.frame.subarray(62)).equals(Buffer.from(packet.subarray(0, quote)))).toBe(
        true,
      );
      expect(Array.from(r.frame.subarray(0, 12))).toEqual([...mac(PEER_MAC), ...mac(ROUTER_MAC)]);
    });
    const rows = tshark(
      out.map((r) => r.frame),
      [
        'eth.type',
        'ipv6.src',
        'ipv6.dst',
        'ipv6.hlim',
        'ipv6.plen',
        'icmpv6.type',
        'icmpv6.code',
        'icmpv6.checksum.status',
      ],
    );
    rows.forEach((row, i) => {
      expect(row).toEqual([
        '0x86dd',
        PORT_ADDR6,
        PEER_ADDR6,
        '64',
        String(out[i]!.frame.length - 54),
        '3',
        '0',
        '1',
      ]);
    });
  });

  it('answers Neighbor Solicitations for the port address with a Neighbor Advertisement (tshark)', () => {
    const dp = createDatapath({ batchSize: 64 });
    configure6(dp);
    const requests = [
      nsFrame(),
      nsFrame({ dst: PORT_ADDR6 }),
      nsFrame({ vlans: [30] }),
      nsFrame({ src: '::', sourceLinkLayer: false }),
      nsFrame({ options: [14, 1, 1, 2, 3, 4, 5, 6] }), // nonce option (RFC 7527)
    ];
    const out = dp.process(
      requests.map((data) => ({ data, port: 1 })),
      0,
    );
    for (const r of out) expect(r).toMatchObject({ verdict: 'forward', outPort: 1 });
    expect(out[2]!.frame.subarray(12, 16)).toEqual(Uint8Array.from([0x81, 0, 0, 30]));
    const rows = tshark(
      out.map((r) => r.frame),
      [
        'eth.dst',
        'eth.src',
        'ipv6.src',
        'ipv6.dst',
        'ipv6.hlim',
        'icmpv6.type',
        'icmpv6.code',
        'icmpv6.checksum.status',
        'icmpv6.nd.na.flag.r',
        'icmpv6.nd.na.flag.s',
        'icmpv6.nd.na.flag.o',
        'icmpv6.nd.na.target_address',
        'icmpv6.opt.type',
        'icmpv6.opt.linkaddr',
      ],
    );
    rows.forEach((row, i) => {
      const dad = i === 3;
      expect(row).toEqual([
        dad ? '33:33:00:00:00:01' : PEER_MAC,
        ROUTER_MAC,
        PORT_ADDR6,
        dad ? 'ff02::1' : PEER_ADDR6,
        '255',
        '136',
        '0',
        '1',
        '1',
        dad ? '0' : '1',
        '1',
        PORT_ADDR6,
        '2',
        ROUTER_MAC,
      ]);
    });
  });

  it('validates Neighbor Solicitations (RFC 4861 7.1.1) and forwards no ND message', () => {
    const dp = createDatapath({ batchSize: 64 });
    configure6(dp);
    const cases: [NsSpec, number, string][] = [
      [{ hops: 254 }, 1, 'nd-invalid'],
      [{ code: 1 }, 1, 'nd-invalid'],
      [{ badChecksum: true }, 1, 'nd-invalid'],
      [{ target: 'ff02::1' }, 1, 'nd-invalid'],
      [{ truncateTo: 20 }, 1, 'nd-invalid'],
      [{ options: [3, 0, 0, 0, 0, 0, 0, 0] }, 1, 'nd-invalid'], // zero-length option
      [{ options: [3, 2, 0, 0, 0, 0, 0, 0] }, 1, 'nd-invalid'], // runs past the message
      [{ src: '::' }, 1, 'nd-invalid'], // from :: with a source link-layer option
      [{ src: '::', sourceLinkLayer: false, dst: PORT_ADDR6 }, 1, 'nd-invalid'],
      [{ target: '2001:db8:1::2', dst: 'ff02::1:ff00:2' }, 1, 'nd-not-handled'],
      [{ dst: 'ff02::1:ff00:2' }, 1, 'nd-not-handled'], // someone else's solicited-node group
      [{}, 2, 'nd-not-handled'], // port without address or MAC
      [{ target: '2001:db8:4::1', dst: '2001:db8:4::1' }, 4, 'nd-not-handled'], // no MAC
      [{ type: 133, dst: 'ff02::2' }, 1, 'nd-not-handled'], // router solicitation
      [{ type: 136, dst: 'ff02::1' }, 1, 'nd-not-handled'], // advertisement
    ];
    const out = dp.process(
      cases.map(([spec, port]) => ({ data: nsFrame(spec), port })),
      0,
    );
    cases.forEach(([spec, , reason], i) =>
      expect(out[i], JSON.stringify(spec)).toMatchObject({ verdict: 'drop', drop: reason }),
    );
  });

  it('trace shows the l3 hand-over and each l3v6 decision', () => {
    const dp = createDatapath({ batchSize: 64 });
    configure6(dp);
    dp.startTrace(5);
    dp.process(
      [
        frame6('2001:db8:100::1'),
        frame6('2001:db8:999::1'),
        frame6('2001:db8:100::1', { hops: 1 }),
        nsFrame(),
        frame6('ff02::5'),
      ].map((data) => ({ data, port: 1 })),
      0,
    );
    const t = dp.readTrace();
    const l3 = t.filter((r) => r.stage === 'l3');
    expect(l3.map((r) => `${r.next} ${r.detail}`)).toEqual(new Array(5).fill('l3v6 ipv6 to l3v6'));
    expect(t.filter((r) => r.stage === 'l3v6').map((r) => `${r.next}: ${r.detail}`)).toEqual([
      'tx: dst 2001:db8:… next-hop 5',
      'drop: dst 2001:db8:… no route',
      'tx: dst 2001:db8:… icmpv6 time-exceeded',
      'tx: dst ff02:0:… neighbor advertisement',
      'drop: dst ff02:0:… not routed',
    ]);
    expect(dp.stageCounters().l3v6).toMatchObject({ vectors: 1, packets: 5, drops: 2 });
  });

  it('port options: errors name the field', () => {
    const dp = createDatapath({ batchSize: 64 });
    expect(field(() => dp.setPort(1, { address6: '2001:db8::1' }))).toBe('address6');
    expect(field(() => dp.setPort(1, { vrf: 1, address6: '10.0.0.1' }))).toBe('address6');
    expect(field(() => dp.setPort(1, { vrf: 1, address6: 'ff02::1' }))).toBe('address6');
    expect(field(() => dp.setPort(1, { vrf: 1, address6: '::' }))).toBe('address6');
    // Re-configuring the port removes its IPv6 address: no more replies.
    configure6(dp);
    dp.setPort(1, { vrf: 2, mac: ROUTER_MAC });
    expect(dp.process([{ data: nsFrame(), port: 1 }], 0)[0]?.drop).toBe('nd-not-handled');
  });
});

const ROUNDS = Number(process.env.DATAPATH_DIFF_ROUNDS ?? 200);

describe('differential: l3v6 against the reference', () => {
  it(
    'routed IPv6 and IPv4, bridged, ND, malformed and random traffic with route changes',
    { timeout: 600_000 },
    () => {
      const { dp, ref } = configuredPair(configure6);
      // Small MTUs on ports 1 and 2: some packets routed there get packet too big (or are
      // dropped: port 2 has no IPv6 address to answer from).
      for (const t of [dp, ref]) {
        t.setPort(1, {
          vrf: 2,
          address6: PORT_ADDR6,
          address: '192.0.2.1',
          mac: ROUTER_MAC,
          mtu: 1300,
        });
        t.setPort(2, { vrf: 2, mtu: 1280 });
      }
      const rand = prng(SEED ^ 0x66);
      const seen = new Set<string>();
      let replies = 0;
      let tooBigReplies = 0;
      const dsts = [
        '2001:db8:100::1',
        '2001:db8:100::77',
        '2001:db8:100:8000::9',
        '2001:db8:200::1',
        '2001:db8:300::1',
        '2001:db8:1::5',
        '2001:db8:abcd::1',
        'ff05::2',
        'fe80::1',
        '::1',
      ];
      const randomDst = () =>
        formatIpv6(
          bigIntToIpv6(
            (ipv6ToBigInt(Uint8Array.from(ipv6('2001:db8::'))) |
              (BigInt(randInt(rand, 1 << 20)) << 88n) |
              BigInt(randInt(rand, 1 << 30))) &
              ((1n << 128n) - 1n),
          ),
        );
      for (let round = 0; round < ROUNDS; round++) {
        if (round % 5 === 2) {
          // Route changes between batches, applied to both.
          const len = [0, 16, 32, 36, 40, 44, 48, 56, 64, 96, 127, 128][randInt(rand, 12)]!;
          const addr = ipv6ToBigInt(Uint8Array.from(ipv6(randomDst()))) & ipv6Mask(len);
          const bytes = bigIntToIpv6(addr);
          const nh = [5, 6, 7, 8][randInt(rand, 4)]!;
          if (rand() < 0.6) {
            dp.routes6.add(2, `${formatIpv6(bytes)}/${len}`, nh);
            ref.router6.addRoute(2, bytes, len, nh);
          } else {
            const all = [...dp.routes6.iterate(2)];
            const victim = all[randInt(rand, all.length)];
            if (victim) {
              dp.routes6.delete(2, victim.prefix);
              const [a, l] = victim.prefix.split('/');
              ref.router6.deleteRoute(2, Uint8Array.from(ipv6(a!)), Number(l));
            }
          }
        }
        const batch: FrameIn[] = [];
        const size = 1 + randInt(rand, 64);
        for (let i = 0; i < size; i++) {
          const port = [1, 1, 1, 2, 3, 4, 5][randInt(rand, 7)]!;
          const kind = randInt(rand, 12);
          let data: Uint8Array;
          if (kind < 5) {
            const dst = rand() < 0.7 ? dsts[randInt(rand, dsts.length)]! : randomDst();
            const l4 = [
              { proto: 'udp' as const, sport: randInt(rand, 65536), dport: 53 },
              { proto: 'tcp' as const, sport: randInt(rand, 65536), dport: 443 },
              { proto: 'icmp' as const, type: [1, 3, 128, 129][randInt(rand, 4)]! },
            ][randInt(rand, 3)]!;
            if (rand() < 0.2)
              Object.assign(l4, { payload: new Array(1180 + randInt(rand, 200)).fill(3) });
            data = frame6(dst, {
              hops: randInt(rand, 4) === 0 ? randInt(rand, 3) : 64,
              l4,
              vlans: rand() < 0.1 ? [9] : [],
              src: rand() < 0.05 ? ['::', 'fe80::1', 'ff02::1'][randInt(rand, 3)]! : PEER_ADDR6,
            });
          } else if (kind < 7) {
            const spec: NsSpec = [
              {},
              { dst: PORT_ADDR6 },
              { src: '::', sourceLinkLayer: false },
              { hops: 254 },
              { target: '2001:db8:1::2' },
              { type: 134, dst: 'ff02::1' },
              { vlans: [4] },
            ][randInt(rand, 7)]!;
            data = nsFrame(spec);
            if (rand() < 0.3) data = mutateFrame(rand, data);
          } else if (kind < 8) {
            data = mutateFrame(rand, frame6(dsts[randInt(rand, dsts.length)]!));
          } else if (kind < 9) {
            data = flowFrame({ dstMac: ROUTER_MAC, dst: `10.${randInt(rand, 3)}.0.1` });
          } else {
            data = randomValidFrame(rand);
          }
          batch.push({ data, port });
        }
        const got = processBoth(dp, ref, batch, round, round);
        for (let i = 0; i < got.length; i++) {
          seen.add(got[i]!.drop ?? got[i]!.verdict);
          if (got[i]!.outPort !== null && got[i]!.outPort === batch[i]!.port) replies++;
          // ICMPv6 (next header at byte 20) type 2 (byte 54) generated back: packet too big.
          if (got[i]!.frame.slice(40, 42) === '3a' && got[i]!.frame.slice(108, 110) === '02')
            tooBigReplies++;
        }
      }
      for (const outcome of [
        'forward',
        'no-route',
        'blackhole',
        'next-hop-missing',
        'hop-limit-exceeded',
        'ipv6-multicast-dst',
        'ipv6-link-local',
        'ipv6-bad-address',
        'nd-invalid',
        'nd-not-handled',
        'packet-too-big',
      ]) {
        expect(seen, outcome).toContain(outcome);
      }
      expect(replies).toBeGreaterThan(0);
      expect(tooBigReplies).toBeGreaterThan(0);
      // The tables agree too.
      const probes = Array.from({ length: 500 }, () => Uint8Array.from(ipv6(randomDst())));
      for (const a of probes) expect(dp.routes6.lookup(2, a)).toBe(ref.router6.lookup(2, a));
    },
  );
});
