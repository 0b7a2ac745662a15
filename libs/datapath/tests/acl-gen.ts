// Random rules, packets and the network the ACL specs run on.
import type { AclRule, Datapath, FrameIn } from '../src/index.js';
import { ReferenceDatapath } from '../src/reference/pipeline.js';
import { flowFrame, mutateFrame, randInt, randomValidFrame, vxlanFrame } from './frames.js';
import { tunnelV4 } from './tunnels.js';

const v4 = (a: number) => `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
const mask = (len: number) => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

/**
 * A random rule over a small address space, so that rules overlap and shapes repeat; with
 * `extended`, also count/log rules (some sampled) and egress rules matching the egress port.
 */
export function randomAclRule(rand: () => number, extended = false): AclRule {
  const rule: AclRule = { action: rand() < 0.5 ? 'permit' : 'deny' };
  if (extended) {
    const k = randInt(rand, 10);
    if (k < 2) rule.action = 'count';
    else if (k < 4) {
      rule.action = 'log';
      if (rand() < 0.5) rule.log = { sampleEvery: 1 + randInt(rand, 4) };
    }
    if (rand() < 0.3) rule.direction = 'egress';
  }
  const six = rand() < 0.25;
  const prefix = () => {
    if (six) {
      const len = [0, 32, 48, 64, 128][randInt(rand, 5)]!;
      const groups = [
        '2001',
        'db8',
        randInt(rand, 3).toString(16),
        '0',
        '0',
        '0',
        '0',
        randInt(rand, 3).toString(16),
      ];
      // Zero the host bits group by group (whole 16-bit groups: lengths are multiples of 16).
      return `${groups.map((g, i) => (i * 16 < len ? g : '0')).join(':')}/${len}`;
    }
    const len = [0, 8, 16, 24, 28, 32][randInt(rand, 6)]!;
    const addr =
      (0x0a000000 | (randInt(rand, 4) << 16) | (randInt(rand, 4) << 8) | randInt(rand, 8)) >>> 0;
    return `${v4((addr & mask(len)) >>> 0)}/${len}`;
  };
  if (rand() < 0.7) rule.src = prefix();
  if (rand() < 0.7) rule.dst = prefix();
  if (six && !rule.src && !rule.dst) rule.dst = prefix();
  const l4 = randInt(rand, 5);
  if (l4 === 0 || l4 === 1) {
    rule.proto = l4 === 0 ? 6 : 17;
    if (rand() < 0.6) {
      const lo = randInt(rand, 2000);
      rule.dport = rand() < 0.5 ? lo : [lo, lo + randInt(rand, 500)];
    }
    if (rand() < 0.3) rule.sport = [1000, 1000 + randInt(rand, 3000)];
  } else if (l4 === 2) {
    rule.proto = six ? 58 : 1;
    if (rand() < 0.7) rule.icmpType = [8, 0, 128, 129][randInt(rand, 4)]!;
    if (rand() < 0.3) rule.icmpCode = 0;
  } else if (l4 === 3 && rand() < 0.5) {
    rule.proto = [6, 17, 1, 58][randInt(rand, 4)]!;
  }
  if (rand() < 0.1) rule.vni = 5001;
  if (rand() < 0.15) {
    if (rule.direction === 'egress') rule.port = [1, 2, 100][randInt(rand, 3)]!;
    else rule.inPort = [0, 1, 2, 100][randInt(rand, 4)]!;
  }
  return rule;
}

/** A random TCP/UDP/ICMP packet (IPv4 or IPv6) between the bridge's hosts. */
export function randomAclPacket(rand: () => number): Uint8Array {
  const six = rand() < 0.25;
  const addr = () =>
    six
      ? `2001:db8:${randInt(rand, 3).toString(16)}::${randInt(rand, 3).toString(16)}`
      : v4(
          (0x0a000000 | (randInt(rand, 4) << 16) | (randInt(rand, 4) << 8) | randInt(rand, 8)) >>>
            0,
        );
  const kind = randInt(rand, 3);
  const l4 =
    kind === 0
      ? { proto: 'tcp' as const, sport: 1000 + randInt(rand, 4000), dport: randInt(rand, 2600) }
      : kind === 1
        ? { proto: 'udp' as const, sport: 1000 + randInt(rand, 4000), dport: randInt(rand, 2600) }
        : {
            proto: 'icmp' as const,
            type: [8, 0, 128, 129][randInt(rand, 4)]!,
            code: randInt(rand, 2),
          };
  return flowFrame({
    src: addr(),
    dst: addr(),
    v6: six,
    l4,
    // Destinations among the sources, so that some frames are bridged unicast once learned.
    dstMac:
      rand() < 0.5 ? '02:00:00:00:00:02' : `02:00:00:00:00:${(10 + randInt(rand, 6)).toString(16)}`,
    srcMac: `02:00:00:00:00:${(10 + randInt(rand, 6)).toString(16)}`,
  });
}

/**
 * A batch of 1–80 frames for `configureAclNet` on random ports: out of 10, `plain` ACL packets,
 * one tunnelled from 192.168.0.2, one mutated, the rest random valid frames.
 */
export function randomAclBatch(rand: () => number, plain: number): FrameIn[] {
  const batch: FrameIn[] = [];
  for (let i = 0; i < 1 + randInt(rand, 80); i++) {
    const k = randInt(rand, 10);
    const port = [0, 1, 2, 3, 9][randInt(rand, 5)]!;
    let data: Uint8Array;
    if (k < plain) data = randomAclPacket(rand);
    else if (k < plain + 1)
      data = vxlanFrame(randomAclPacket(rand), 5001, {
        src: '192.168.0.2',
        dst: '192.168.0.1',
      });
    else if (k < plain + 2) data = mutateFrame(rand, randomAclPacket(rand));
    else data = randomValidFrame(rand);
    batch.push({ data, port });
  }
  return batch;
}

/** Bridge 1 on ports 0–2 and tunnel port 100, port 3 routed (10/8 → port 2), port 9. */
export function configureAclNet(t: Datapath | ReferenceDatapath): void {
  t.addBridge(1);
  for (const p of [0, 1, 2]) t.setPort(p, { bridge: 1 });
  t.setPort(3, { vrf: 1 });
  t.setPort(9, {});
  t.addVxlanTunnel(0, tunnelV4());
  if (t instanceof ReferenceDatapath) {
    t.router.setNextHop(0, { port: 2, dstMac: '02:00:00:00:00:05', srcMac: '02:00:00:00:00:06' });
    t.router.createVrf(1);
    t.router.addRoute(1, 0x0a000000, 8, 0);
  } else {
    t.nextHops.add(0, { port: 2, dstMac: '02:00:00:00:00:05', srcMac: '02:00:00:00:00:06' });
    t.routes.create(1);
    t.routes.add(1, '10.0.0.0/8', 0);
  }
}
