import { describe, expect, it } from 'vitest';
import { createDatapath, DatapathConfigError, type Datapath } from '../src/index.js';
import { bigIntToIpv6, ipv6Mask, ipv6ToBigInt, formatIpv6 } from '../src/routes6.js';
import { prng, randInt } from './frames.js';

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
    const field = (f: () => void) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(DatapathConfigError);
        return (e as DatapathConfigError).field;
      }
      throw new Error('no error');
    };
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
