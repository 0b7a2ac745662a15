import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createDatapath,
  DatapathConfigError,
  DatapathTableError,
  formatMac,
  writePcap,
  type Datapath,
  type ParsedLayer,
} from '../src/index.js';
import { flowFrame, prng, randomValidFrame, vxlanFrame } from './frames.js';
import { oracleDecode, type OracleLayer } from './oracle.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const C = '02:00:00:00:00:0c';
const dir = mkdtempSync(join(tmpdir(), 'dp-behaviour-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bridge(opts: { floodLimit?: number } = {}): Datapath {
  const dp = createDatapath({ batchSize: 32 });
  dp.addBridge(1, opts);
  for (const p of [0, 1, 2]) dp.setPort(p, { bridge: 1 });
  return dp;
}

const frame = (src: string, dst: string, sport = 1000) =>
  flowFrame({ srcMac: src, dstMac: dst, l4: { proto: 'udp', sport, dport: 9 } });

describe('L2 bridging', () => {
  it('floods an unknown destination, learns the source, then forwards', () => {
    const dp = bridge();
    const [first] = dp.process([{ data: frame(A, B), port: 0 }], 0);
    expect(first).toMatchObject({ verdict: 'flood', floodPorts: [1, 2], outPort: null });
    const [reply] = dp.process([{ data: frame(B, A), port: 1 }], 0);
    expect(reply).toMatchObject({ verdict: 'forward', outPort: 0 });
    const [again] = dp.process([{ data: frame(A, B), port: 0 }], 0);
    expect(again).toMatchObject({ verdict: 'forward', outPort: 1 });
    expect(dp.counters().bridges[1]).toMatchObject({
      learned: 2,
      floods: 1,
      forwards: 2,
      moves: 0,
    });
    expect(dp.counters().ports[1]).toMatchObject({ rxPackets: 1, txPackets: 2 });
  });

  it('moves a MAC that shows up on another port and drops traffic back to its own port', () => {
    const dp = bridge();
    dp.process([{ data: frame(A, B), port: 0 }], 0);
    dp.process([{ data: frame(A, B), port: 2 }], 0);
    expect(dp.macTable.lookup(1, A)).toBe(2);
    expect(dp.counters().bridges[1]?.moves).toBe(1);
    const [r] = dp.process([{ data: frame(B, A), port: 2 }], 0);
    expect(r).toMatchObject({ verdict: 'drop', drop: 'same-port' });
  });

  it('never forwards out of the bridge through an entry that outlived its port', () => {
    const dp = bridge();
    dp.addBridge(2);
    dp.process([{ data: frame(B, A), port: 1 }], 0);
    dp.setPort(1, { bridge: 2 });
    const [r] = dp.process([{ data: frame(A, B), port: 0 }], 0);
    expect(r).toMatchObject({ verdict: 'drop', drop: 'egress-not-in-bridge' });
  });

  it('ages learned entries but keeps static ones, and static entries do not move', () => {
    const dp = bridge();
    dp.macTable.add(1, C, 2, { static: true });
    dp.process([{ data: frame(A, B), port: 0 }], 1000);
    dp.process([{ data: frame(C, B), port: 1 }], 1000);
    expect(dp.macTable.lookup(1, C)).toBe(2);
    expect(dp.macTable.age(3000, 5000)).toBe(0);
    expect(dp.macTable.age(7000, 5000)).toBe(1);
    expect(dp.macTable.lookup(1, A)).toBeNull();
    expect(dp.macTable.lookup(1, C)).toBe(2);
    expect(dp.counters().bridges[1]?.aged).toBe(1);
  });

  it('accepts wall-clock times (Date.now()) and keeps windows and ages across the 2^32 wrap', () => {
    const dp = bridge({ floodLimit: 1 });
    const t = 2 ** 32 - 300; // 300 ms before the 32-bit millisecond clock wraps
    const unknown = (i: number) => [{ data: frame(A, `02:00:00:00:02:0${i}`), port: 0 }];
    expect(dp.process(unknown(1), Date.now())[0]?.verdict).toBe('flood');
    expect(dp.process(unknown(2), t)[0]?.verdict).toBe('flood');
    expect(dp.process(unknown(3), t + 500)[0]?.drop).toBe('flood-limit');
    expect(dp.process(unknown(4), t + 1200)[0]?.verdict).toBe('flood');
    expect(dp.macTable.age(t + 1200 + 999, 1000)).toBe(0);
    expect(dp.macTable.age(t + 1200 + 1001, 1000)).toBe(1);
    expect(() => dp.process(unknown(5), -1)).toThrow(/^nowMs:/);
  });

  it('rate-limits floods per bridge per 1000 ms window', () => {
    const dp = bridge({ floodLimit: 3 });
    const burst = Array.from({ length: 5 }, (_, i) => ({
      data: frame(A, `02:00:00:00:01:0${i}`),
      port: 0,
    }));
    expect(dp.process(burst, 100).map((r) => r.drop ?? r.verdict)).toEqual([
      'flood',
      'flood',
      'flood',
      'flood-limit',
      'flood-limit',
    ]);
    expect(dp.process(burst.slice(0, 1), 900).map((r) => r.drop)).toEqual(['flood-limit']);
    expect(dp.process(burst.slice(0, 1), 1100).map((r) => r.verdict)).toEqual(['flood']);
    expect(dp.counters().bridges[1]).toMatchObject({ floods: 4, floodDrops: 3 });
    expect(dp.counters().drops['flood-limit']).toBe(3);
  });

  it('drops multicast sources and ports outside any bridge, counting each reason', () => {
    const dp = bridge();
    dp.setPort(5, {});
    const r = dp.process(
      [
        { data: frame('03:00:00:00:00:01', B), port: 0 },
        { data: frame(A, B), port: 5 },
      ],
      0,
    );
    expect(r.map((x) => x.drop)).toEqual(['src-mac-multicast', 'port-not-in-bridge']);
    expect(dp.counters().drops).toEqual({ 'src-mac-multicast': 1, 'port-not-in-bridge': 1 });
    expect(dp.counters().ports[5]?.drops).toBe(1);
  });
});

function tunnelled(local: string, remote: string, underlayMac: [string, string]) {
  const dp = createDatapath({ batchSize: 32 });
  dp.addBridge(1);
  dp.setPort(0, { bridge: 1 });
  dp.setPort(9, {});
  dp.addVxlanTunnel(3, {
    port: 50,
    bridge: 1,
    vni: 0x123456,
    local,
    remote,
    localMac: underlayMac[0],
    remoteMac: underlayMac[1],
    underlayPort: 9,
  });
  return dp;
}

function tsharkChecks(frames: Uint8Array[], fields: string[]): string[][] {
  const file = join(dir, `enc-${Math.random().toString(36).slice(2)}.pcap`);
  writeFileSync(file, writePcap(frames.map((data) => ({ data }))));
  const out = execFileSync(
    'tshark',
    [
      '-r',
      file,
      '-n',
      '-o',
      'ip.check_checksum:TRUE',
      '-o',
      'udp.check_checksum:TRUE',
      '-T',
      'fields',
      '-E',
      'occurrence=f',
      ...fields.flatMap((f) => ['-e', f]),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return out
    .trim()
    .split('\n')
    .map((l) => l.split('\t'));
}

describe('VXLAN', () => {
  for (const [name, local, remote] of [
    ['IPv4', '192.0.2.1', '192.0.2.2'],
    ['IPv6', '2001:db8::1', '2001:db8::2'],
  ] as const) {
    it(`encapsulates towards the remote VTEP over ${name} with valid checksums and a flow-hash source port`, () => {
      const dp = tunnelled(local, remote, ['02:00:00:00:ff:01', '02:00:00:00:ff:02']);
      dp.macTable.add(1, B, 50);
      const inners = [frame(A, B, 1000), frame(A, B, 1000), frame(A, B, 2000), frame(A, B, 3000)];
      const out = dp.process(
        inners.map((data) => ({ data, port: 0 })),
        0,
      );
      for (const r of out) expect(r).toMatchObject({ verdict: 'forward', outPort: 9 });
      const parsed = dp.parse(out.map((r) => r.frame));
      for (const [i, p] of parsed.entries()) {
        expect(p).toMatchObject({ ok: true, vni: 0x123456 });
        expect(
          Buffer.from(out[i]?.frame.subarray(p.inner?.ethOffset ?? 0) ?? []).equals(
            Buffer.from(inners[i] ?? []),
          ),
        ).toBe(true);
      }
      const sports = parsed.map((p) => (p.outer.l4 as { sport: number }).sport);
      expect(sports[0]).toBe(sports[1]);
      expect(new Set(sports).size).toBe(3);
      for (const s of sports) expect(s).toBeGreaterThanOrEqual(49152);
      const v = name === 'IPv4' ? 'ip' : 'ipv6';
      const rows = tsharkChecks(
        out.map((r) => r.frame),
        [
          `${v}.src`,
          `${v}.dst`,
          'udp.dstport',
          'vxlan.vni',
          'ip.checksum.status',
          'udp.checksum.status',
        ],
      );
      for (const row of rows) {
        expect(row.slice(0, 4)).toEqual([local, remote, '4789', String(0x123456)]);
        // tshark checksum status: 0 bad, 1 good, 2 unverified.
        if (name === 'IPv4') expect(row[4]).toBe('1');
        else expect(row[5]).toBe('1');
      }
    });
  }

  it('decapsulates frames from the remote VTEP, learning inner sources on the tunnel port', () => {
    const dp = tunnelled('192.0.2.1', '192.0.2.2', ['02:00:00:00:ff:01', '02:00:00:00:ff:02']);
    const inner = frame(B, A);
    const [r] = dp.process(
      [{ data: vxlanFrame(inner, 0x123456, { src: '192.0.2.2', dst: '192.0.2.1' }), port: 9 }],
      0,
    );
    expect(r).toMatchObject({ verdict: 'flood', inPort: 50, floodPorts: [0] });
    expect(Buffer.from(r?.frame ?? []).equals(Buffer.from(inner))).toBe(true);
    expect(dp.macTable.lookup(1, B)).toBe(50);
    const [wrongVni] = dp.process(
      [{ data: vxlanFrame(inner, 7, { src: '192.0.2.2', dst: '192.0.2.1' }), port: 9 }],
      0,
    );
    expect(wrongVni?.drop).toBe('vxlan-no-tunnel');
  });

  it('replicates floods into every tunnel of the bridge, but not floods that came from a tunnel', () => {
    const dp = tunnelled('192.0.2.1', '192.0.2.2', ['02:00:00:00:ff:01', '02:00:00:00:ff:02']);
    dp.addVxlanTunnel(4, {
      port: 51,
      bridge: 1,
      vni: 99,
      local: '2001:db8::1',
      remote: '2001:db8::3',
      localMac: '02:00:00:00:ff:01',
      remoteMac: '02:00:00:00:ff:03',
      underlayPort: 9,
    });
    dp.addVxlanTunnel(5, {
      port: 52,
      bridge: 1,
      vni: 98,
      local: '192.0.2.1',
      remote: '192.0.2.4',
      localMac: '02:00:00:00:ff:01',
      remoteMac: '02:00:00:00:ff:04',
      underlayPort: 9,
      flood: false,
    });
    const bum = frame(A, 'ff:ff:ff:ff:ff:ff');
    const [r] = dp.process([{ data: bum, port: 0 }], 0);
    expect(r?.verdict).toBe('flood');
    expect(r?.floodCopies.map((c) => [c.port, c.outPort])).toEqual([
      [50, 9],
      [51, 9],
    ]);
    const parsed = dp.parse(r?.floodCopies.map((c) => c.frame) ?? []);
    expect(parsed.map((p) => [p.vni, p.outer.ipVersion])).toEqual([
      [0x123456, 4],
      [99, 6],
    ]);
    expect(dp.counters().ports[9]?.txPackets).toBe(2);
    const [fromTunnel] = dp.process(
      [
        {
          data: vxlanFrame(frame(B, 'ff:ff:ff:ff:ff:ff'), 0x123456, {
            src: '192.0.2.2',
            dst: '192.0.2.1',
          }),
          port: 9,
        },
      ],
      0,
    );
    expect(fromTunnel).toMatchObject({
      verdict: 'flood',
      inPort: 50,
      floodPorts: [0],
      floodCopies: [],
    });
  });

  it('round-trips between two datapaths: encapsulated on one, decapsulated on the other', () => {
    const left = tunnelled('192.0.2.1', '192.0.2.2', ['02:00:00:00:ff:01', '02:00:00:00:ff:02']);
    const right = tunnelled('192.0.2.2', '192.0.2.1', ['02:00:00:00:ff:02', '02:00:00:00:ff:01']);
    left.macTable.add(1, B, 50);
    right.macTable.add(1, B, 0);
    const inner = frame(A, B);
    const [enc] = left.process([{ data: inner, port: 0 }], 0);
    const [dec] = right.process([{ data: enc?.frame ?? new Uint8Array(), port: 9 }], 0);
    expect(dec).toMatchObject({ verdict: 'forward', outPort: 0, inPort: 50 });
    expect(Buffer.from(dec?.frame ?? []).equals(Buffer.from(inner))).toBe(true);
  });
});

describe('MAC table verbs', () => {
  it('add, lookup, lookupBulk, delete, iterate, reset, free and create', () => {
    const dp = createDatapath({ macBucketsLog2: 4 });
    dp.macTable.add(1, A, 3);
    dp.macTable.add(2, A, 4);
    expect(
      dp.macTable.lookupBulk([
        { bridge: 1, mac: A },
        { bridge: 2, mac: A },
        { bridge: 3, mac: A },
      ]),
    ).toEqual([3, 4, null]);
    expect([...dp.macTable.iterate()].map((e) => [e.bridge, e.mac, e.port]).sort()).toEqual([
      [1, A, 3],
      [2, A, 4],
    ]);
    expect(dp.macTable.delete(1, A)).toBe(true);
    expect(dp.macTable.delete(1, A)).toBe(false);
    expect(dp.macTable.size).toBe(1);
    dp.macTable.reset();
    expect(dp.macTable.lookup(2, A)).toBeNull();
    dp.macTable.free();
    expect(() => dp.macTable.add(1, A, 1)).toThrow(DatapathTableError);
    dp.macTable.create(3);
    expect(dp.macTable.capacity).toBe(32);
    expect(() => dp.macTable.create(5)).toThrow(/bucketsLog2/);
  });

  it('fills past 90 % of its capacity without losing an entry (cuckoo moves)', () => {
    const dp = createDatapath({ macBucketsLog2: 10 });
    const rand = prng(99);
    const added: [number, string, number][] = [];
    for (;;) {
      const mac = formatMac(Uint8Array.from({ length: 6 }, () => Math.floor(rand() * 256)));
      const bridge = Math.floor(rand() * 4);
      try {
        dp.macTable.add(bridge, mac, added.length % 200);
      } catch (err) {
        expect(err).toBeInstanceOf(DatapathTableError);
        break;
      }
      added.push([bridge, mac, added.length % 200]);
    }
    expect(added.length / dp.macTable.capacity).toBeGreaterThan(0.9);
    expect(dp.macTable.lookupBulk(added.map(([bridge, mac]) => ({ bridge, mac })))).toEqual(
      added.map(([, , port]) => port),
    );
  });
});

describe('trace and configuration errors', () => {
  it('records each stage decision for the next N packets only', () => {
    const dp = bridge();
    dp.startTrace(2);
    dp.process(
      [
        { data: frame(A, B), port: 0 },
        { data: frame(B, A), port: 1 },
        { data: frame(A, B), port: 0 },
      ],
      0,
    );
    const trace = dp.readTrace();
    expect(trace.map((t) => [t.packet, t.stage, t.next])).toEqual([
      [1, 'parse', 'l2'],
      [2, 'parse', 'l2'],
      [1, 'l2', 'tx'],
      [2, 'l2', 'tx'],
      [1, 'tx', null],
      [2, 'tx', null],
    ]);
    expect(trace[2]?.detail).toBe('bridge 1 dst miss');
    expect(trace[3]?.detail).toBe('bridge 1 dst port 0');
    expect(trace[4]?.detail).toBe('flood copies 2');
    expect(trace[5]?.detail).toBe('port 0');
    expect(dp.readTrace()).toEqual([]);
  });

  it('drops hostile descriptors whose offset + length would wrap around 2^32', () => {
    const dp = bridge();
    const r = dp.regions();
    dp.writeSlot(0, frame(A, B), 0);
    const view = new DataView(dp.core.memory.buffer);
    const d = r.descBase;
    for (const [off, len] of [
      [0xfffffff0, 0x20],
      [0xffffffff, 1],
      [r.slotSize - 64, 1],
      [64, r.slotSize],
    ]) {
      view.setUint32(d, off as number, true);
      view.setUint32(d + 4, len as number, true);
      dp.processSlots([0], 0);
      expect(dp.readResult(0).drop, `off ${off} len ${len}`).toBe('bad-descriptor');
    }
  });

  it('names the offending field in configuration errors', () => {
    const dp = createDatapath();
    expect(() => dp.addBridge(300)).toThrow(DatapathConfigError);
    expect(() => dp.setPort(1, { bridge: 7 })).toThrow(/bridge: bridge 7 does not exist/);
    dp.addBridge(1);
    expect(() =>
      dp.addVxlanTunnel(0, {
        port: 1,
        bridge: 1,
        vni: 1,
        local: '10.0.0.1',
        remote: 'fd00::1',
        localMac: A,
        remoteMac: B,
        underlayPort: 2,
      }),
    ).toThrow(/^remote:/);
    expect(() =>
      dp.addVxlanTunnel(0, {
        port: 1,
        bridge: 1,
        vni: 1 << 24,
        local: '10.0.0.1',
        remote: '10.0.0.2',
        localMac: A,
        remoteMac: B,
        underlayPort: 2,
      }),
    ).toThrow(/^vni:/);
    expect(() => dp.macTable.add(1, 'zz:00:00:00:00:00', 1)).toThrow(/^mac:/);
    expect(() => dp.process([{ data: new Uint8Array(5000), port: 0 }], 0)).toThrow(/^data:/);
  });
});

describe('parser vs the naive oracle', () => {
  it('inspection runs (parse) leave every counter alone', () => {
    const dp = bridge();
    dp.parse([frame(A, B), new Uint8Array(3)]);
    expect(dp.counters()).toEqual({ ports: {}, bridges: {}, drops: {} });
    expect(Object.values(dp.stageCounters()).every((c) => c.packets === 0)).toBe(true);
  });

  it('agrees on every field of 20 000 well-formed random frames', () => {
    const dp = createDatapath();
    const rand = prng(5);
    const frames = Array.from({ length: 20_000 }, () => randomValidFrame(rand));
    const results = dp.parse(frames);
    const view = (l: ParsedLayer, f: Uint8Array): OracleLayer => {
      const d = oracleDecode(f.subarray(l.ethOffset));
      return {
        ...d,
        type: l.ethType,
        vlans: l.vlans,
        ports: l.l4 && 'sport' in l.l4 ? [l.l4.sport, l.l4.dport] : null,
        icmp: l.l4 && 'type' in l.l4 ? [l.l4.type, l.l4.code] : null,
        ip: d.ip && l.ipVersion ? { ...d.ip, proto: l.proto ?? -1 } : null,
      };
    };
    results.forEach((r, i) => {
      const f = frames[i] as Uint8Array;
      const o = oracleDecode(f);
      expect(r.ok, Buffer.from(f).toString('hex')).toBe(true);
      const { vni, inner, ...outer } = o;
      expect(view(r.outer, f)).toEqual({
        ...oracleDecode(f),
        ...outer,
        vni: o.vni,
        inner: o.inner,
      } as OracleLayer);
      expect(r.vni).toBe(vni);
      if (inner && r.inner)
        expect({ type: r.inner.ethType, vlans: r.inner.vlans, proto: r.inner.proto }).toEqual({
          type: inner.type,
          vlans: inner.vlans,
          proto: inner.ip?.proto ?? null,
        });
      else expect(r.inner).toBeNull();
    });
  });
});
