// Internet checksums (RFC 1071) shared by the stages that build or check IP/ICMP headers.
// (vxlan-encap keeps its own unfolded sum: it folds once after adding per-packet words to a
// precomputed template sum.)
import { be16 } from './layout';

/** Ones-complement sum of `len` bytes at `p` (big-endian 16-bit words) added to `sum`. */
export function onesSum(p: usize, len: u32, sum: u32): u32 {
  let i: u32 = 0;
  for (; i + 1 < len; i += 2) sum += be16(p + i);
  if (i < len) sum += (<u32>load<u8>(p + i)) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

/**
 * ICMPv6 checksum (RFC 8200 8.1) of the `len`-byte message at `icmp` from `src` to `dst`
 * (16-byte addresses): the value to store, or 0 on verification of a message holding a
 * correct checksum.
 */
export function icmp6Checksum(src: usize, dst: usize, icmp: usize, len: u32): u32 {
  let sum = onesSum(src, 16, 0);
  sum = onesSum(dst, 16, sum);
  sum += (len >> 16) + (len & 0xffff) + 58;
  sum = onesSum(icmp, len, sum);
  return ~sum & 0xffff;
}
