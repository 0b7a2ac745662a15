// Flow hash of a parsed layer (README "Flow hash"): a multiply-xor chain over addresses,
// protocol and ports (MACs and EtherType for non-IP frames), then murmur3's finaliser.
import {
  L_ETH,
  L_L3,
  L_ETH_TYPE,
  L_IP_VER,
  L_PROTO,
  L_L4_KIND,
  L_SPORT,
  L_DPORT,
  L4_PORTS,
  be16,
  be32,
} from './layout';

/** Murmur3's 32-bit finaliser; every hash in the core chains it (README "Flow hash"). */
export function fmix32(x: u32): u32 {
  x ^= x >> 16;
  x *= 0x85ebca6b;
  x ^= x >> 13;
  x *= 0xc2b2ae35;
  x ^= x >> 16;
  return x;
}

// One multiply per word and a single finaliser at the end: a finaliser per word (the
// earlier definition) made the hash a serial chain of eight multiplies for IPv4, about half
// of the encap stage's time.
function step(h: u32, w: u32): u32 {
  return (h ^ w) * 0x9e3779b1;
}

/** Flow hash of parsed layer `l` of the frame at `f` (README "Flow hash"). */
export function flowHashOfLayer(f: usize, l: usize): u32 {
  let h: u32 = 0x811c9dc5;
  const ver = <u32>load<u8>(l + L_IP_VER);
  if (ver == 4) {
    const p = f + <usize>load<u16>(l + L_L3);
    h = step(h, be32(p + 12));
    h = step(h, be32(p + 16));
  } else if (ver == 6) {
    const p = f + <usize>load<u16>(l + L_L3);
    for (let i: usize = 8; i < 40; i += 4) h = step(h, be32(p + i));
  } else {
    const e = f + <usize>load<u16>(l + L_ETH);
    h = step(h, be32(e));
    h = step(h, (be16(e + 4) << 16) | be16(e + 6));
    h = step(h, be32(e + 8));
    return fmix32(step(h, <u32>load<u16>(l + L_ETH_TYPE)));
  }
  h = step(h, <u32>load<u8>(l + L_PROTO));
  const ports =
    load<u8>(l + L_L4_KIND) == L4_PORTS
      ? ((<u32>load<u16>(l + L_SPORT)) << 16) | (<u32>load<u16>(l + L_DPORT))
      : 0;
  return fmix32(step(h, ports));
}
