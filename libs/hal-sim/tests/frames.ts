// Builders for the Ethernet, IPv4/UDP and VXLAN frames the sim tests send through the fabric.

function macBytes(mac: string): number[] {
  return mac.split(':').map((part) => Number.parseInt(part, 16));
}

function be16(value: number): number[] {
  return [(value >> 8) & 0xff, value & 0xff];
}

function ipv4Checksum(header: number[]): number {
  let sum = 0;
  for (let index = 0; index < header.length; index += 2) {
    sum += ((header[index] ?? 0) << 8) | (header[index + 1] ?? 0);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** ethernet builds an Ethernet II frame carrying `payload` (default: 46 bytes of IPv4-less data). */
export function ethernet(
  dst: string,
  src: string,
  etherType = 0x88b5,
  payload: number[] = new Array(46).fill(0),
): Uint8Array {
  return Uint8Array.from([...macBytes(dst), ...macBytes(src), ...be16(etherType), ...payload]);
}

/** vxlanOverIpv4 wraps `inner` in outer Ethernet/IPv4/UDP 4789/VXLAN with `vni`. */
export function vxlanOverIpv4(options: {
  outerDst: string;
  outerSrc: string;
  srcIp: string;
  dstIp: string;
  vni: number;
  inner: Uint8Array;
}): Uint8Array {
  const vxlan = [
    0x08,
    0,
    0,
    0,
    (options.vni >> 16) & 0xff,
    (options.vni >> 8) & 0xff,
    options.vni & 0xff,
    0,
  ];
  const udpLength = 8 + vxlan.length + options.inner.length;
  const udp = [...be16(49152), ...be16(4789), ...be16(udpLength), 0, 0];
  const ipHeader = [
    0x45,
    0,
    ...be16(20 + udpLength),
    0,
    0,
    0x40,
    0,
    64,
    17,
    0,
    0,
    ...options.srcIp.split('.').map(Number),
    ...options.dstIp.split('.').map(Number),
  ];
  const checksum = ipv4Checksum(ipHeader);
  ipHeader[10] = checksum >> 8;
  ipHeader[11] = checksum & 0xff;
  return ethernet(options.outerDst, options.outerSrc, 0x0800, [
    ...ipHeader,
    ...udp,
    ...vxlan,
    ...options.inner,
  ]);
}

/** containsVni tells whether `frame` carries a VXLAN header with `vni` after UDP port 4789. */
export function vniOf(frame: Uint8Array): number | undefined {
  // Ethernet (14) + IPv4 without options (20) + UDP (8): VXLAN header at 42.
  if (frame.length < 50 || frame[12] !== 0x08 || frame[13] !== 0x00) return undefined;
  if ((((frame[36] ?? 0) << 8) | (frame[37] ?? 0)) !== 4789) return undefined;
  return ((frame[46] ?? 0) << 16) | ((frame[47] ?? 0) << 8) | (frame[48] ?? 0);
}
