// Address conversions between text and bytes; IP text uses ipaddr.js (RFC 5952 for IPv6).
import ipaddr from 'ipaddr.js';
import { DatapathConfigError } from './errors.js';

/** Parses "aa:bb:cc:dd:ee:ff" (or with '-') into 6 bytes; throws naming `field`. */
export function parseMac(text: string, field: string): Uint8Array {
  const parts = typeof text === 'string' ? text.split(/[:-]/) : [];
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new DatapathConfigError(
      field,
      `expected a MAC address like 02:00:00:00:00:01, got ${JSON.stringify(text)}`,
    );
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

/** Formats 6 bytes at `offset` as a lower-case, colon-separated MAC. */
export function formatMac(bytes: Uint8Array, offset = 0): string {
  const out: string[] = [];
  for (let i = 0; i < 6; i++) out.push((bytes[offset + i] ?? 0).toString(16).padStart(2, '0'));
  return out.join(':');
}

/** Parses an IPv4 or IPv6 address; throws naming `field`. */
export function parseIp(text: string, field: string): { version: 4 | 6; bytes: Uint8Array } {
  if (typeof text !== 'string' || !ipaddr.isValid(text)) {
    throw new DatapathConfigError(
      field,
      `expected an IPv4 or IPv6 address, got ${JSON.stringify(text)}`,
    );
  }
  const addr = ipaddr.parse(text);
  return { version: addr.kind() === 'ipv4' ? 4 : 6, bytes: Uint8Array.from(addr.toByteArray()) };
}

/** Formats 4 or 16 bytes at `offset` as standard IP text. */
export function formatIp(bytes: Uint8Array, offset: number, version: 4 | 6): string {
  const slice = Array.from(bytes.subarray(offset, offset + (version === 4 ? 4 : 16)));
  const addr = ipaddr.fromByteArray(slice);
  // RFC 5952 §5: IPv4-mapped addresses keep the dotted quad.
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    return `::ffff:${slice.slice(12).join('.')}`;
  }
  return addr.toString();
}

/** Key of a MAC table entry: bridge in the top 16 bits, MAC below. */
export function macKey(bridge: number, mac: Uint8Array): bigint {
  let key = BigInt(bridge) << 48n;
  for (let i = 0; i < 6; i++) key |= BigInt(mac[i] ?? 0) << BigInt(8 * (5 - i));
  return key;
}
