// Differential run for the gateway, MTU and policer work: the WebAssembly core against the
// reference on mixed traffic, batch by batch.
import { describe, expect, it } from 'vitest';
import type { Datapath, FrameIn } from '../src/index.js';
import { ReferenceDatapath } from '../src/reference/pipeline.js';
import {
  ethernet,
  flowFrame,
  ipv4Packet,
  l4Bytes,
  mutateFrame,
  prng,
  randInt,
  randomValidFrame,
  vxlanFrame,
  neighborSolicitation,
} from './frames.js';
import { arpRequest } from './gateway-frames.js';
import { tunnelV4, tunnelV6 } from './tunnels.js';
import { configuredPair, processBoth } from './differ.js';

const SEED = Number(process.env.DATAPATH_FUZZ_SEED ?? 0);
const ROUNDS = Math.max(220, Number(process.env.DATAPATH_DIFF_ROUNDS ?? 220));
const ROUTER_MAC = '02:00:00:00:99:99';
const GW_MAC = '02:00:00:00:99:01';
const MACS = Array.from(
  { length: 10 },
  (_, i) => `02:00:00:00:00:${(i + 1).toString(16).padStart(2, '0')}`,
);
const PORT_POLICER = 1;
const BRIDGE_POLICER = 2;
const FLOW_PORTS = [0, 100];

function configure(t: Datapath | ReferenceDatapath): void {
  t.addBridge(1, { floodLimit: 60 });
  t.addBridge(2);
  for (const p of [0, 1, 2, 3]) t.setPort(p, { bridge: 1 });
  t.setPort(4, { bridge: 2 });
  t.setPort(6, { vrf: 1, address: '10.99.0.1', mac: ROUTER_MAC });
  t.setPort(7, { vrf: 1, mtu: 600 });
  t.setPort(9, { mtu: 1200 });
  t.addVxlanTunnel(0, tunnelV4());
  t.addVxlanTunnel(1, tunnelV6({ mtu: 900 }));
  t.setBridgeGateway(1, { mac: GW_MAC, ipv4: ['10.0.0.1'], ipv6: ['2001:db8::1', 'fe80::1'] });
  const hops: [number, number][] = [
    [0, 7],
    [1, 100],
    [2, 6],
  ];
  const routes: [number, number, number][] = [
    [0x0a070000, 16, 0],
    [0x0a640000, 16, 1],
    [0x0a020000, 16, 2],
  ];
  if (t instanceof ReferenceDatapath) {
    for (const [id, port] of hops)
      t.router.setNextHop(id, { port, dstMac: '02:00:00:00:00:30', srcMac: ROUTER_MAC });
    t.router.createVrf(1);
    for (const [a, l, nh] of routes) t.router.addRoute(1, a, l, nh);
    t.addPolicer(PORT_POLICER, 200_000, 3000);
    t.addPolicer(BRIDGE_POLICER, 300_000, 4000);
    t.bindPolicer(1, PORT_POLICER);
    t.bindBridgePolicer(2, BRIDGE_POLICER);
    t.bindFlowPolicer(0, { rateBytesPerSec: 50_000, burstBytes: 1600, maxFlows: 8 });
    t.bindFlowPolicer(100, { rateBytesPerSec: 20_000, burstBytes: 1000, maxFlows: 16 });
  } else {
    for (const [id, port] of hops)
      t.nextHops.add(id, { port, dstMac: '02:00:00:00:00:30', srcMac: ROUTER_MAC });
    t.routes.create(1);
    for (const [a, l, nh] of routes)
      t.routes.add(1, `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/${l}`, nh);
    t.policers.add(PORT_POLICER, { rateBytesPerSec: 200_000, burstBytes: 3000 });
    t.policers.add(BRIDGE_POLICER, { rateBytesPerSec: 300_000, burstBytes: 4000 });
    t.policers.bind(1, PORT_POLICER);
    t.policers.bindBridge(2, BRIDGE_POLICER);
    t.policers.bindFlows(0, { rateBytesPerSec: 50_000, burstBytes: 1600, maxFlows: 8 });
    t.policers.bindFlows(100, { rateBytesPerSec: 20_000, burstBytes: 1000, maxFlows: 16 });
  }
}

function ipText(rand: () => number, net: number): string {
  return `10.${net}.${randInt(rand, 4)}.${1 + randInt(rand, 8)}`;
}

