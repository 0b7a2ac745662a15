// The gateway's replies against a real Linux neighbour implementation: a namespace resolves
// the gateway addresses; its ARP request and Neighbor Solicitation are captured on the other
// end of a veth, run through the datapath, and the replies are injected back (AF_PACKET).
// The kernel must then hold the gateway MAC in its neighbour table (as a router for IPv6).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatapath, readCapture } from '../src/index.js';
import { netnsCleanup, sh } from './netns.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('gateway-kernel: skipped: needs root (ip netns, tcpdump)');
const id = `${process.pid % 10000}${Math.floor(Math.random() * 1000)}`;
const nsHost = `dpGh${id}`;
const nsDp = `dpGd${id}`;
const GW_MAC = '02:00:00:00:99:01';
const children: ChildProcess[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Captures the first frame matching `filter` on the datapath side while `trigger` runs. */
async function captureOne(file: string, filter: string, trigger: string[]): Promise<Uint8Array> {
  const dump = spawn(
    'ip',
    ['netns', 'exec', nsDp, 'tcpdump', '-i', 'vd', '-U', '-c', '1', '-w', file, filter],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  children.push(dump);
  let listening = false;
  dump.stderr?.on('data', (b: Buffer) => {
    if (b.toString().includes('listening')) listening = true;
  });
  for (let i = 0; i < 50 && !listening; i++) await sleep(100);
  const ping = spawn('ip', ['netns', 'exec', nsHost, ...trigger], { stdio: 'ignore' });
  children.push(ping);
  const done = new Promise<void>((resolve) => dump.on('exit', () => resolve()));
  await Promise.race([done, sleep(8000)]);
  const packets = readCapture(readFileSync(file)).packets;
  expect(packets.length, `captured ${filter}`).toBe(1);
  return packets[0]!.data;
}

function inject(frame: Uint8Array): void {
  const py =
    'import socket,sys\n' +
    's=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\n' +
    "s.bind(('vd',0))\n" +
    's.send(bytes.fromhex(sys.argv[1]))\n';
  sh(['python3', '-c', py, Buffer.from(frame).toString('hex')], nsDp);
}

async function neighbour(args: string[]): Promise<string> {
  let out = '';
  for (let i = 0; i < 30; i++) {
    out = sh(['ip', ...args]);
    if (out.includes(GW_MAC)) return out;
    await sleep(100);
  }
  return out;
}

describe.skipIf(!isRoot)('bridge gateway replies accepted by the Linux kernel', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dp-gw-kernel-'));
    sh(['ip', 'netns', 'add', nsHost]);
    sh(['ip', 'netns', 'add', nsDp]);
    sh([
      'ip',
      'link',
      'add',
      'vh',
      'netns',
      nsHost,
      'type',
      'veth',
      'peer',
      'name',
      'vd',
      'netns',
      nsDp,
    ]);
    sh(['ip', 'link', 'set', 'vh', 'address', '02:00:00:00:00:05'], nsHost);
    sh(['ip', 'addr', 'add', '10.77.0.5/24', 'dev', 'vh'], nsHost);
    sh(['ip', 'addr', 'add', '2001:db8:77::5/64', 'dev', 'vh', 'nodad'], nsHost);
    sh(['ip', 'link', 'set', 'vh', 'up'], nsHost);
    sh(['ip', 'link', 'set', 'vd', 'up'], nsDp);
    // No router solicitations or other chatter from the datapath side.
    sh(['sysctl', '-qw', 'net.ipv6.conf.vd.disable_ipv6=1'], nsDp);
  });

  afterAll(() => netnsCleanup(children, [nsHost, nsDp], dir));

  it('ARP reply and Neighbor Advertisement resolve the gateway', { timeout: 60_000 }, async () => {
    const dp = createDatapath({ batchSize: 16 });
    dp.addBridge(1);
    dp.setPort(0, { bridge: 1 });
    dp.setPort(1, { bridge: 1 });
    dp.setBridgeGateway(1, { mac: GW_MAC, ipv4: ['10.77.0.1'], ipv6: ['2001:db8:77::1'] });

    const arp = await captureOne(join(dir, 'arp.pcap'), 'arp', [
      'ping',
      '-c',
      '6',
      '-i',
      '0.5',
      '-W',
      '1',
      '10.77.0.1',
    ]);
    const [arpReply] = dp.process([{ data: arp, port: 0 }], 1);
    expect(arpReply!.verdict).toBe('forward');
    inject(arpReply!.frame);
    expect(await neighbour(['-n', nsHost, 'neigh', 'show', '10.77.0.1', 'dev', 'vh'])).toContain(
      `lladdr ${GW_MAC}`,
    );

    const ns = await captureOne(join(dir, 'ns.pcap'), 'icmp6 and ip6[40] == 135', [
      'ping',
      '-6',
      '-c',
      '6',
      '-i',
      '0.5',
      '-W',
      '1',
      '2001:db8:77::1',
    ]);
    const [na] = dp.process([{ data: ns, port: 0 }], 2);
    expect(na!.verdict).toBe('forward');
    inject(na!.frame);
    const entry = await neighbour([
      '-n',
      nsHost,
      '-6',
      'neigh',
      'show',
      '2001:db8:77::1',
      'dev',
      'vh',
    ]);
    expect(entry).toContain(`lladdr ${GW_MAC}`);
    expect(entry).toContain('router');
    expect(dp.gateways.lookup(1)).toMatchObject({ arpReplies: 1, ndReplies: 1 });
  });
});
