// The fast paths of README "Performance notes (part II)" against what they replace: cached
// VXLAN outer-header templates must follow tunnel changes made between batches, and every
// encapsulated header must still check out field by field.
import { describe, expect, it } from 'vitest';
import { createDatapath } from '../src/index.js';
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
