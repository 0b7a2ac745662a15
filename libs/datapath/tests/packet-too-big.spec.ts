import { describe, expect, it } from 'vitest';
import { createDatapath, type Datapath } from '../src/index.js';
import { ReferenceDatapath } from '../src/reference/pipeline.js';
import { ethernet, ipv6, ipv6Packet, l4Bytes, mac } from './frames.js';
import { tsharkDissect } from './gateway-frames.js';

const ROUTER_MAC = '02:00:00:00:99:99';
const SENDER_MAC = '02:00:00:00:00:21';
const PORT_ADDR6 = '2001:db8:99::1';
const SENDER = '2001:db8:2::9';

/**
 * Routed port 2 (address6) and 5 (no address6) in VRF 1; egress port 3 (MTU 1000), VXLAN
 * tunnel ports 100 (over IPv4, underlay MTU 1400), 101 (over IPv6, underlay 1500) and 102
 * (explicit MTU 600), and port 4 (MTU 1500).
 */
function configure(t: Datapath | ReferenceDatapath): void {
  t.addBridge(1);
  t.setPort(2, { vrf: 1, address6: PORT_ADDR6, mac: ROUTER_MAC });
  t.setPort(5, { vrf: 1, mac: ROUTER_MAC });
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
    [4, 4],
  ];
  const routes: [string, number][] = [
    ['2001:db8:3::/48', 0],
    ['2001:db8:100::/48', 1],
    ['2001:db8:101::/48', 2],
    ['2001:db8:102::/48', 3],
    ['2001:db8:4::/48', 4],
  ];
  if (t instanceof ReferenceDatapath) {
    for (const [id, port] of hops)
      t.router.setNextHop(id, { port, dstMac: '02:00:00:00:00:30', srcMac: ROUTER_MAC });
    t.router6.createVrf(1);
    for (const [prefix, nh] of routes) {
      const [a, l] = prefix.split('/');
      t.router6.addRoute(1, Uint8Array.from(ipv6(a!)), Number(l), nh);
    }
  } else {
    for (const [id, port] of hops)
      t.nextHops.add(id, { port, dstMac: '02:00:00:00:00:30', srcMac: ROUTER_MAC });
    t.routes6.create(1);
    for (const [prefix, nh] of routes) t.routes6.add(1, prefix, nh);
  }
}

/** A UDP/IPv6 frame (or ICMPv6 of `icmpType`) whose IPv6 length (40 + payload) is `length`. */
function sized(dst: string, length: number, o: { icmpType?: number; hops?: number } = {}) {
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
  const packet = ipv6Packet(SENDER, dst, l4.proto, l4.bytes);
  packet[7] = o.hops ?? 64;
  return Uint8Array.from(ethernet(ROUTER_MAC, SENDER_MAC, 0x86dd, packet));
}

const hex = (r: { frame: Uint8Array }) => ({ ...r, frame: Buffer.from(r.frame).toString('hex') });

describe('IPv6 packet too big (RFC 4443 3.2)', () => {
  it('answers packets too big for the egress with ICMPv6 2/0, the MTU and the quote (tshark)', () => {
    const dp = createDatapath({ batchSize: 16 });
    const ref = new ReferenceDatapath(16);
    configure(dp);
    configure(ref);
    const frames = [
      { data: sized('2001:db8:3::1', 1001), port: 2 }, // physical egress, MTU 1000
      { data: sized('2001:db8:100::1', 1351), port: 2 }, // tunnel over IPv4: 1400 - 50
      { data: sized('2001:db8:101::1', 1431), port: 2 }, // tunnel over IPv6: 1500 - 70
      { data: sized('2001:db8:102::1', 601), port: 2 }, // explicit tunnel MTU
      { data: sized('2001:db8:3::1', 1500, { icmpType: 128 }), port: 2 }, // echo: quote cut
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
      'ipv6.src': `${PORT_ADDR6}|${SENDER}`,
      'ipv6.dst': `${SENDER}|${dst}`,
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
    const dp = createDatapath({ batchSize: 16 });
    const ref = new ReferenceDatapath(16);
    configure(dp);
    configure(ref);
    const frames = [
      { data: sized('2001:db8:3::1', 1000), port: 2 }, // fits exactly
      { data: sized('2001:db8:100::1', 1350), port: 2 },
      { data: sized('2001:db8:101::1', 1430), port: 2 },
      { data: sized('2001:db8:102::1', 600), port: 2 },
      { data: sized('2001:db8:4::1', 1500), port: 2 },
      { data: sized('2001:db8:3::1', 1001), port: 5 }, // ingress without address6
      { data: sized('2001:db8:3::1', 1001, { icmpType: 1 }), port: 2 }, // an ICMPv6 error
      { data: sized('2001:db8:3::1', 1001, { hops: 1 }), port: 2 }, // hop limit goes first
    ];
    const out = dp.process(frames, 1);
    expect(out.map(hex)).toEqual(ref.process(frames, 1).map(hex));
    expect(out.map((r) => r.drop ?? `port ${r.outPort}`)).toEqual([
      'port 3',
      // Tunnel ports: encapsulated out of their underlay port.
      'port 9',
      'port 8',
      'port 9',
      'port 4',
      'packet-too-big',
      'packet-too-big',
      'port 2',
    ]);
    // The time-exceeded answer, not packet too big, for the last one.
    expect(out[7]!.frame[54]).toBe(3);
    expect(dp.counters().drops).toEqual({ 'packet-too-big': 2 });
    expect(ref.counters().drops).toEqual({ 'packet-too-big': 2 });
  });
});
