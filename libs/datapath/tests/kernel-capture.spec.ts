import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCaptureFiles, writePcap, type FrameRecord } from '../src/index.js';
import { ethernet, flowFrame, ipv4Packet, ipv6Packet, l4Bytes, vxlanFrame } from './frames.js';
import { oursView, tsharkFields, tsharkView } from './tshark.js';
import { netnsCleanup, sh } from './netns.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot)
  console.warn('kernel-capture: namespace tests skipped: they need root (ip netns, tcpdump)');
const id = `${process.pid % 10000}${Math.floor(Math.random() * 1000)}`;
const nsA = `dpA${id}`;
const nsB = `dpB${id}`;
const children: ChildProcess[] = [];

function spawnIn(ns: string, args: string[]): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', ns, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  return child;
}

async function records(file: string): Promise<FrameRecord[]> {
  const lines: string[] = [];
  await parseCaptureFiles([file], { json: true }, (l) => lines.push(l));
  return lines.map((l) => JSON.parse(l) as FrameRecord);
}

async function compareWithTshark(file: string): Promise<FrameRecord[]> {
  const ours = await records(file);
  const theirs = tsharkFields(file);
  expect(ours.length).toBe(theirs.length);
  ours.forEach((r, i) => {
    expect(r.ok, `frame ${i + 1} dropped: ${r.drop}`).toBe(true);
    expect(oursView(r), `frame ${i + 1} of ${file}`).toEqual(tsharkView(theirs[i] as never, r));
  });
  return ours;
}

