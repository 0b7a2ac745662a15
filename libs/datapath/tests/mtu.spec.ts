import { describe, expect, it } from 'vitest';
import type { Datapath } from '../src/index.js';
import { ReferenceDatapath } from '../src/reference/pipeline.js';
import { ethernet, ipv4Packet, ipv6, ipv6Packet, l4Bytes, mac } from './frames.js';
import { tsharkDissect } from './gateway-frames.js';
import { configErrorField as field } from './errors.js';
import { configuredPair } from './differ.js';

const ROUTER_MAC = '02:00:00:00:99:99';
const SENDER_MAC = '02:00:00:00:00:21';
const PORT_ADDR6 = '2001:db8:99::1';
const SENDER6 = '2001:db8:2::9';

function configure(t: Datapath | ReferenceDatapath): void {
  t.addBridge(1);
  t.setPort(0, { bridge: 1 });
  t.setPort(2, { vrf: 1, address: '10.99.0.1', address6: PORT_ADDR6, mac: ROUTER_MAC });
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
  // The same next hops for IPv6.
  const routes6: [string, number][] = [
    ['2001:db8:3::/48', 0],
    ['2001:db8:100::/48', 1],
    ['2001:db8:101::/48', 2],
    ['2001:db8:102::/48', 3],
    ['2001:db8:2::/48', 4],
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
    t.router6.createVrf(1);
    for (const [prefix, nh] of routes6) {
      const [a, l] = prefix.split('/');
      t.router6.addRoute(1, Uint8Array.from(ipv6(a!)), Number(l), nh);
    }
  } else {
    for (const [id, port] of hops)
      t.nextHops.add(id, { port, dstMac: '02:00:00:00:00:30', srcMac: ROUTER_MAC });
    t.routes.create(1);
    for (const [prefix, nh] of routes) t.routes.add(1, prefix, nh);
    t.routes6.create(1);
    for (const [prefix, nh] of routes6) t.routes6.add(1, prefix, nh);
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
    const { dp, ref } = configuredPair(configure, 16);
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
    const { dp, ref } = configuredPair(configure, 16);
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
    const { dp, ref } = configuredPair(configure, 16);
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
    const { dp, ref } = configuredPair(configure, 16);
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

/** A UDP/IPv6 frame (or ICMPv6 of `icmpType`) whose IPv6 length (40 + payload) is `length`. */
function sized6(dst: string, length: number, o: { icmpType?: number; hops?: number } = {}) {
  const l4 =
    o.icmpType === undefined
      ? l4Bytes(
          {
            proto: 'udp',
            sport: 4000,
            dport: 5000,
            payload: Array.from({ length: length - 48 }, (_, i) => i & 0xff),
          },
          true,
        )
      : l4Bytes(
          { proto: 'icmp', type: o.icmpType, payload: new Array<number>(length - 48).fill(7) },
          true,
        );
  const packet = ipv6Packet(SENDER6, dst, l4.proto, l4.bytes);
  packet[7] = o.hops ?? 64;
  return Uint8Array.from(ethernet(ROUTER_MAC, SENDER_MAC, 0x86dd, packet));
}

describe('IPv6 packet too big (RFC 4443 3.2)', () => {
  it('answers packets too big for the egress with ICMPv6 2/0, the MTU and the quote (tshark)', () => {
    const { dp, ref } = configuredPair(configure, 16);
    const frames = [
      { data: sized6('2001:db8:3::1', 1001), port: 2 }, // physical egress, MTU 1000
      { data: sized6('2001:db8:100::1', 1351), port: 2 }, // tunnel over IPv4: 1400 - 50
      { data: sized6('2001:db8:101::1', 1431), port: 2 }, // tunnel over IPv6: 1500 - 70
      { data: sized6('2001:db8:102::1', 601), port: 2 }, // explicit tunnel MTU
      { data: sized6('2001:db8:3::1', 1500, { icmpType: 128 }), port: 2 }, // echo: quote cut
    ];
    dp.startTrace(frames.length);
    const out = dp.process(frames, 1);
    expect(out.map(hex)).toEqual(ref.process(frames, 1).map(hex));
    out.forEach((r, i) => {
      expect(r, `frame ${i}`).toMatchObject({ verdict: 'forward', outPort: 2 });
      // As much of the invoking packet as fits in 1280 bytes, unchanged (hop limit kept).
      const packet = frames[i]!.data.subarray(14);
      const quote = Math.min(packet.length, 1280 - 48);
      expect(r.frame.length).toBe(14 + 48 + quote);
      expect(Buffer.from(r.frame.subarray(62)).equals(Buffer.from(packet.subarray(0, quote)))).toBe(
        true,
      );
      expect(Array.from(r.frame.subarray(0, 12))).toEqual([...mac(SENDER_MAC), ...mac(ROUTER_MAC)]);
    });
    const l3v6 = dp.readTrace().filter((r) => r.stage === 'l3v6');
    expect(l3v6.map((r) => r.detail)).toEqual(
      new Array<string>(5).fill('dst 2001:db8:… icmpv6 packet-too-big'),
    );
    const fields = tsharkDissect(
      out.map((r) => r.frame),
      [
        'eth.type',
        'ipv6.src',
        'ipv6.dst',
        'ipv6.plen',
        'ipv6.hlim',
        'icmpv6.type',
        'icmpv6.code',
        'icmpv6.checksum.status',
        'icmpv6.mtu',
        'udp.srcport',
      ],
    );
    const expected = (dst: string, length: number, mtu: number, udp = true) => ({
      'eth.type': '0x86dd',
      // Outer header, then the quoted one.
      'ipv6.src': `${PORT_ADDR6}|${SENDER6}`,
      'ipv6.dst': `${SENDER6}|${dst}`,
      'ipv6.plen': `${8 + Math.min(length, 1232)}|${length - 40}`,
      'ipv6.hlim': '64|64',
      'icmpv6.type': udp ? '2' : '2|128',
      'icmpv6.code': udp ? '0' : '0|0',
      // The cut quote of an ICMPv6 packet cannot be verified (2); the message itself is good.
      'icmpv6.checksum.status': udp ? '1' : '1|2',
      'icmpv6.mtu': String(mtu),
      'udp.srcport': udp ? '4000' : '',
    });
    expect(fields).toEqual([
      expected('2001:db8:3::1', 1001, 1000),
      expected('2001:db8:100::1', 1351, 1350),
      expected('2001:db8:101::1', 1431, 1430),
      expected('2001:db8:102::1', 601, 600),
      expected('2001:db8:3::1', 1500, 1000, false),
    ]);
    expect(dp.counters().drops).toEqual({});
  });

  it('forwards packets that fit exactly; drops the rest packet-too-big when no error may go', () => {
    const { dp, ref } = configuredPair(configure, 16);
    const frames = [
      { data: sized6('2001:db8:3::1', 1000), port: 2 }, // fits exactly
      { data: sized6('2001:db8:100::1', 1350), port: 2 },
      { data: sized6('2001:db8:101::1', 1430), port: 2 },
      { data: sized6('2001:db8:102::1', 600), port: 2 },
      { data: sized6('2001:db8:2::1', 1500), port: 2 }, // back out of port 2 (MTU 1500)
      { data: sized6('2001:db8:3::1', 1001), port: 4 }, // ingress without address6
      { data: sized6('2001:db8:3::1', 1001, { icmpType: 1 }), port: 2 }, // an ICMPv6 error
      { data: sized6('2001:db8:3::1', 1001, { hops: 1 }), port: 2 }, // hop limit goes first
    ];
    const out = dp.process(frames, 1);
    expect(out.map(hex)).toEqual(ref.process(frames, 1).map(hex));
    expect(out.map((r) => r.drop ?? `port ${r.outPort}`)).toEqual([
      'port 3',
      // Tunnel ports: encapsulated out of their underlay port.
      'port 9',
      'port 8',
      'port 9',
      'port 2',
      'packet-too-big',
      'packet-too-big',
      'port 2',
    ]);
    // The time-exceeded answer, not packet too big, for the last one.
    expect(out[7]!.frame[54]).toBe(3);
    expect(dp.counters().drops).toEqual({ 'packet-too-big': 2 });
    expect(ref.counters().drops).toEqual({ 'packet-too-big': 2 });
  });

  it('MTU changes after traffic take effect at once, lowered or raised (IPv6 and IPv4)', () => {
    const { dp, ref } = configuredPair(configure, 16);
    const frames = [
      { data: sized6('2001:db8:2::1', 700), port: 2 }, // back out of port 2
      { data: sized('10.2.0.1', 700), port: 2 },
    ];
    const outcome = (t: Datapath | ReferenceDatapath) =>
      t
        .process(frames, 1)
        .map((r, i) => r.drop ?? (r.frame.length === frames[i]!.data.length ? 'forward' : 'icmp'));
    for (const [mtu, want] of [
      [undefined, ['forward', 'forward']],
      [600, ['icmp', 'icmp']], // below every MTU the core had seen
      [700, ['forward', 'forward']],
      [699, ['icmp', 'icmp']],
      [undefined, ['forward', 'forward']],
    ] as const) {
      for (const t of [dp, ref]) {
        t.setPort(2, {
          vrf: 1,
          address: '10.99.0.1',
          address6: PORT_ADDR6,
          mac: ROUTER_MAC,
          ...(mtu === undefined ? {} : { mtu }),
        });
      }
      expect(outcome(dp), `mtu ${mtu}`).toEqual(want);
      expect(outcome(ref), `reference, mtu ${mtu}`).toEqual(want);
    }
  });
});