function routedFrame(rand: () => number): Uint8Array {
  const dst = ipText(rand, [7, 100, 2, 50][randInt(rand, 4)]!);
  const payload = new Array(
    randInt(rand, 5) === 0 ? 560 + randInt(rand, 700) : randInt(rand, 200),
  ).fill(7);
  const l4 = l4Bytes({
    proto: rand() < 0.5 ? 'udp' : 'tcp',
    sport: randInt(rand, 65536),
    dport: 80,
    payload,
  });
  const flags = rand() < 0.7 ? 0x4000 : rand() < 0.5 ? 0 : 0x2000 | randInt(rand, 100);
  const ip = ipv4Packet(rand() < 0.9 ? '10.2.0.9' : '224.0.0.9', dst, l4.proto, l4.bytes, {
    fragment: flags,
  });
  if (rand() < 0.1) {
    // TTL expiring, header checksum updated.
    ip[8] = 1;
    ip[10] = ip[11] = 0;
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += (ip[i]! << 8) | ip[i + 1]!;
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    ip[10] = (~sum >> 8) & 0xff;
    ip[11] = ~sum & 0xff;
  }
  return Uint8Array.from(ethernet(ROUTER_MAC, MACS[0]!, 0x0800, ip));
}

function gatewayFrame(rand: () => number): Uint8Array {
  const src = MACS[randInt(rand, MACS.length)]!;
  const vlans = rand() < 0.2 ? [randInt(rand, 4096)] : [];
  if (rand() < 0.4)
    return arpRequest(src, '10.0.0.9', rand() < 0.7 ? '10.0.0.1' : '10.0.0.2', vlans);
  const target = ['2001:db8::1', 'fe80::1', '2001:db8::7'][randInt(rand, 3)]!;
  const bad = randInt(rand, 8);
  return neighborSolicitation({
    srcMac: src,
    src: bad === 6 ? '::' : `fe80::${1 + randInt(rand, 9)}`,
    target,
    dst: bad === 7 ? target : undefined,
    hopLimit: bad === 1 ? 64 : 255,
    code: bad === 2 ? 3 : 0,
    badChecksum: bad === 3,
    zeroOption: bad === 4,
    vlans,
  });
}

function trafficBatch(rand: () => number, size: number): FrameIn[] {
  const frames: FrameIn[] = [];
  for (let i = 0; i < size; i++) {
    const kind = randInt(rand, 12);
    const pick = () => MACS[randInt(rand, MACS.length)]!;
    let data: Uint8Array;
    let port = [0, 1, 2, 3, 4, 9][randInt(rand, 6)]!;
    if (kind < 3) {
      data = flowFrame({
        srcMac: pick(),
        dstMac: rand() < 0.1 ? 'ff:ff:ff:ff:ff:ff' : pick(),
        v6: rand() < 0.3,
        l4: {
          proto: rand() < 0.5 ? 'udp' : 'tcp',
          sport: randInt(rand, 24),
          dport: 443,
          payload: new Array(randInt(rand, 4) === 0 ? 800 + randInt(rand, 600) : 10).fill(3),
        },
      });
    } else if (kind < 5) {
      data = gatewayFrame(rand);
      if (rand() < 0.1) data = mutateFrame(rand, data);
    } else if (kind < 7) {
      const inner =
        rand() < 0.5
          ? gatewayFrame(rand)
          : flowFrame({
              srcMac: pick(),
              dstMac: pick(),
              l4: {
                proto: 'udp',
                sport: randInt(rand, 40),
                dport: 8080,
                payload: new Array(randInt(rand, 3) === 0 ? 1000 : 20).fill(5),
              },
            });
      const v6 = rand() < 0.3;
      data = v6
        ? vxlanFrame(inner, 6001, { v6: true, src: 'fd00::2', dst: 'fd00::1' })
        : vxlanFrame(inner, 5001, { src: '192.168.0.2', dst: '192.168.0.1' });
      port = 9;
    } else if (kind < 9) {
      data = routedFrame(rand);
      port = rand() < 0.8 ? 6 : 7;
    } else if (kind < 10) {
      data = mutateFrame(rand, randomValidFrame(rand, MACS));
    } else {
      data = randomValidFrame(rand, MACS);
    }
    frames.push({ data, port });
  }
  return frames;
}