describe.skipIf(!isRoot)(
  'parser vs tshark on real kernel traffic (veth + vxlan in namespaces)',
  () => {
    // Created in beforeAll so that a skipped suite leaves nothing behind.
    let dir = '';
    let pcapFile = '';
    let vxlanDeviceFile = '';

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'dp-capture-'));
      pcapFile = join(dir, 'kernel.pcap');
      vxlanDeviceFile = join(dir, 'kernel-vx4.pcap');
      sh(['ip', 'netns', 'add', nsA]);
      sh(['ip', 'netns', 'add', nsB]);
      sh([
        'ip',
        'link',
        'add',
        'va',
        'netns',
        nsA,
        'type',
        'veth',
        'peer',
        'name',
        'vb',
        'netns',
        nsB,
      ]);
      for (const [ns, dev, n] of [
        [nsA, 'va', 1],
        [nsB, 'vb', 2],
      ] as const) {
        sh(['ip', 'link', 'set', 'lo', 'up'], ns);
        sh(['ip', 'addr', 'add', `10.77.0.${n}/24`, 'dev', dev], ns);
        sh(['ip', 'addr', 'add', `fd77::${n}/64`, 'dev', dev, 'nodad'], ns);
        sh(['ip', 'link', 'set', dev, 'up'], ns);
        // Large offloaded segments would not be what a NIC puts on the wire.
        sh(['ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off'], ns);
        const peer = n === 1 ? 2 : 1;
        sh(
          [
            'ip',
            'link',
            'add',
            'vx4',
            'type',
            'vxlan',
            'id',
            '4242',
            'local',
            `10.77.0.${n}`,
            'remote',
            `10.77.0.${peer}`,
            'dstport',
            '4789',
            'dev',
            dev,
          ],
          ns,
        );
        sh(
          [
            'ip',
            'link',
            'add',
            'vx6',
            'type',
            'vxlan',
            'id',
            '4343',
            'local',
            `fd77::${n}`,
            'remote',
            `fd77::${peer}`,
            'dstport',
            '4789',
            'dev',
            dev,
          ],
          ns,
        );
        sh(['ip', 'addr', 'add', `10.88.0.${n}/24`, 'dev', 'vx4'], ns);
        sh(['ip', 'addr', 'add', `10.99.0.${n}/24`, 'dev', 'vx6'], ns);
        sh(['ip', 'addr', 'add', `fd88::${n}/64`, 'dev', 'vx4', 'nodad'], ns);
        sh(['ip', 'link', 'set', 'vx4', 'up'], ns);
        sh(['ip', 'link', 'set', 'vx6', 'up'], ns);
      }
      const server = spawnIn(nsB, [
        'node',
        '-e',
        "const s=require('net').createServer(c=>c.end('pong\\n'));s.listen(5002,'::')",
      ]);
      const capture = (dev: string, file: string) =>
        spawnIn(nsA, ['tcpdump', '-i', dev, '-U', '--immediate-mode', '-s', '0', '-w', file]);
      const dumps = [capture('va', pcapFile), capture('vx4', vxlanDeviceFile)];
      await Promise.all(
        dumps.map(
          (dump) =>
            new Promise<void>((resolve, reject) => {
              const t = setTimeout(() => reject(new Error('tcpdump did not start')), 10_000);
              dump.stderr?.on('data', (d: Buffer) => {
                if (d.toString().includes('listening on')) {
                  clearTimeout(t);
                  resolve();
                }
              });
            }),
        ),
      );
      await new Promise((r) => setTimeout(r, 300));
      void server;
      const bash = (script: string) => sh(['bash', '-c', script], nsA);
      sh(['ping', '-c', '2', '-i', '0.2', '-w', '10', '10.77.0.2'], nsA);
      sh(['ping', '-6', '-c', '2', '-i', '0.2', '-w', '10', 'fd77::2'], nsA);
      sh(['ping', '-c', '2', '-i', '0.2', '-w', '10', '10.88.0.2'], nsA);
      sh(['ping', '-c', '2', '-i', '0.2', '-w', '10', '10.99.0.2'], nsA);
      sh(['ping', '-6', '-c', '2', '-i', '0.2', '-w', '10', 'fd88::2'], nsA);
      for (const host of ['10.77.0.2', 'fd77::2', '10.88.0.2', '10.99.0.2']) {
        bash(`exec 3<>/dev/tcp/${host}/5002; read -t 3 line <&3; exec 3<&-`);
        bash(`echo datagram > /dev/udp/${host}/5003`);
      }
      await new Promise((r) => setTimeout(r, 500));
      for (const dump of dumps) dump.kill('SIGINT');
      await Promise.all(dumps.map((dump) => new Promise((r) => dump.once('exit', r))));
    }, 60_000);

    afterAll(() => netnsCleanup(children, [nsA, nsB], dir));

    it('agrees with tshark on every frame of a tcpdump capture (pcap)', async () => {
      const ours = await compareWithTshark(pcapFile);
      const kinds = new Set(
        ours.map(
          (r) =>
            `${r.ip?.v ?? 'l2'}/${r.ip?.proto ?? r.eth?.type}/${r.vni === null ? '' : 'vxlan'}${r.inner?.ip ? `/${r.inner.ip.proto}` : ''}`,
        ),
      );
      // ICMP, ICMPv6, TCP and UDP over v4 and v6, and VXLAN over both underlays, were captured.
      for (const k of [
        '4/1/',
        '6/58/',
        '4/6/',
        '6/6/',
        '4/17/',
        '6/17/',
        '4/17/vxlan/1',
        '6/17/vxlan/1',
        '4/17/vxlan/6',
        '6/17/vxlan/6',
        '4/17/vxlan/58',
      ]) {
        expect(kinds, k).toContain(k);
      }
    });

    it('agrees with tshark on the frames captured on the vxlan device itself', async () => {
      const ours = await compareWithTshark(vxlanDeviceFile);
      const seen = new Set(ours.map((r) => `${r.ip?.v ?? 'l2'}/${r.ip?.proto ?? r.eth?.type}`));
      // ping, TCP and UDP over the IPv4 overlay, ping6 over the IPv6 overlay.
      for (const k of ['4/1', '4/6', '4/17', '6/58']) expect(seen, k).toContain(k);
    });

    it('reads the same capture converted to pcapng identically', async () => {
      const ng = join(dir, 'kernel.pcapng');
      execFileSync('editcap', ['-F', 'pcapng', pcapFile, ng], { stdio: 'ignore' });
      expect(readFileSync(ng).readUInt32LE(0)).toBe(0x0a0d0d0a);
      const strip = (rs: FrameRecord[]) => rs.map(({ file: _f, ...rest }) => rest);
      expect(strip(await records(ng))).toEqual(strip(await records(pcapFile)));
    });
  },
);

