// Reference Neighbor Discovery (RFC 4861) and ICMPv6 checksum shared by the reference gateway
// (SVI) responder and the reference l3v6 stage, written independently of assembly/nd.ts.
// Messages are rebuilt from scratch into new arrays.
import type { RefLayer } from './parser.js';

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

const equal = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((x, i) => x === b[i]);
const isZero = (a: Uint8Array) => a.every((b) => b === 0);

/** The solicited-node multicast address of `target` (RFC 4291 2.7.1). */
export function solicitedNodeOf(target: Uint8Array): Uint8Array {
  const a = new Uint8Array(16);
  a.set([0xff, 0x02], 0);
  a[11] = 1;
  a[12] = 0xff;
  a.set(target.subarray(13, 16), 13);
  return a;
}

const ALL_NODES = Uint8Array.from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

/** The ICMPv6 message of an IPv6 packet whose ICMPv6 header was parsed. */
export function icmpv6Message(frame: Uint8Array, layer: RefLayer): Uint8Array {
  const ip = layer.ip!;
  const end = ip.offset + 40 + ((frame[ip.offset + 4]! << 8) | frame[ip.offset + 5]!);
  return frame.slice(layer.icmp!.offset, end);
}

/** True when the solicitation (message of >= 24 bytes) has target `addr`, sent to it or its solicited-node address. */
export function solicitsAddress(layer: RefLayer, message: Uint8Array, addr: Uint8Array): boolean {
  const dst = layer.ip!.dst;
  if (!equal(message.subarray(8, 24), addr)) return false;
  return equal(dst, addr) || equal(dst, solicitedNodeOf(addr));
}

/**
 * RFC 4861 7.1.1: hop limit 255, code 0, at least 24 bytes, checksum, target not multicast,
 * options of non-zero length inside the message; from :: only to a solicited-node address and
 * without a source link-layer address option.
 */
export function solicitationValid(
  frame: Uint8Array,
  layer: RefLayer,
  message: Uint8Array,
): boolean {
  const ip = layer.ip!;
  if (frame[ip.offset + 7] !== 255 || layer.icmp!.code !== 0 || message.length < 24) return false;
  if (icmpv6Checksum(ip.src, ip.dst, message) !== 0) return false;
  if (message[8] === 0xff) return false;
  const options: number[] = [];
  for (let o = 24; o < message.length;) {
    const len = (message[o + 1] ?? 0) * 8;
    if (message.length - o < 2 || len === 0 || len > message.length - o) return false;
    options.push(message[o]!);
    o += len;
  }
  if (!isZero(ip.src)) return true;
  // A solicited-node address is its own solicited-node address.
  return !options.includes(1) && equal(ip.dst, solicitedNodeOf(ip.dst));
}

/**
 * The Neighbor Advertisement (RFC 4861 7.2.4) of `address` with link-layer address `mac`
 * answering the solicitation in `frame`: Ethernet/VLAN header kept with the addresses set;
 * router flag when `router`, solicited unless the source was :: (then to ff02::1), override;
 * target link-layer address option.
 */
export function neighborAdvertisement(
  frame: Uint8Array,
  layer: RefLayer,
  address: Uint8Array,
  mac: Uint8Array,
  router: boolean,
): Uint8Array {
  const ip = layer.ip!;
  const l2 = ip.offset;
  const dad = isZero(ip.src);
  const out = new Uint8Array(l2 + 72);
  out.set(frame.subarray(12, l2), 12);
  out.set(dad ? [0x33, 0x33, 0, 0, 0, 1] : frame.subarray(6, 12), 0);
  out.set(mac, 6);
  const dst = dad ? ALL_NODES : ip.src;
  const ipv6 = out.subarray(l2, l2 + 40);
  ipv6.set([0x60, 0, 0, 0, 0, 32, 58, 255]);
  ipv6.set(address, 8);
  ipv6.set(dst, 24);
  const na = out.subarray(l2 + 40);
  na[0] = 136;
  na[4] = (router ? 0x80 : 0) | (dad ? 0 : 0x40) | 0x20;
  na.set(address, 8);
  na[24] = 2; // target link-layer address
  na[25] = 1;
  na.set(mac, 26);
  const sum = icmpv6Checksum(address, dst, na);
  na[2] = sum >> 8;
  na[3] = sum & 0xff;
  return out;
}
