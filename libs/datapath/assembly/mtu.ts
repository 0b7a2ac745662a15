// MTU per port (IP bytes the port carries; 1500 unless set) and the checks that use it: L3
// answers IPv4 packets too big for their egress port with ICMP fragmentation needed (RFC
// 1191) or drops them; vxlan-encap drops bridged frames that no longer fit the tunnel.
import {
  D_DROP,
  D_NEXT,
  P_KIND,
  P_TUNNEL,
  PORT_KIND_TUNNEL,
  MAX_PORTS,
  MAX_TUNNELS,
  T_IP_VER,
  T_UNDERLAY_PORT,
  portEntry,
  tunnelEntry,
} from './layout';
import { DROP_FRAG_NEEDED, DROP_MTU_EXCEEDED } from './drops';
import { NODE_DROP } from './nodes';
import { heapAlloc } from './heap';
import { icmpError } from './l3';

/** MTU of a port that has none set. */
export const DEFAULT_MTU: u32 = 1500;
/** Bytes VXLAN adds in front of the inner frame's IP packet: Ethernet, IP, UDP, VXLAN. */
export const VXLAN_OVERHEAD_V4: u32 = 14 + 20 + 8 + 8;
export const VXLAN_OVERHEAD_V6: u32 = 14 + 40 + 8 + 8;
/** Trace word B of L3 for a packet answered with ICMP fragmentation needed. */
export const L3_TRACE_FRAG_NEEDED: u32 = 0xfffffffc;

// Configured MTU per port (u32; 0: default). For a tunnel port, an explicit tunnel MTU.
let mtus: usize = 0;
/**
 * A lower bound of every port's egressMtu (the smallest configured MTU or the default, less
 * the largest VXLAN overhead): packets no longer than it skip the per-port lookup.
 */
export let mtuFloor: u32 = DEFAULT_MTU - VXLAN_OVERHEAD_V6;

/** Sets the MTU of `port` (0: default; a tunnel port: explicit tunnel MTU). 0, or -1. */
export function mtuSet(port: u32, mtu: u32): i32 {
  if (port >= <u32>MAX_PORTS || mtu > 0xffff) return -1;
  if (mtus == 0) {
    if (mtu == 0) return 0;
    mtus = heapAlloc(<usize>MAX_PORTS * 4);
    if (mtus == 0) return -1;
  }
  store<u32>(mtus + <usize>port * 4, mtu);
  let least = DEFAULT_MTU;
  for (let p: usize = 0; p < <usize>MAX_PORTS; p++) {
    const m = load<u32>(mtus + p * 4);
    if (m != 0 && m < least) least = m;
  }
  mtuFloor = least > VXLAN_OVERHEAD_V6 ? least - VXLAN_OVERHEAD_V6 : 0;
  return 0;
}

function configured(port: u32): u32 {
  return mtus == 0 ? 0 : load<u32>(mtus + <usize>port * 4);
}

/**
 * Largest IP packet `port` carries: its MTU; for a VXLAN tunnel port its explicit MTU, else
 * the underlay port's MTU minus the encapsulation overhead.
 */
export function egressMtu(port: u32): u32 {
  if (port >= <u32>MAX_PORTS) return DEFAULT_MTU;
  const own = configured(port);
  const pe = portEntry(port);
  if (load<u8>(pe + P_KIND) != PORT_KIND_TUNNEL || own != 0) return own != 0 ? own : DEFAULT_MTU;
  const t = <u32>load<u16>(pe + P_TUNNEL);
  if (t >= <u32>MAX_TUNNELS) return DEFAULT_MTU;
  const te = tunnelEntry(t);
  const under = configured(<u32>load<u16>(te + T_UNDERLAY_PORT));
  const overhead = load<u8>(te + T_IP_VER) == 6 ? VXLAN_OVERHEAD_V6 : VXLAN_OVERHEAD_V4;
  const base = under != 0 ? under : DEFAULT_MTU;
  return base > overhead ? base - overhead : 0;
}

/**
 * L3's MTU check for an IPv4 packet at `ip` routed out of `out`: false when it fits. A packet
 * too big with DF set is answered with ICMP destination unreachable, fragmentation needed
 * (type 3 code 4, next-hop MTU in the low 16 bits of the second word), under the same rules
 * as time exceeded, or dropped `frag-needed`; without DF it is dropped `mtu-exceeded` (the
 * core does not fragment).
 */
export function l3TooBig(d: usize, f: usize, ip: usize, inPort: u32, out: u32): bool {
  const total = <u32>bswap<u16>(load<u16>(ip + 2));
  if (total <= mtuFloor) return false;
  const mtu = egressMtu(out);
  if (total <= mtu) return false;
  if ((load<u8>(ip + 6) & 0x40) == 0) {
    store<u8>(d + D_DROP, DROP_MTU_EXCEEDED);
    store<u8>(d + D_NEXT, NODE_DROP);
    return true;
  }
  if (!icmpError(d, f, ip, inPort, 0x0304, mtu & 0xffff, L3_TRACE_FRAG_NEEDED)) {
    store<u8>(d + D_DROP, DROP_FRAG_NEEDED);
    store<u8>(d + D_NEXT, NODE_DROP);
  }
  return true;
}

/** True when a frame of `len` bytes fits tunnel port `port` once encapsulated. */
export function tunnelFits(port: u32, len: u32): bool {
  return len <= mtuFloor + 14 || len <= egressMtu(port) + 14;
}
