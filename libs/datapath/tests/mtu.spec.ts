import { describe, expect, it } from 'vitest';
import { createDatapath, DatapathConfigError, type Datapath } from '../src/index.js';
import { ReferenceDatapath } from '../src/reference/pipeline.js';
import { ethernet, ipv4Packet, l4Bytes } from './frames.js';
import { tsharkDissect } from './gateway-frames.js';

const ROUTER_MAC = '02:00:00:00:99:99';
const SENDER_MAC = '02:00:00:00:00:21';

function configure(t: Datapath | ReferenceDatapath): void {
  t.addBridge(1);
  t.setPort(0, { bridge: 1 });
  t.setPort(2, { vrf: 1, address: '10.99.0.1', mac: ROUTER_MAC });
  t.setPort(3, { vrf: 1, mtu: 1000 });
  t.setPort(4, { vrf: 1 });
  t.setPort(8, {});
  t.setPort(9, { mtu: 1400 });
  const tunnel = (id: number, port: number, v6: boolean, underlayPort: number, mtu?: number) =>
    t.addVxlanTunnel(id, {
      port,
      bridge: 1,
      vni: 5000 + id,
      local: v6 ? 'fd00::1' : '192.168.0.1',
      remote: v6 ? `fd00::${id + 2}` : `192.168.0.${id + 2}`,
      localMac: '02:00:00:00:aa:01',
      remoteMac: '02:00:00:00:aa:02',
      underlayPort,
      ...(mtu === undefined ? {} : { mtu }),
    });
  tunnel(0, 100, false, 9);
  tunnel(1, 101, true, 8);
  tunnel(2, 102, false, 9, 600);
  const hops: [number, number][] = [
    [0, 3],
    [1, 100],
    [2, 101],
    [3, 102],
    [4, 2],
  ];
  const routes: [string, number][] = [
    ['10.3.0.0/16', 0],
    ['10.100.0.0/16', 1],
    ['10.101.0.0/16', 2],
    ['10.102.0.0/16', 3],
    ['10.2.0.0/16', 4],
  ];
  if (t instanceof ReferenceDatapath) {
    for (const [id, port] of hops)
      t.router.setNextHop(id, { port, dstMac: '02:00:00:00:00:30', srcMac: ROUTER_MAC });
    t.router.createVrf(1);
    for (const [prefix, nh] of routes) {
      const [a, l] = prefix.split('/');
      const addr = a!.split('.').reduce((x, o) => (x << 8) | Number(o), 0) >>> 0;
      t.router.addRoute(1, addr, Number(l), nh);
    }
  } else {
    for (const [id, port] of hops)
      t.nextHops.add(id, { port, dstMac: '02:00:00:00:00:30', srcMac: ROUTER_MAC });
    t.routes.create(1);
    for (const [prefix, nh] of routes) t.routes.add(1, prefix, nh);
  }
}

/** A UDP/IPv4 frame whose IP total length is `total`, DF set unless `df` is false. */
function sized(dst: string, total: number, df = true, dstMac = ROUTER_MAC): Uint8Array {
  const udp = l4Bytes({
    proto: 'udp',
    sport: 4000,
    dport: 5000,
    payload: new Array(total - 28).fill(0xab),
  });
  const ip = ipv4Packet('10.2.0.9', dst, udp.proto, udp.bytes, { fragment: df ? 0x4000 : 0 });
  return Uint8Array.from(ethernet(dstMac, SENDER_MAC, 0x0800, ip));
}

const hex = (r: { frame: Uint8Array }) => ({ ...r, frame: Buffer.from(r.frame).toString('hex') });