function flowState(t: Datapath | ReferenceDatapath, port: number) {
  if (t instanceof ReferenceDatapath) {
    const f = t.flowPolicer(port)!;
    return {
      conform: { ...f.conform },
      exceed: { ...f.exceed },
      evicted: f.evicted,
      flows: f.flows,
      buckets: f
        .entries()
        .map(
          (e) =>
            `${e.tuple.sport}/${e.tuple.dport}/${e.tuple.proto}/${e.tuple.src.join('.')}/${e.tuple.dst.join('.')}: ${e.tokensMilli} @${e.lastMs}`,
        )
        .sort(),
    };
  }
  const s = t.policers.flowTable(port)!;
  const ip = (text: string) => {
    if (text.includes(':')) {
      // Back to bytes to compare with the reference's keys.
      const full = text.split('::');
      const head = full[0] ? full[0].split(':') : [];
      const tail = full.length > 1 && full[1] ? full[1].split(':') : [];
      const groups = [...head, ...new Array(8 - head.length - tail.length).fill('0'), ...tail];
      return groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 255]).join('.');
    }
    return text;
  };
  return {
    conform: s.conform,
    exceed: s.exceed,
    evicted: s.evicted,
    flows: s.flows,
    buckets: [...t.policers.iterateFlows(port)]
      .map(
        (e) =>
          `${e.tuple.sport}/${e.tuple.dport}/${e.tuple.proto}/${ip(e.tuple.src)}/${ip(e.tuple.dst)}: ${e.bucket.tokensMilli} @${e.bucket.lastMs}`,
      )
      .sort(),
  };
}

describe('differential: gateways, MTU and policers against the reference', () => {
  it(
    `${ROUNDS} mixed batches: identical verdicts, bytes, counters and policer state`,
    { timeout: 600_000 },
    () => {
      const { dp, ref } = configuredPair(configure);
      const rand = prng(SEED ^ 0x6a7e);
      const seen = new Map<string, number>();
      let now = 5000;
      for (let round = 0; round < ROUNDS; round++) {
        if (round === 100) {
          // Reconfigure mid-run: gateway addresses change, bridge 2 gets one, port MTU shrinks.
          for (const t of [dp, ref]) {
            t.setBridgeGateway(1, {
              mac: GW_MAC,
              ipv4: ['10.0.0.2', '10.0.0.1'],
              ipv6: ['fe80::1'],
            });
            t.setBridgeGateway(2, { mac: '02:00:00:00:99:02', ipv4: ['10.0.0.1'] });
            t.setPort(7, { vrf: 1, mtu: 300 });
          }
        }
        const batch = trafficBatch(rand, 1 + randInt(rand, 120));
        const got = processBoth(dp, ref, batch, now, round);
        for (let i = 0; i < got.length; i++) {
          const key = got[i]!.drop ?? `${got[i]!.verdict}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
        }
        for (const id of [PORT_POLICER, BRIDGE_POLICER]) {
          const p = dp.policers.lookup(id)!;
          expect({ conform: p.conform, exceed: p.exceed }, `policer ${id} round ${round}`).toEqual(
            ref.policerCounters(id),
          );
        }
        for (const port of FLOW_PORTS)
          expect(flowState(dp, port), `flows of port ${port} round ${round}`).toEqual(
            flowState(ref, port),
          );
        for (const bridge of [1, 2]) {
          const g = dp.gateways.lookup(bridge);
          const r = ref.bridgeGateway(bridge);
          expect(g ? [g.arpReplies, g.ndReplies] : null, `gateway ${bridge}`).toEqual(
            r ? [r.arpReplies, r.ndReplies] : null,
          );
        }
        now += randInt(rand, 30);
      }
      // The run must reach every new decision.
      for (const outcome of [
        'forward',
        'flood',
        'policer',
        'frag-needed',
        'mtu-exceeded',
        'tunnel-mtu-exceeded',
        'ttl-exceeded',
      ])
        expect(seen.get(outcome) ?? 0, outcome).toBeGreaterThan(0);
      expect(dp.gateways.lookup(1)!.arpReplies).toBeGreaterThan(0);
      expect(dp.gateways.lookup(1)!.ndReplies).toBeGreaterThan(0);
      expect(dp.gateways.lookup(2)!.arpReplies).toBeGreaterThan(0);
      for (const port of FLOW_PORTS) {
        const f = dp.policers.flowTable(port)!;
        expect(f.exceed.packets, `flow exceed ${port}`).toBeGreaterThan(0);
        expect(f.conform.packets, `flow conform ${port}`).toBeGreaterThan(0);
      }
      expect(dp.policers.flowTable(0)!.evicted).toBeGreaterThan(0);
      expect(dp.policers.lookup(BRIDGE_POLICER)!.exceed.packets).toBeGreaterThan(0);
    },
  );
});
