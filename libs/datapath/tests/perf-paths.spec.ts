// The fast paths of README "Performance notes (part II)" against what they replace: the
// parser's one-go path for plain UDP/TCP over IPv4 must hand every frame it does not fully
// accept to the general parser, and cached VXLAN outer-header templates must follow tunnel
// changes made between batches.
import { describe, expect, it } from 'vitest';
import { createDatapath } from '../src/index.js';
import { referenceParse } from '../src/reference/parser.js';
import { flowFrame } from './frames.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';

function ipv4HeaderSumOk(h: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (h[i]! << 8) | h[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

describe('VXLAN encapsulation templates', () => {
  it('follow a tunnel rewritten between batches (addresses, MACs, TTL, VNI)', () => {
    const dp = createDatapath({ batchSize: 8 });
    dp.addBridge(1);
    dp.setPort(0, { bridge: 1 });
    dp.setPort(9, {});
    const tunnel = (k: number) =>
      dp.addVxlanTunnel(3, {
        port: 50,
        bridge: 1,
        vni: 1000 + k,
        local: `192.0.2.${k + 1}`,
        remote: `198.51.100.${k + 7}`,
        localMac: `02:00:00:00:f1:0${k}`,
        remoteMac: `02:00:00:00:f2:0${k}`,
        underlayPort: 9,
        ttl: 10 + k,
      });
    for (let k = 0; k < 3; k++) {
      tunnel(k);
      dp.macTable.add(1, B, 50, { static: true });
      const sizes = [60, 61, 200];
      const out = dp.process(
        sizes.map((n, i) => {
          const f = flowFrame({
            srcMac: A,
            dstMac: B,
            l4: { proto: 'udp', sport: 100 + i, dport: 9 },
          });
          const data = new Uint8Array(n);
          data.set(f.subarray(0, Math.min(n, f.length)));
          // Pad past the IP datagram: the frame length, not the IP length, is encapsulated.
          return { data, port: 0 };
        }),
        0,
      );
      out.forEach((r, i) => {
        expect(r).toMatchObject({ verdict: 'forward', outPort: 9 });
        const f = r.frame;
        expect(f.length).toBe(sizes[i]! + 50);
        expect([...f.subarray(0, 12)]).toEqual([2, 0, 0, 0, 0xf2, k, 2, 0, 0, 0, 0xf1, k]);
        const ip = f.subarray(14, 34);
        expect(ipv4HeaderSumOk(ip)).toBe(true);
        expect((ip[2]! << 8) | ip[3]!).toBe(f.length - 14);
        expect(ip[8]).toBe(10 + k);
        expect([...ip.subarray(12, 20)]).toEqual([192, 0, 2, k + 1, 198, 51, 100, k + 7]);
        const udp = f.subarray(34, 50);
        expect((udp[0]! << 8) | udp[1]!).toBeGreaterThanOrEqual(49152);
        expect((udp[2]! << 8) | udp[3]!).toBe(4789);
        expect((udp[4]! << 8) | udp[5]!).toBe(f.length - 34);
        expect((udp[12]! << 16) | (udp[13]! << 8) | udp[14]!).toBe(1000 + k);
      });
    }
  });
});

function reChecksum(f: Uint8Array): Uint8Array {
  const ihl = (f[14]! & 15) * 4;
  f[24] = 0;
  f[25] = 0;
  let sum = 0;
  for (let i = 0; i < ihl; i += 2) sum += (f[14 + i]! << 8) | f[15 + i]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  f[24] = (~sum >> 8) & 0xff;
  f[25] = ~sum & 0xff;
  return f;
}

describe('parser fast path', () => {
  it('agrees with the reference on every edge of what it accepts', () => {
    const udp = () => flowFrame({ l4: { proto: 'udp', sport: 1234, dport: 53 } });
    const tcp = () => flowFrame({ l4: { proto: 'tcp', sport: 1234, dport: 80 } });
    const edit = (base: () => Uint8Array, fn: (f: Uint8Array) => void, fix = true) => {
      const f = base();
      fn(f);
      return fix ? reChecksum(f) : f;
    };
    const frames: Uint8Array[] = [
      udp(),
      tcp(),
      edit(udp, (f) => (f[20] = 0x40)), // DF
      edit(udp, (f) => (f[20] = 0x80)), // reserved flag
      edit(udp, (f) => (f[20] = 0x20)), // MF
      edit(udp, (f) => (f[21] = 1)), // offset
      edit(udp, (f) => (f[25] = f[25]! ^ 1), false), // bad checksum
      edit(udp, (f) => (f[14] = 0x46)), // options claimed, none there
      edit(udp, (f) => (f[14] = 0x44)), // IHL 16
      edit(udp, (f) => (f[17] = 27)), // UDP cut short
      edit(udp, (f) => (f[16] = 0x10)), // total length past the frame
      edit(udp, (f) => (f[39] = 7)), // UDP length 7
      edit(udp, (f) => (f[39] = f[39]! + 1)), // UDP length past the datagram
      edit(udp, (f) => ((f[36] = 0x12), (f[37] = 0xb5))), // VXLAN port, no VXLAN header
      edit(tcp, (f) => (f[46] = 0x40)), // data offset 16
      edit(tcp, (f) => (f[46] = 0xf0)), // data offset past the segment
      edit(udp, (f) => (f[23] = 1)), // ICMP
      edit(udp, (f) => (f[23] = 47)), // GRE
      edit(udp, (f) => (f[12] = 0x86)), // another EtherType
      Uint8Array.from([...udp(), 0, 0, 0, 0]), // trailing padding
      udp().subarray(0, 33), // too short for the fast path
    ];
    const dp = createDatapath({ batchSize: 64 });
    const got = dp.parse(frames);
    frames.forEach((f, i) => {
      const ref = referenceParse(f);
      const g = got[i]!;
      const summary = (r: typeof ref) => (r.ok ? r : { ok: r.ok, drop: r.drop, vni: r.vni });
      expect(summary({ ...g, outer: { ...g.outer, complete: true } }), `frame ${i}`).toEqual(
        summary(ref),
      );
    });
    expect(got.filter((r) => r.ok).length).toBeGreaterThan(5);
    expect(got.filter((r) => !r.ok).length).toBeGreaterThan(5);
  });
});
