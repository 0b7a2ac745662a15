// OPI wire shapes of addresses (6-byte MACs, IPPrefix with a big-endian fixed32 or 16 bytes)
// to the textual forms the HAL uses, with errors that name the OPI field.
import { canonicalIpAddress, canonicalMac, isUnicastMac } from '@opi/hal';
import { invalidArgument } from '@opi/kit';
import type { opinetcommonV1alpha1 as common } from '@opi/api';

const IP_AF_INET = 1;
const IP_AF_INET6 = 2;

/**
 * macFromBytes renders a 6-byte OPI `mac_address` as `02:00:00:00:00:01`. Throws
 * INVALID_ARGUMENT naming `field` when it is not 6 bytes or not a unicast MAC.
 */
export function macFromBytes(bytes: Uint8Array | undefined, field: string): string {
  if (!bytes || bytes.length !== 6)
    throw invalidArgument(field, `must be 6 bytes, got ${bytes?.length ?? 0}`);
  const mac = canonicalMac([...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':'))!;
  if (!isUnicastMac(mac)) throw invalidArgument(field, `${mac} is not a unicast MAC`);
  return mac;
}

/** macToBytes is the inverse of {@link macFromBytes}, for clients and tests. */
export function macToBytes(mac: string): Buffer {
  const canonical = canonicalMac(mac);
  if (!canonical) throw new Error(`"${mac}" is not a MAC like 02:00:00:00:00:01`);
  return Buffer.from(canonical.split(':').map((pair) => Number.parseInt(pair, 16)));
}

/**
 * ipAddressToText renders an OPI `IPAddress` (`af` plus a v4 integer or 16 v6 bytes). Throws
 * INVALID_ARGUMENT naming `field` when the family and the value disagree.
 */
export function ipAddressToText(address: common.IPAddress | undefined, field: string): string {
  const value = address?.v4OrV6;
  if (!address || !value) throw invalidArgument(field, 'address required');
  if (value.$case === 'v4Addr') {
    if (address.af !== IP_AF_INET && address.af !== 0)
      throw invalidArgument(`${field}.af`, 'must be IP_AF_INET for a v4_addr');
    const n = value.value >>> 0;
    return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  }
  if (address.af !== IP_AF_INET6 && address.af !== 0)
    throw invalidArgument(`${field}.af`, 'must be IP_AF_INET6 for a v6_addr');
  if (value.value.length !== 16)
    throw invalidArgument(`${field}.v6_addr`, `must be 16 bytes, got ${value.value.length}`);
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(value.value.readUInt16BE(i).toString(16));
  return canonicalIpAddress(groups.join(':'))!;
}

/**
 * ipPrefixToText renders an OPI `IPPrefix` as `address/length` (host bits kept). Throws
 * INVALID_ARGUMENT naming `field` for a missing address or a length out of range.
 */
export function ipPrefixToText(prefix: common.IPPrefix | undefined, field: string): string {
  if (!prefix) throw invalidArgument(field, 'required');
  const address = ipAddressToText(prefix.addr, `${field}.addr`);
  const max = address.includes(':') ? 128 : 32;
  if (!Number.isInteger(prefix.len) || prefix.len < 0 || prefix.len > max)
    throw invalidArgument(`${field}.len`, `must be 0-${max}, got ${prefix.len}`);
  return `${address}/${prefix.len}`;
}

/** ipPrefixFromText builds an OPI `IPPrefix` (JSON form) from `10.0.0.1/24`, for clients and tests. */
export function ipPrefixFromText(text: string): {
  addr: { af: string; v4Addr?: number; v6Addr?: string };
  len: number;
} {
  const slash = text.indexOf('/');
  const address = canonicalIpAddress(slash < 0 ? text : text.slice(0, slash));
  if (!address) throw new Error(`"${text}" is not an address/length prefix`);
  const len = slash < 0 ? (address.includes(':') ? 128 : 32) : Number(text.slice(slash + 1));
  if (!address.includes(':')) {
    const v4Addr = address.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
    return { addr: { af: 'IP_AF_INET', v4Addr }, len };
  }
  const expanded = expandIpv6(address);
  return { addr: { af: 'IP_AF_INET6', v6Addr: expanded.toString('base64') }, len };
}

function expandIpv6(address: string): Buffer {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [
    ...headGroups,
    ...Array<string>(tail === undefined ? 0 : missing).fill('0'),
    ...tailGroups,
  ];
  const out = Buffer.alloc(16);
  groups.forEach((group, i) => out.writeUInt16BE(Number.parseInt(group, 16), i * 2));
  return out;
}
