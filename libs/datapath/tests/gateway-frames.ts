// Frames and tshark checks for the gateway, MTU and policer specs.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePcap } from '../src/index.js';
import { ethernet, ipv6, mac, ipv4 } from './frames.js';

function sum16(bytes: number[]): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) s += ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** Solicited-node multicast group of an IPv6 address. */
export function solicitedNode(target: string): string {
  const t = ipv6(target);
  const h = (a: number, b: number) => ((a << 8) | b).toString(16);
  return `ff02::1:ff${(t[13] ?? 0).toString(16).padStart(2, '0')}:${h(t[14] ?? 0, t[15] ?? 0)}`;
}

/** An ARP request from `senderMac`/`senderIp` for `targetIp`. */
export function arpRequest(
  senderMac: string,
  senderIp: string,
  targetIp: string,
  vlans: number[] = [],
): Uint8Array {
  const body = [
    0,
    1,
    8,
    0,
    6,
    4,
    0,
    1,
    ...mac(senderMac),
    ...ipv4(senderIp),
    0,
    0,
    0,
    0,
    0,
    0,
    ...ipv4(targetIp),
  ];
  return Uint8Array.from(ethernet('ff:ff:ff:ff:ff:ff', senderMac, 0x0806, body, vlans));
}

/** Options of `neighborSolicitation`; the defaults make a valid NS. */
export interface NsSpec {
  srcMac?: string;
  src?: string;
  dst?: string;
  target: string;
  hopLimit?: number;
  code?: number;
  badChecksum?: boolean;
  /** Source link-layer address option (default: with one unless src is ::). */
  slla?: boolean;
  /** A zero-length option (invalid). */
  zeroOption?: boolean;
  vlans?: number[];
}

/** An ICMPv6 Neighbor Solicitation. */
export function neighborSolicitation(s: NsSpec): Uint8Array {
  const srcMac = s.srcMac ?? '02:00:00:00:00:01';
  const src = s.src ?? 'fe80::1';
  const dst = s.dst ?? solicitedNode(s.target);
  const slla = s.slla ?? src !== '::';
  const icmp = [135, s.code ?? 0, 0, 0, 0, 0, 0, 0, ...ipv6(s.target)];
  if (slla) icmp.push(1, 1, ...mac(srcMac));
  if (s.zeroOption) icmp.push(1, 0, 0, 0, 0, 0, 0, 0);
  const pseudo = [
    ...ipv6(src),
    ...ipv6(dst),
    0,
    0,
    icmp.length >> 8,
    icmp.length & 0xff,
    0,
    0,
    0,
    58,
  ];
  let c = ~sum16([...pseudo, ...icmp]) & 0xffff;
  if (s.badChecksum) c ^= 0x0101;
  icmp[2] = c >> 8;
  icmp[3] = c & 0xff;
  const ip = [
    0x60,
    0,
    0,
    0,
    icmp.length >> 8,
    icmp.length & 0xff,
    58,
    s.hopLimit ?? 255,
    ...ipv6(src),
    ...ipv6(dst),
    ...icmp,
  ];
  const dstMac = dst.startsWith('ff02')
    ? `33:33:${ipv6(dst)
        .slice(12)
        .map((b) => b.toString(16).padStart(2, '0'))
        .join(':')}`
    : '02:00:00:00:00:fe';
  return Uint8Array.from(ethernet(dstMac, srcMac, 0x86dd, ip, s.vlans));
}

/** Runs tshark over `frames` and returns the requested fields per frame (checksums verified). */
export function tsharkDissect(frames: Uint8Array[], fields: string[]): Record<string, string>[] {
  const dir = mkdtempSync(join(tmpdir(), 'dp-gw-'));
  const file = join(dir, 'frames.pcap');
  writeFileSync(file, writePcap(frames.map((data) => ({ data }))));
  const args = ['-r', file, '-n', '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE'];
  args.push('-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a', '-E', 'aggregator=|');
  for (const f of fields) args.push('-e', f);
  const out = execFileSync('tshark', args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((line) => {
      const cols = line.split('\t');
      return Object.fromEntries(fields.map((f, i) => [f, cols[i] ?? '']));
    });
}
