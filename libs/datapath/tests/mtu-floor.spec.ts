// The core skips the per-port MTU lookups for packets within the smallest MTU any port may
// have (assembly/mtu.ts mtuFloor); these packets sit on each side of the real limits while
// port MTUs change, so a floor that is too high lets a too-big packet through.
import { describe, expect, it } from 'vitest';
import { createDatapath, type Datapath } from '../src/index.js';
import { ReferenceDatapath } from '../src/reference/pipeline.js';
import { ethernet, ipv4Packet, l4Bytes } from './frames.js';

const ROUTER_MAC = '02:00:00:00:99:99';

function configure(t: Datapath | ReferenceDatapath): void {
  t.addBridge(1);
  t.setPort(2, { vrf: 1, address: '10.99.0.1', mac: ROUTER_MAC });
  // A large MTU elsewhere must not raise the floor.
  t.setPort(5, { vrf: 1, mtu: 9000 });
  t.setPort(8, {});
  t.setPort(9, {});
  for (const [id, port, v6, under] of [
    [0, 100, false, 9],
    [1, 101, true, 8],
  ] as const)
    t.addVxlanTunnel(id, {
      port,
      bridge: 1,
      vni: 5000 + id,
      local: v6 ? 'fd00::1' : '192.168.0.1',
      remote: v6 ? 'fd00::2' : '192.168.0.2',
      localMac: '02:00:00:00:aa:01',
      remoteMac: '02:00:00:00:aa:02',
      underlayPort: under,
    });
  const hop = { dstMac: '02:00:00:00:00:30', srcMac: ROUTER_MAC };
  if (t instanceof ReferenceDatapath) {
    t.router.setNextHop(1, { port: 100, ...hop });
    t.router.setNextHop(2, { port: 101, ...hop });
    t.router.createVrf(1);
    t.router.addRoute(1, 0x0a640000, 16, 1);
    t.router.addRoute(1, 0x0a650000, 16, 2);
  } else {
    t.nextHops.add(1, { port: 100, ...hop });
    t.nextHops.add(2, { port: 101, ...hop });
    t.routes.create(1);
    t.routes.add(1, '10.100.0.0/16', 1);
    t.routes.add(1, '10.101.0.0/16', 2);
  }
}

/** A DF UDP/IPv4 frame to `dst` whose IP total length is `total`. */
function sized(dst: string, total: number): Uint8Array {
  const udp = l4Bytes({
    proto: 'udp',
    sport: 4000,
    dport: 5000,
    payload: Array(total - 28).fill(1),
  });
  const ip = ipv4Packet('10.2.0.9', dst, udp.proto, udp.bytes, { fragment: 0x4000 });
  return Uint8Array.from(ethernet(ROUTER_MAC, '02:00:00:00:00:21', 0x0800, ip));
}

describe('MTU floor', () => {
  it('packets around each tunnel limit, while the underlay MTUs change', () => {
    const dp = createDatapath({ batchSize: 32 });
    const ref = new ReferenceDatapath(32);
    configure(dp);
    configure(ref);
    const check = (limits: [string, number][]) => {
      const frames = limits.flatMap(([dst, mtu]) =>
        [mtu - 1, mtu, mtu + 1].map((total) => ({ data: sized(dst, total), port: 2 })),
      );
      const got = dp.process(frames, 1);
      const want = ref.process(frames, 1);
      const view = (r: (typeof got)[number]) => ({
        verdict: r.verdict,
        drop: r.drop,
        outPort: r.outPort,
        frame: Buffer.from(r.frame).toString('hex'),
      });
      expect(got.map(view)).toEqual(want.map(view));
      // Within the limit: encapsulated out of the underlay; one byte over: ICMP back to port 2.
      limits.forEach(([dst, mtu], i) => {
        const under = dst.startsWith('10.100.') ? 9 : 8;
        expect(
          got.slice(i * 3, i * 3 + 3).map((r) => r.outPort),
          `${dst} mtu ${mtu}`,
        ).toEqual([under, under, 2]);
      });
    };
    check([
      ['10.100.0.1', 1450],
      ['10.101.0.1', 1430],
    ]);
    dp.setPort(9, { mtu: 1200 });
    ref.setPort(9, { mtu: 1200 });
    check([
      ['10.100.0.1', 1150],
      ['10.101.0.1', 1430],
    ]);
    dp.setPort(8, { mtu: 1600 });
    ref.setPort(8, { mtu: 1600 });
    dp.setPort(9, {});
    ref.setPort(9, {});
    check([
      ['10.100.0.1', 1450],
      ['10.101.0.1', 1530],
    ]);
  });
});