describe('MTU and fragmentation needed', () => {
  it('port MTUs, tunnel MTUs from the underlay (50/70 bytes overhead) or explicit', () => {
    const dp = createDatapath({ batchSize: 16 });
    const ref = new ReferenceDatapath(16);
    configure(dp);
    configure(ref);
    for (const [port, mtu] of [
      [3, 1000],
      [100, 1350],
      [101, 1430],
      [102, 600],
      [2, 1500],
      [7, 1500],
    ] as const) {
      expect(dp.egressMtu(port), `port ${port}`).toBe(mtu);
      expect(ref.egressMtu(port), `port ${port}`).toBe(mtu);
    }
    const field = (f: () => void) => {
      try {
        f();
      } catch (e) {
        if (e instanceof DatapathConfigError) return e.field;
        throw e;
      }
      return null;
    };
    expect(field(() => dp.setPort(5, { bridge: 1, mtu: 67 }))).toBe('mtu');
    expect(field(() => dp.setPort(5, { vrf: 1, mtu: 1.5 }))).toBe('mtu');
    expect(
      field(() =>
        dp.addVxlanTunnel(3, {
          port: 103,
          bridge: 1,
          vni: 1,
          local: '192.168.0.1',
          remote: '192.168.0.9',
          localMac: '02:00:00:00:aa:01',
          remoteMac: '02:00:00:00:aa:02',
          underlayPort: 9,
          mtu: 70_000,
        }),
      ),
    ).toBe('mtu');
    // Reconfiguring the underlay without an MTU brings the default back.
    dp.setPort(9, {});
    expect(dp.egressMtu(100)).toBe(1450);
  });

  it('answers DF packets too big for the egress with ICMP 3/4 and the next-hop MTU (tshark)', () => {
    const dp = createDatapath({ batchSize: 16 });
    const ref = new ReferenceDatapath(16);
    configure(dp);
    configure(ref);
    const frames = [
      { data: sized('10.3.0.1', 1001), port: 2 }, // physical egress, MTU 1000
      { data: sized('10.100.0.1', 1351), port: 2 }, // tunnel over IPv4: 1400 - 50
      { data: sized('10.101.0.1', 1431), port: 2 }, // tunnel over IPv6: 1500 - 70
      { data: sized('10.102.0.1', 601), port: 2 }, // explicit tunnel MTU
    ];
    dp.startTrace(frames.length);
    const out = dp.process(frames, 1);
    expect(out.map(hex)).toEqual(ref.process(frames, 1).map(hex));
    for (const r of out) {
      expect(r.verdict).toBe('forward');
      expect(r.outPort).toBe(2);
      expect(r.frame.length).toBe(14 + 20 + 8 + 28);
    }
    const l3 = dp.readTrace().filter((r) => r.stage === 'l3');
    expect(l3.map((r) => r.detail)).toEqual([
      'dst 10.3.0.1 icmp frag-needed',
      'dst 10.100.0.1 icmp frag-needed',
      'dst 10.101.0.1 icmp frag-needed',
      'dst 10.102.0.1 icmp frag-needed',
    ]);
    const fields = tsharkDissect(
      out.map((r) => r.frame),
      [
        'eth.src',
        'eth.dst',
        'ip.src',
        'ip.dst',
        'ip.len',
        'ip.ttl',
        'ip.flags.df',
        'ip.checksum.status',
        'icmp.type',
        'icmp.code',
        'icmp.checksum.status',
        'icmp.mtu',
        'udp.srcport',
        'udp.dstport',
      ],
    );
    const expected = (dst: string, total: number, mtu: number) => ({
      'eth.src': ROUTER_MAC,
      'eth.dst': SENDER_MAC,
      // Outer header, then the quoted one (TTL not decremented, DF set).
      'ip.src': `10.99.0.1|10.2.0.9`,
      'ip.dst': `10.2.0.9|${dst}`,
      'ip.len': `56|${total}`,
      'ip.ttl': '64|64',
      'ip.flags.df': '0|1',
      'ip.checksum.status': '1|1',
      'icmp.type': '3',
      'icmp.code': '4',
      'icmp.checksum.status': '1',
      'icmp.mtu': String(mtu),
      'udp.srcport': '4000',
      'udp.dstport': '5000',
    });
    expect(fields).toEqual([
      expected('10.3.0.1', 1001, 1000),
      expected('10.100.0.1', 1351, 1350),
      expected('10.101.0.1', 1431, 1430),
      expected('10.102.0.1', 601, 600),
    ]);
    // Both IP header checksums also verified here, independently of tshark.
    for (const r of out) {
      for (const at of [14, 42]) {
        let s = 0;
        for (let i = 0; i < 20; i += 2) s += (r.frame[at + i]! << 8) | r.frame[at + i + 1]!;
        while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
        expect(s, `ip header at ${at}`).toBe(0xffff);
      }
    }
    expect(dp.counters().drops).toEqual({});
  });

  it('forwards packets that fit exactly, drops DF-less ones mtu-exceeded, and others frag-needed', () => {
    const dp = createDatapath({ batchSize: 16 });
    const ref = new ReferenceDatapath(16);
    configure(dp);
    configure(ref);
    const icmpError = (() => {
      const icmp = l4Bytes({ proto: 'icmp', type: 3, code: 1, payload: new Array(1200).fill(0) });
      const ip = ipv4Packet('10.2.0.9', '10.3.0.1', 1, icmp.bytes, { fragment: 0x4000 });
      return Uint8Array.from(ethernet(ROUTER_MAC, SENDER_MAC, 0x0800, ip));
    })();
    const frames = [
      { data: sized('10.3.0.1', 1000), port: 2 },
      { data: sized('10.100.0.1', 1350), port: 2 },
      { data: sized('10.3.0.1', 1001, false), port: 2 },
      { data: sized('10.100.0.1', 1351, false), port: 2 },
      { data: sized('10.3.0.1', 1001), port: 4 }, // ingress port without an address
      { data: icmpError, port: 2 }, // never an ICMP error about an ICMP error
    ];
    const out = dp.process(frames, 1);
    expect(out.map(hex)).toEqual(ref.process(frames, 1).map(hex));
    expect(out.map((r) => r.drop ?? `${r.verdict} ${r.outPort}`)).toEqual([
      'forward 3',
      'forward 9',
      'mtu-exceeded',
      'mtu-exceeded',
      'frag-needed',
      'frag-needed',
    ]);
    // The encapsulated 1350-byte packet fills the 1400-byte underlay exactly.
    expect(out[1]!.frame.length - 14).toBe(1400);
    expect(dp.counters()).toEqual(ref.counters());
  });

  it('drops bridged frames that no longer fit a tunnel once encapsulated', () => {
    const dp = createDatapath({ batchSize: 16 });
    const ref = new ReferenceDatapath(16);
    configure(dp);
    configure(ref);
    dp.macTable.add(1, '02:00:00:00:00:64', 100, { static: true });
    ref.addMac(1, '02:00:00:00:00:64', 100, true);
    const frames = [
      { data: sized('10.9.9.9', 1350, true, '02:00:00:00:00:64'), port: 0 },
      { data: sized('10.9.9.9', 1351, true, '02:00:00:00:00:64'), port: 0 },
      // Flooded: the copy into tunnel 100 (1350) is dropped, those into 101 (1430) and 102
      // (600) follow their own MTU.
      { data: sized('10.9.9.9', 1400, true, 'ff:ff:ff:ff:ff:ff'), port: 0 },
    ];
    const out = dp.process(frames, 1);
    expect(out.map(hex)).toEqual(ref.process(frames, 1).map(hex));
    expect(out.map((r) => r.drop ?? r.verdict)).toEqual([
      'forward',
      'tunnel-mtu-exceeded',
      'flood',
    ]);
    expect(out[2]!.floodCopies.map((c) => c.port)).toEqual([101]);
    expect(dp.counters().drops['tunnel-mtu-exceeded']).toBe(3);
    expect(dp.counters()).toEqual(ref.counters());
  });
});
