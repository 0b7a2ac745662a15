// ARP frames and tshark checks for the gateway, MTU and policer specs (Neighbor
// Solicitations: frames.ts).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePcap } from '../src/index.js';
import { ethernet, mac, ipv4 } from './frames.js';

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
