// Reference gateway (SVI) responders: ARP replies and Neighbor Advertisements for a bridge's
// gateway addresses, written from RFC 826 and RFC 4861 independently of assembly/gateway.ts.
// Frames are rebuilt from scratch (the core edits them in place).
import { parseFrame, ParseDrop, type RefLayer } from './parser.js';

/** A bridge gateway as the reference keeps it. */
export interface RefGateway {
  mac: Uint8Array;
  ipv4: Uint8Array[];
  ipv6: Uint8Array[];
  arpReplies: number;
  ndReplies: number;
}

/** What the gateway stage did with a frame. */
export type RefGatewayOutcome =
  { kind: 'arp' | 'na'; frame: Uint8Array } | { kind: 'pass' | 'invalid' };

const equal = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** Ones-complement checksum (the value to store) over the concatenated byte strings. */
export function internetChecksum(parts: Uint8Array[]): number {
  const all = parts.flatMap((p) => Array.from(p));
  let sum = 0;
  for (let i = 0; i < all.length; i += 2) sum += ((all[i] ?? 0) << 8) | (all[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** ICMPv6 checksum over the pseudo-header (RFC 8200 8.1) and `message`. */
export function icmpv6Checksum(src: Uint8Array, dst: Uint8Array, message: Uint8Array): number {
  const pseudo = new Uint8Array(40);
  pseudo.set(src, 0);
  pseudo.set(dst, 16);
  new DataView(pseudo.buffer).setUint32(32, message.length);
  pseudo[39] = 58;
  return internetChecksum([pseudo, message]);
}

function solicitedNode(target: Uint8Array): Uint8Array {
  const a = new Uint8Array(16);
  a.set([0xff, 0x02], 0);
  a[11] = 1;
  a[12] = 0xff;
  a.set(target.subarray(13, 16), 13);
  return a;
}

function arp(frame: Uint8Array, layer: RefLayer, gw: RefGateway): RefGatewayOutcome {
  const at = 14 + 4 * layer.vlans.length;
  const header = [0, 1, 8, 0, 6, 4, 0, 1];
  if (header.some((b, i) => frame[at + i] !== b)) return { kind: 'pass' };
  const target = frame.slice(at + 24, at + 28);
  if (!gw.ipv4.some((a) => equal(a, target))) return { kind: 'pass' };
  const out = frame.slice();
  const senderMac = frame.slice(at + 8, at + 14);
  const senderIp = frame.slice(at + 14, at + 18);
  out.set(senderMac, 0);
  out.set(gw.mac, 6);
  out[at + 7] = 2;
  out.set(gw.mac, at + 8);
  out.set(target, at + 14);
  out.set(senderMac, at + 18);
  out.set(senderIp, at + 24);
  return { kind: 'arp', frame: out };
}

function neighborSolicitation(frame: Uint8Array, gw: RefGateway): RefGatewayOutcome {
  let layer: RefLayer;
  try {
    layer = parseFrame(frame).outer;
  } catch (err) {
    if (err instanceof ParseDrop) return { kind: 'pass' };
    throw err;
  }
  const ip = layer.ip;
  const icmp = layer.icmp;
  if (!ip || ip.version !== 6 || !icmp || icmp.type !== 135) return { kind: 'pass' };
  const payloadEnd = ip.offset + 40 + ((frame[ip.offset + 4]! << 8) | frame[ip.offset + 5]!);
  const message = frame.slice(icmp.offset, payloadEnd);
  if (message.length < 24) return { kind: 'invalid' };
  const target = message.slice(8, 24);
  const gwAddress = gw.ipv6.find((a) => equal(a, target));
  if (!gwAddress) return { kind: 'pass' };
  const toSolicitedNode = equal(ip.dst, solicitedNode(target));
  if (!equal(ip.dst, target) && !toSolicitedNode) return { kind: 'pass' };
  // RFC 4861 7.1.1.
  if (frame[ip.offset + 7] !== 255 || icmp.code !== 0) return { kind: 'invalid' };
  if (icmpv6Checksum(ip.src, ip.dst, message) !== 0) return { kind: 'invalid' };
  if (target[0] === 0xff) return { kind: 'invalid' };
  const dad = ip.src.every((b) => b === 0);
  const options: number[] = [];
  for (let o = 24; o < message.length;) {
    const len = (message[o + 1] ?? 0) * 8;
    if (message.length - o < 2 || len === 0 || len > message.length - o) return { kind: 'invalid' };
    options.push(message[o]!);
    o += len;
  }
  if (dad && (!toSolicitedNode || options.includes(1))) return { kind: 'invalid' };
  const l2 = 14 + 4 * layer.vlans.length;
  const out = new Uint8Array(l2 + 72);
  out.set(frame.subarray(12, l2), 12);
  out.set(dad ? [0x33, 0x33, 0, 0, 0, 1] : frame.subarray(6, 12), 0);
  out.set(gw.mac, 6);
  const dst = dad ? Uint8Array.from([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]) : ip.src;
  const ipv6 = out.subarray(l2, l2 + 40);
  ipv6.set([0x60, 0, 0, 0, 0, 32, 58, 255]);
  ipv6.set(gwAddress, 8);
  ipv6.set(dst, 24);
  const na = out.subarray(l2 + 40);
  na[0] = 136;
  na[4] = dad ? 0xa0 : 0xe0; // router, (solicited,) override
  na.set(gwAddress, 8);
  na[24] = 2; // target link-layer address
  na[25] = 1;
  na.set(gw.mac, 26);
  const sum = icmpv6Checksum(gwAddress, dst, na);
  na[2] = sum >> 8;
  na[3] = sum & 0xff;
  return { kind: 'na', frame: out };
}

/** Runs the gateway responder of `gw` on `frame` (ARP or ICMPv6 NS). */
export function referenceGateway(
  frame: Uint8Array,
  layer: RefLayer,
  gw: RefGateway,
): RefGatewayOutcome {
  return layer.ethType === 0x0806 ? arp(frame, layer, gw) : neighborSolicitation(frame, gw);
}
