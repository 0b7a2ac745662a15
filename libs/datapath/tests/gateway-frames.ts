// ARP frames and tshark checks for the gateway, MTU and policer specs (Neighbor
// Solicitations: frames.ts).
import { ethernet, mac, ipv4 } from './frames.js';
import { tsharkFrameColumns } from './tshark.js';

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
  return tsharkFrameColumns(frames, fields, {
    prefs: ['ip.check_checksum:TRUE', 'udp.check_checksum:TRUE'],
  }).map((cols) => Object.fromEntries(fields.map((f, i) => [f, cols[i] ?? ''])));
}
