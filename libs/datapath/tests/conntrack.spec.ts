import { describe, expect, it } from 'vitest';
import {
  createDatapath,
  DatapathTableError,
  type AclRule,
  type Datapath,
  type FrameIn,
  type PacketResult,
  formatIp,
} from '../src/index.js';
import { checkAclRule } from '../src/acl.js';
import { CONNTRACK_STATES } from '../src/conntrack.js';
import { ReferenceDatapath } from '../src/reference/pipeline.js';
import {
  ethernet,
  flowFrame,
  ipv4Packet,
  ipv6Packet,
  mutateFrame,
  prng,
  randInt,
  randomValidFrame,
  vxlanFrame,
} from './frames.js';
import { tunnelV4 } from './tunnels.js';
import { thrownField as err } from './errors.js';
import { configuredPair, processBoth } from './differ.js';

const SEED = Number(process.env.DATAPATH_FUZZ_SEED ?? 0);
const ROUNDS = Number(process.env.DATAPATH_DIFF_ROUNDS ?? 200);

const IN_MAC = '02:00:00:00:00:0a';
const OUT_MAC = '02:00:00:00:00:0b';
const FIN = 1;
const SYN = 2;
const RST = 4;
const ACK = 0x10;

interface Seg {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  flags?: number;
  payload?: number;
}

const be16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];

/** A TCP frame with the given flags (from the inside MAC when the source is 10/8 or fd00::/8). */
function tcp(s: Seg): Uint8Array {
  const v6 = s.src.includes(':');
  const header = [
    ...be16(s.sport),
    ...be16(s.dport),
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    0,
    0x50,
    s.flags ?? ACK,
    0xff,
    0xff,
    0,
    0,
    0,
    0,
    ...new Array<number>(s.payload ?? 0).fill(0x61),
  ];
  return frame(
    s.src,
    v6,
    v6 ? ipv6Packet(s.src, s.dst, 6, header) : ipv4Packet(s.src, s.dst, 6, header),
  );
}

function frame(src: string, v6: boolean, ip: number[]): Uint8Array {
  const inside = src.startsWith('10.') || src.startsWith('fd');
  return Uint8Array.from(
    ethernet(inside ? OUT_MAC : IN_MAC, inside ? IN_MAC : OUT_MAC, v6 ? 0x86dd : 0x0800, ip),
  );
}

function udp(src: string, dst: string, sport: number, dport: number): Uint8Array {
  const v6 = src.includes(':');
  const l4 = [...be16(sport), ...be16(dport), 0, 12, 0, 0, 1, 2, 3, 4];
  return frame(src, v6, v6 ? ipv6Packet(src, dst, 17, l4) : ipv4Packet(src, dst, 17, l4));
}

function echo(src: string, dst: string, reply: boolean, id: number): Uint8Array {
  const v6 = src.includes(':');
  const type = v6 ? (reply ? 129 : 128) : reply ? 0 : 8;
  const l4 = [type, 0, 0, 0, ...be16(id), 0, 1];
  return frame(src, v6, v6 ? ipv6Packet(src, dst, 58, l4) : ipv4Packet(src, dst, 1, l4));
}

/** Inside port 0, outside port 1, one bridge; only inside-initiated traffic is permitted. */
function firewall(capacity = 1024, timeouts = {}): Datapath {
  const dp = createDatapath({ batchSize: 64 });
  dp.addBridge(1);
  dp.setPort(0, { bridge: 1 });
  dp.setPort(1, { bridge: 1 });
  dp.macTable.add(1, IN_MAC, 0, { static: true });
  dp.macTable.add(1, OUT_MAC, 1, { static: true });
  dp.acl.load(
    [
      { action: 'permit-stateful', src: '10.0.0.0/8', inPort: 0 },
      { action: 'permit-stateful', src: 'fd00::/8', inPort: 0 },
    ],
    { defaultAction: 'deny' },
  );
  dp.acl.bind(0);
  dp.acl.bind(1);
  dp.conntrack.create({ capacity, timeouts });
  return dp;
}