describe('parser vs tshark on generated captures', () => {
  const genDir = mkdtempSync(join(tmpdir(), 'dp-generated-'));
  afterAll(() => rmSync(genDir, { recursive: true, force: true }));

  it('agrees on VLAN, QinQ, IPv4 options, IPv6 extension headers, fragments and VXLAN', async () => {
    const hbh = [17, 0, 1, 4, 0, 0, 0, 0];
    const frag6 = [6, 0, 0, 1, 0, 0, 0, 9];
    const udp = l4Bytes({ proto: 'udp', sport: 1111, dport: 2222, payload: [1, 2, 3, 4] });
    const tcp = l4Bytes({ proto: 'tcp', sport: 3333, dport: 443 });
    const frames = [
      flowFrame({ vlans: [100], l4: { proto: 'tcp', sport: 40000, dport: 22 } }),
      flowFrame({ vlans: [10, 20], v6: true, l4: { proto: 'udp', sport: 5353, dport: 5353 } }),
      flowFrame({ l4: { proto: 'icmp', type: 8, code: 0 } }),
      flowFrame({ v6: true, l4: { proto: 'icmp', type: 128, code: 0 } }),
      Uint8Array.from(
        ethernet(
          '02:00:00:00:00:02',
          '02:00:00:00:00:01',
          0x0800,
          ipv4Packet('10.1.1.1', '10.2.2.2', 17, udp.bytes, {
            options: [1, 1, 7, 7, 4, 0, 0, 0, 0, 0, 0, 0],
          }),
        ),
      ),
      Uint8Array.from(
        ethernet(
          '02:00:00:00:00:02',
          '02:00:00:00:00:01',
          0x0800,
          ipv4Packet('10.1.1.1', '10.2.2.2', 17, udp.bytes, { fragment: 0x2000 }),
        ),
      ),
      Uint8Array.from(
        ethernet(
          '02:00:00:00:00:02',
          '02:00:00:00:00:01',
          0x0800,
          ipv4Packet('10.1.1.1', '10.2.2.2', 17, udp.bytes, { fragment: 0x0003 }),
        ),
      ),
      Uint8Array.from(
        ethernet(
          '02:00:00:00:00:02',
          '02:00:00:00:00:01',
          0x86dd,
          ipv6Packet('2001:db8::1', '2001:db8::2', 0, [...hbh, ...udp.bytes]),
        ),
      ),
      Uint8Array.from(
        ethernet(
          '02:00:00:00:00:02',
          '02:00:00:00:00:01',
          0x86dd,
          ipv6Packet('2001:db8::1', '::ffff:a00:1', 44, [...frag6, ...tcp.bytes]),
        ),
      ),
      vxlanFrame(flowFrame({ vlans: [7], l4: { proto: 'tcp', sport: 1, dport: 2 } }), 77),
      vxlanFrame(flowFrame({ v6: true, l4: { proto: 'udp', sport: 3, dport: 4 } }), 0xabcdef, {
        v6: true,
      }),
      Uint8Array.from(
        ethernet(
          'ff:ff:ff:ff:ff:ff',
          '02:00:00:00:00:01',
          0x0806,
          [0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2],
        ),
      ),
    ];
    const file = join(genDir, 'generated.pcap');
    writeFileSync(file, writePcap(frames.map((data) => ({ data }))));
    const ours = await compareWithTshark(file);
    expect(ours.map((r) => r.vlan)).toContainEqual([10, 20]);
    expect(ours[6]?.l4).toBeNull();
    expect(ours[8]?.ip).toEqual({ v: 6, src: '2001:db8::1', dst: '::ffff:10.0.0.1', proto: 6 });
    expect(ours[10]?.vni).toBe(0xabcdef);
  });
});
