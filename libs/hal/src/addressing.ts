// Canonical forms for MACs and IP addresses, so that specs read back from a device compare
// equal to the desired ones. Parsing is ipaddr.js's; only the canonical spelling is ours.
import ipaddr from 'ipaddr.js';

const MAC_PATTERN = /^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i;

/** canonicalMac returns `mac` as six lower-case colon-separated hex pairs, or undefined. */
export function canonicalMac(mac: string): string | undefined {
  if (!MAC_PATTERN.test(mac)) return undefined;
  return mac.toLowerCase().replaceAll('-', ':');
}

/** isUnicastMac tells whether canonical `mac` is a unicast, non-zero address. */
export function isUnicastMac(mac: string): boolean {
  const firstOctet = Number.parseInt(mac.slice(0, 2), 16);
  return (firstOctet & 1) === 0 && mac !== '00:00:00:00:00:00';
}

function parseStrictAddress(address: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(address)) return ipaddr.IPv4.parse(address);
  if (ipaddr.IPv6.isValid(address) && !address.includes('%')) return ipaddr.IPv6.parse(address);
  return undefined;
}

/** canonicalIpAddress returns `address` in canonical text (RFC 5952 for IPv6), or undefined. */
export function canonicalIpAddress(address: string): string | undefined {
  return parseStrictAddress(address)?.toString();
}

/** canonicalIpPrefix returns `prefix` (`addr/len`, host bits kept) canonically, or undefined. */
export function canonicalIpPrefix(prefix: string): string | undefined {
  const slash = prefix.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseStrictAddress(prefix.slice(0, slash));
  const lengthText = prefix.slice(slash + 1);
  if (!address || !/^\d{1,3}$/.test(lengthText)) return undefined;
  const length = Number(lengthText);
  const maxLength = address.kind() === 'ipv4' ? 32 : 128;
  if (length > maxLength) return undefined;
  return `${address.toString()}/${length}`;
}

/** ipFamilyOf returns 4 or 6 for a canonical address or prefix. */
export function ipFamilyOf(addressOrPrefix: string): 4 | 6 {
  return addressOrPrefix.includes(':') ? 6 : 4;
}

/** prefixNetwork returns the network of an interface prefix: `10.0.0.1/24` → `10.0.0.0/24`. */
export function prefixNetwork(prefix: string): string {
  const [address, length] = ipaddr.parseCIDR(prefix);
  const network =
    address.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(prefix)
      : ipaddr.IPv6.networkAddressFromCIDR(prefix);
  return `${network.toString()}/${length}`;
}