const verdicts = (rs: PacketResult[]) => rs.map((r) => r.drop ?? r.verdict);
const one = (dp: Datapath, data: Uint8Array, port: number, now: number) =>
  verdicts(dp.process([{ data, port }], now))[0];

const A = '10.0.0.5';
const B = '192.0.2.7';
const conn = { src: A, dst: B, proto: 6, sport: 40000, dport: 443 };

describe('connection tracking', () => {
  it('follows a TCP connection through handshake, data and FIN; return traffic passes the deny ACL', () => {
    const dp = firewall();
    const out = (flags: number, payload = 0) =>
      tcp({ src: A, dst: B, sport: 40000, dport: 443, flags, payload });
    const back = (flags: number, payload = 0) =>
      tcp({ src: B, dst: A, sport: 443, dport: 40000, flags, payload });
    // Nothing from outside before the inside opened the connection.
    expect(one(dp, back(SYN | ACK), 1, 1000)).toBe('acl-deny');
    expect(one(dp, out(SYN), 0, 1000)).toBe('forward');
    expect(dp.conntrack.lookup(conn, 1000)?.state).toBe('SYN_SENT');
    expect(one(dp, back(SYN | ACK), 1, 1001)).toBe('forward');
    expect(dp.conntrack.lookup(conn, 1001)?.state).toBe('SYN_RECV');
    expect(one(dp, out(ACK), 0, 1002)).toBe('forward');
    expect(dp.conntrack.lookup(conn, 1002)?.state).toBe('ESTABLISHED');
    expect(one(dp, back(ACK, 100), 1, 1003)).toBe('forward');
    expect(one(dp, out(ACK | FIN), 0, 1004)).toBe('forward');
    expect(dp.conntrack.lookup(conn, 1004)?.state).toBe('FIN_WAIT');
    expect(one(dp, back(ACK | FIN), 1, 1005)).toBe('forward');
    const e = dp.conntrack.lookup({ ...conn, src: B, dst: A, sport: 443, dport: 40000 }, 1005)!;
    expect(e.state).toBe('TIME_WAIT');
    expect(e.direction).toBe('reply');
    expect(e.tuple).toEqual(conn);
    expect(e.packets).toEqual({ original: 3, reply: 3 });
    expect(e.bytes.reply - e.bytes.original).toBe(100);
    // TIME_WAIT lasts 120 s by default, then the flow is gone and the outside is denied again.
    expect(one(dp, back(ACK), 1, 1005 + 120_000)).toBe('forward');
    expect(one(dp, back(ACK), 1, 1005 + 240_001)).toBe('acl-deny');
    expect(dp.conntrack.stats()).toMatchObject({ created: 1, hits: 6, evicted: 0 });
    expect(dp.conntrack.age(1005 + 240_001)).toBe(1);
    expect(dp.conntrack.stats().expired).toBe(1);
    expect(dp.conntrack.size).toBe(0);
  });

  it('closes on RST, does not open on mid-stream TCP and applies per-state timeouts', () => {
    const dp = firewall(1024, { tcpSynSent: 5, tcpClose: 2 });
    const syn = tcp({ src: A, dst: B, sport: 1, dport: 80, flags: SYN });
    const rst = tcp({ src: B, dst: A, sport: 80, dport: 1, flags: RST | ACK });
    expect(one(dp, syn, 0, 0)).toBe('forward');
    expect(one(dp, rst, 1, 10)).toBe('forward');
    const t = { src: A, dst: B, proto: 6, sport: 1, dport: 80 };
    expect(dp.conntrack.lookup(t, 10)?.state).toBe('CLOSE');
    expect(dp.conntrack.lookup(t, 2010)).not.toBeNull();
    expect(dp.conntrack.lookup(t, 2011)).toBeNull();
    // A bare ACK from the inside is permitted but opens no flow: the answer is denied.
    const ack = tcp({ src: A, dst: B, sport: 2, dport: 80, flags: ACK });
    expect(one(dp, ack, 0, 3000)).toBe('forward');
    expect(one(dp, tcp({ src: B, dst: A, sport: 80, dport: 2, flags: ACK }), 1, 3001)).toBe(
      'acl-deny',
    );
    expect(dp.conntrack.stats().untracked).toBe(1);
    // An unanswered SYN expires after tcpSynSent (5 s).
    expect(one(dp, tcp({ src: A, dst: B, sport: 3, dport: 80, flags: SYN }), 0, 4000)).toBe(
      'forward',
    );
    const synAck = tcp({ src: B, dst: A, sport: 80, dport: 3, flags: SYN | ACK });
    expect(one(dp, synAck, 1, 9001)).toBe('acl-deny');
    expect(dp.conntrack.timeouts.tcpSynSent).toBe(5);
    expect(dp.conntrack.timeouts.tcpEstablished).toBe(3600);
  });

  it('tracks UDP and ICMP echo in both directions, IPv4 and IPv6', () => {
    const dp = firewall();
    for (const [a, b, base] of [
      [A, B, 0],
      ['fd00::1', '2001:db8::9', 1_000_000],
    ] as const) {
      expect(one(dp, udp(b, a, 53, 5353), 1, base + 0)).toBe('acl-deny');
      expect(one(dp, udp(a, b, 5353, 53), 0, base + 0)).toBe('forward');
      // An unanswered UDP flow lives 30 s.
      expect(one(dp, udp(a, b, 5354, 53), 0, base + 0)).toBe('forward');
      expect(one(dp, udp(b, a, 53, 5354), 1, base + 30_001)).toBe('acl-deny');
      const t = { src: a, dst: b, proto: 17, sport: 5353, dport: 53 };
      expect(dp.conntrack.lookup(t, base + 0)?.state).toBe('UNREPLIED');
      expect(one(dp, udp(b, a, 53, 5353), 1, base + 10)).toBe('forward');
      expect(dp.conntrack.lookup(t, base + 10)?.state).toBe('REPLIED');
      // Replied UDP lives 180 s, unreplied 30 s.
      expect(one(dp, udp(b, a, 53, 5353), 1, base + 180_010)).toBe('forward');
      expect(one(dp, udp(b, a, 53, 5353), 1, base + 360_011)).toBe('acl-deny');
      const icmp = a.includes(':') ? 58 : 1;
      expect(one(dp, echo(a, b, false, 77), 0, base + 400_000)).toBe('forward');
      expect(one(dp, echo(b, a, true, 77), 1, base + 400_001)).toBe('forward');
      // Another identifier is another flow.
      expect(one(dp, echo(b, a, true, 78), 1, base + 400_002)).toBe('acl-deny');
      const e = dp.conntrack.lookup(
        { src: b, dst: a, proto: icmp, sport: 77, dport: 77 },
        base + 400_002,
      );
      expect(e).toMatchObject({ state: 'ICMP', direction: 'reply' });
      expect(e?.packets).toEqual({ original: 1, reply: 1 });
      expect(one(dp, echo(b, a, true, 77), 1, base + 430_001)).toBe('forward');
      expect(one(dp, echo(b, a, true, 77), 1, base + 460_002)).toBe('acl-deny');
    }
  });

  it('evicts the least recently seen flow when a bucket is full and counts it', () => {
    // 8 slots: one bucket, so every key competes for the same 8 ways.
    const dp = firewall(8);
    expect(dp.conntrack.capacity).toBe(8);
    for (let i = 0; i < 8; i++)
      expect(one(dp, udp(A, B, 1000 + i, 53), 0, 100 + i)).toBe('forward');
    expect(dp.conntrack.size).toBe(8);
    // Flows 0–2 are refreshed: flow 3 (seen at 103) is now the least recently seen.
    for (let i = 0; i < 3; i++) expect(one(dp, udp(B, A, 53, 1000 + i), 1, 150)).toBe('forward');
    expect(one(dp, udp(A, B, 2000, 53), 0, 200)).toBe('forward');
    expect(dp.conntrack.stats()).toMatchObject({ created: 9, evicted: 1, expired: 0 });
    // Flow 3 (seen at 50) was the least recent: its answers are denied now, the others pass.
    expect(one(dp, udp(B, A, 53, 1003), 1, 201)).toBe('acl-deny');
    expect(one(dp, udp(B, A, 53, 1004), 1, 201)).toBe('forward');
    // Past the unreplied timeout, an insert takes an expired slot instead of evicting.
    expect(one(dp, udp(A, B, 3000, 53), 0, 35_000)).toBe('forward');
    expect(dp.conntrack.stats()).toMatchObject({ evicted: 1, expired: 1 });
    expect(dp.conntrack.size).toBe(8);
    // Host adds follow the same policy.
    dp.conntrack.add({ src: A, dst: B, proto: 17, sport: 9, dport: 9 }, 'REPLIED', 35_000);
    expect(dp.conntrack.stats().expired).toBe(2);
  });

  it('has the table verbs; errors name the field', () => {
    const dp = createDatapath({ batchSize: 16 });
    const t = { src: '2001:db8::1', dst: '2001:db8::2', proto: 6, sport: 5, dport: 6 };
    expect(() => dp.conntrack.add(t)).toThrow(DatapathTableError);
    expect(dp.conntrack.lookup(t, 0)).toBeNull();
    dp.conntrack.create({ capacity: 100, timeouts: { tcpEstablished: 60 } });
    expect(dp.conntrack.capacity).toBe(128);
    dp.conntrack.add(t, undefined, 1000);
    const rev = { src: t.dst, dst: t.src, proto: 6, sport: 6, dport: 5 };
    expect(dp.conntrack.lookup(rev, 2000)).toMatchObject({
      state: 'ESTABLISHED',
      direction: 'reply',
      ageMs: 1000,
      expired: false,
      tuple: t,
    });
    expect(dp.conntrack.lookup(t, 61_001)).toBeNull();
    dp.conntrack.add({ src: '1.1.1.1', dst: '2.2.2.2', proto: 47 }, 'OTHER', 5);
    expect(dp.conntrack.size).toBe(2);
    const bulk = dp.conntrack.lookupBulk(
      [rev, { src: '2.2.2.2', dst: '1.1.1.1', proto: 47 }, { ...t, sport: 7 }],
      2000,
    );
    expect(bulk.map((e) => e && [e.state, e.direction])).toEqual([
      ['ESTABLISHED', 'reply'],
      ['OTHER', 'reply'],
      null,
    ]);
    expect([...dp.conntrack.iterate(2000)].map((e) => e.tuple.proto).sort()).toEqual([47, 6]);
    // Bulk adds: objects or packed records, default states by protocol.
    expect(
      dp.conntrack.addBulk(
        [
          { src: '10.0.0.1', dst: '10.0.0.2', proto: 17, sport: 1, dport: 2 },
          { src: '10.0.0.1', dst: '10.0.0.2', proto: 1, sport: 3, dport: 3 },
        ],
        2000,
      ),
    ).toBe(2);
    const packed = new Uint8Array(80);
    packed.set([10, 0, 0, 9], 0);
    packed.set([10, 0, 0, 8], 16);
    packed.set([0x50, 0, 6, 4], 34); // dport 80, TCP, IPv4
    packed[77] = 5; // not a version: skipped
    expect(dp.conntrack.addBulk(packed, 2000)).toBe(1);
    expect(
      dp.conntrack.lookup({ src: '10.0.0.8', dst: '10.0.0.9', proto: 6, sport: 80 }, 2000),
    ).toMatchObject({ state: 'ESTABLISHED', direction: 'reply' });
    expect(
      dp.conntrack.lookup({ src: '10.0.0.2', dst: '10.0.0.1', proto: 1, sport: 3, dport: 3 }, 2000)
        ?.state,
    ).toBe('ICMP');
    expect(() => dp.conntrack.addBulk(new Uint8Array(41))).toThrow(/tuples/);
    expect(dp.conntrack.size).toBe(5);
    for (const t2 of [
      { src: '10.0.0.1', dst: '10.0.0.2', proto: 17, sport: 1, dport: 2 },
      { src: '10.0.0.1', dst: '10.0.0.2', proto: 1, sport: 3, dport: 3 },
      { src: '10.0.0.8', dst: '10.0.0.9', proto: 6, sport: 80 },
    ])
      expect(dp.conntrack.delete(t2)).toBe(true);
    expect(dp.conntrack.delete(rev)).toBe(true);
    expect(dp.conntrack.delete(rev)).toBe(false);
    expect(dp.conntrack.age(5 + 60_001)).toBe(1);
    expect(dp.conntrack.size).toBe(0);
    dp.conntrack.add(t, 'SYN_SENT', 0);
    dp.conntrack.reset();
    expect(dp.conntrack.size).toBe(0);
    expect(dp.conntrack.stats().created).toBe(0);
    expect(err(() => dp.conntrack.add({ ...t, src: 'nope' }))).toBe('src');
    expect(err(() => dp.conntrack.add({ ...t, dst: '1.2.3.4' }))).toBe('dst');
    expect(err(() => dp.conntrack.add({ ...t, proto: 256 }))).toBe('proto');
    expect(err(() => dp.conntrack.add({ ...t, sport: -1 }))).toBe('sport');
    expect(err(() => dp.conntrack.add(t, 'UNREPLIED'))).toBe('state');
    expect(err(() => dp.conntrack.add(t, 'BOGUS' as never))).toBe('state');
    expect(err(() => dp.conntrack.lookupBulk([t, { ...t, dport: 70000 }]))).toBe('tuples[1].dport');
    expect(err(() => dp.conntrack.create({ capacity: 0 }))).toBe('capacity');
    expect(err(() => dp.conntrack.create({ capacity: 8, timeouts: { tcpFoo: 1 } as never }))).toBe(
      'timeouts.tcpFoo',
    );
    expect(err(() => dp.conntrack.create({ capacity: 8, timeouts: { icmp: -1 } }))).toBe(
      'timeouts.icmp',
    );
    expect(err(() => dp.conntrack.age(-5))).toBe('nowMs');
    expect(err(() => dp.acl.load([{ action: 'permit-statefull' as never }]))).toBe(
      'rules[0].action',
    );
    // Without a table, permit-stateful still permits and counts the failed insert.
    const fw = firewall();
    fw.conntrack.free();
    expect(fw.conntrack.capacity).toBe(0);
    expect(one(fw, udp(A, B, 1, 2), 0, 0)).toBe('forward');
    expect(one(fw, udp(B, A, 2, 1), 1, 0)).toBe('acl-deny');
    expect(fw.conntrack.stats().insertFailed).toBe(1);
    expect(fw.stages().map((s) => s.name)).toContain('conntrack');
  });

  it('traces hits, misses and the permit-stateful match', () => {
    const dp = firewall();
    dp.startTrace(3);
    dp.process(
      [
        { data: tcp({ src: A, dst: B, sport: 9, dport: 22, flags: SYN }), port: 0 },
        { data: flowFrame({ dstMac: OUT_MAC, srcMac: IN_MAC, v6: false }), port: 0 },
      ],
      0,
    );
    dp.process(
      [{ data: tcp({ src: B, dst: A, sport: 22, dport: 9, flags: SYN | ACK }), port: 1 }],
      1,
    );
    const trace = dp.readTrace().map((r) => `${r.packet} ${r.stage}: ${r.detail}`);
    expect(trace).toContain('1 conntrack: miss tcp');
    expect(trace).toContain('1 acl: rule 0 permit-stateful');
    expect(trace).toContain('2 conntrack: miss udp');
    expect(trace).toContain('3 conntrack: hit tcp SYN_RECV reply');
    expect(trace.filter((t) => t.startsWith('3 acl'))).toEqual([]);
  });

  it('differential: conversations, mutated and random frames, time and evictions against the reference', () => {
    const rules: AclRule[] = [
      { action: 'permit-stateful', src: '10.0.0.0/8', inPort: 0 },
      { action: 'permit-stateful', src: 'fd00::/8', inPort: 0 },
      { action: 'permit', proto: 17, dport: 7 },
      { action: 'permit-stateful', proto: 47 },
    ];
    const setup = (t: Datapath | ReferenceDatapath) => {
      t.addBridge(1);
      t.setPort(0, { bridge: 1 });
      t.setPort(1, { bridge: 1 });
      t.setPort(2, { vrf: 1 });
      t.addVxlanTunnel(0, tunnelV4());
      if (t instanceof ReferenceDatapath) {
        t.addMac(1, IN_MAC, 0, true);
        t.addMac(1, OUT_MAC, 1, true);
        t.loadAcl(
          rules.map((r, i) => checkAclRule(r, i)),
          true,
        );
        for (const p of [0, 1, 2, 100]) t.bindAcl(p, true);
        t.conntrack.create(16, { UNREPLIED: 3000, SYN_SENT: 4000, CLOSE: 1000, ICMP: 2000 });
        t.router.createVrf(1);
        t.router.setNextHop(0, { port: 1, dstMac: OUT_MAC, srcMac: IN_MAC });
        t.router.addRoute(1, 0, 0, 0);
      } else {
        t.macTable.add(1, IN_MAC, 0, { static: true });
        t.macTable.add(1, OUT_MAC, 1, { static: true });
        t.acl.load(rules, { defaultAction: 'deny' });
        for (const p of [0, 1, 2, 100]) t.acl.bind(p);
        t.conntrack.create({
          capacity: 16,
          timeouts: { udpUnreplied: 3, tcpSynSent: 4, tcpClose: 1, icmp: 2 },
        });
        t.routes.create(1);
        t.nextHops.add(0, { port: 1, dstMac: OUT_MAC, srcMac: IN_MAC });
        t.routes.add(1, '0.0.0.0/0', 0);
      }
    };
    const { dp, ref } = configuredPair(setup);
    const rand = prng(SEED ^ 0xc7c7);
    const insides = ['10.0.0.1', '10.0.0.2', '10.9.9.9', 'fd00::1', 'fd00::2'];
    const outsides = ['192.0.2.1', '198.51.100.2', '2001:db8::1', '2001:db8::7'];
    const pick = <T>(xs: readonly T[]) => xs[randInt(rand, xs.length)]!;
    const flagSets = [SYN, SYN | ACK, ACK, ACK | FIN, FIN, RST, RST | ACK, 0, SYN | FIN];
    const seen = new Set<string>();
    const statesSeen = new Set<string>();
    const udpSent: { a: string; b: string; pa: number; pb: number }[] = [];
    const convs: { a: string; b: string; pa: number; pb: number; step: number }[] = [];
    const TCP_STEPS: { fwd?: boolean; flags: number }[] = [
      { fwd: true, flags: SYN },
      { fwd: false, flags: SYN | ACK },
      { fwd: true, flags: ACK },
      { flags: ACK },
      { flags: ACK },
      { flags: ACK | FIN },
      { flags: ACK | FIN },
      { flags: ACK },
    ];
    let now = 1;
    for (let round = 0; round < ROUNDS; round++) {
      const batch: FrameIn[] = [];
      for (let i = 0; i < 1 + randInt(rand, 40); i++) {
        const v6 = rand() < 0.4;
        const a = pick(insides.filter((x) => x.includes(':') === v6));
        const b = pick(outsides.filter((x) => x.includes(':') === v6));
        let fwd = rand() < 0.5;
        const pa = 1000 + randInt(rand, 40);
        const pb = pick([53, 80, 7]);
        const k = randInt(rand, 20);
        let data: Uint8Array;
        if (k < 9) {
          // Mostly TCP conversations that go through their steps, now and then reset or
          // answered out of order; otherwise random flags.
          let flags = pick(flagSets);
          let seg = { a, b, pa, pb };
          if (rand() < 0.75) {
            if (convs.length < 12 && (convs.length === 0 || rand() < 0.3))
              convs.push({ a, b, pa, pb, step: 0 });
            const c = convs[randInt(rand, convs.length)]!;
            seg = c;
            const step = TCP_STEPS[c.step]!;
            fwd = step.fwd ?? rand() < 0.5;
            flags = rand() < 0.05 ? RST : step.flags;
            c.step++;
            if (c.step === TCP_STEPS.length || flags === RST) convs.splice(convs.indexOf(c), 1);
          }
          const [src, dst] = fwd ? [seg.a, seg.b] : [seg.b, seg.a];
          const [sp, dp2] = fwd ? [seg.pa, seg.pb] : [seg.pb, seg.pa];
          data = tcp({ src, dst, sport: sp, dport: dp2, flags, payload: randInt(rand, 30) });
        } else {
          const [src, dst] = fwd ? [a, b] : [b, a];
          const [sp, dp2] = fwd ? [pa, pb] : [pb, pa];
          if (k < 13) {
            // Half of the UDP traffic answers a recent datagram from the inside.
            const recent = udpSent[randInt(rand, udpSent.length)];
            if (recent && rand() < 0.5) {
              fwd = false;
              data = udp(recent.b, recent.a, recent.pb, recent.pa);
            } else {
              data = udp(src, dst, sp, dp2);
              if (fwd) udpSent.push({ a, b, pa, pb });
              if (udpSent.length > 8) udpSent.shift();
            }
          } else if (k < 16) data = echo(src, dst, !fwd, randInt(rand, 3));
          else if (k < 17)
            data = frame(
              src,
              v6,
              v6 ? ipv6Packet(src, dst, 47, [1, 2, 3, 4]) : ipv4Packet(src, dst, 47, [1, 2, 3, 4]),
            );
          else if (k < 19)
            data = mutateFrame(rand, tcp({ src, dst, sport: sp, dport: dp2, flags: ACK }));
          else data = randomValidFrame(rand);
        }
        // Inside traffic arrives on port 0, outside on 1, some on the routed port 2; some
        // outside traffic comes through the VXLAN tunnel (its port 100 is bound too).
        if (!fwd && rand() < 0.15) batch.push({ data: vxlanFrame(data, 5001), port: 9 });
        else batch.push({ data, port: rand() < 0.1 ? 2 : fwd ? 0 : 1 });
      }
      const got = processBoth(dp, ref, batch, now, round);
      for (let i = 0; i < got.length; i++) {
        seen.add(got[i]!.drop ?? got[i]!.verdict);
      }
      expect(dp.acl.hits()).toEqual(ref.aclHits());
      expect(dp.conntrack.stats()).toEqual(ref.conntrack.stats);
      {
        const mine = [...dp.conntrack.iterate(now)].map((e) => ({
          tuple: e.tuple,
          state: e.state,
          lastSeenMs: e.lastSeenMs,
          expired: e.expired,
          packets: e.packets,
          bytes: e.bytes,
        }));
        const theirs = [...ref.conntrack.flows()].map(({ flow }) => {
          const from = flow.ends[flow.opener]!;
          const to = flow.ends[1 - flow.opener]!;
          const text = (b: Uint8Array) => formatIp(b, 0, flow.version);
          return {
            tuple: {
              src: text(from.addr),
              dst: text(to.addr),
              proto: flow.proto,
              sport: from.port,
              dport: to.port,
            },
            state: flow.state,
            lastSeenMs: flow.lastSeen,
            expired: ref.conntrack.isExpired(flow, now),
            packets: { original: flow.packets[0], reply: flow.packets[1] },
            bytes: { original: flow.bytes[0], reply: flow.bytes[1] },
          };
        });
        expect(mine).toEqual(theirs);
        for (const m of mine) statesSeen.add(m.state);
      }
      if (round % 50 === 49) expect(dp.conntrack.age(now)).toBe(ref.conntrack.age(now));
      now = (now + randInt(rand, 400) + (round === 120 ? 0xfffff000 : 0)) >>> 0;
    }
    const stats = dp.conntrack.stats();
    expect(stats.evicted).toBeGreaterThan(0);
    expect(stats.expired).toBeGreaterThan(0);
    expect(stats.hits).toBeGreaterThan(50);
    expect(stats.untracked).toBeGreaterThan(0);
    expect(statesSeen, [...statesSeen].join()).toEqual(
      new Set(CONNTRACK_STATES.filter((s) => s !== null)),
    );
    expect(statesSeen.size).toBe(10);
    expect(seen).toContain('acl-deny');
    expect(seen).toContain('forward');
  });
});
